package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"kith/ap"
	"kith/ap/safenet"
	"kith/store"
)

// version is kith's release; build information is added by kith version.
const version = "0.1.0"

const helpText = `kith is a single-user fediverse server: one binary, one SQLite file.

Usage:
  kith [serve] [flags]            run the server (first start creates the account and prints its password)
  kith passwd [flags]             set the owner's password (read from standard input when it is not a terminal)
  kith post [flags] [FILE|-]      publish Markdown; --title makes it an article
  kith follow [flags] HANDLE|URL  follow @user@host or an actor URL
  kith unfollow [flags] HANDLE|URL
  kith import-blocks [flags] FILE import a domain blocklist (Mastodon CSV export, or one domain a line)
  kith import [flags] FILE        apply a Mastodon CSV export (follows, blocks, mutes, bookmarks)
  kith export [flags] DIR         write Mastodon's CSV exports into DIR
  kith backup [flags] FILE        write a consistent copy of the database to FILE
  kith restore [flags] FILE       replace the database with a backup (stop the server first)
  kith status [flags]             the server's health: followers, delivery queue, last errors
  kith version                    print version and build information

Every flag has an environment twin (--domain and KITH_DOMAIN); the flag wins.
Run "kith COMMAND -h" for a command's flags.
`

// run is the whole program, with its environment passed in so that tests
// can drive it: args without the program name, getenv for the environment
// twins of the flags, and the three standard streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		cmd, args = "help", nil // the overview, not serve's flags alone
	case len(args) > 0 && !strings.HasPrefix(args[0], "-"):
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, args, getenv, stdout, stderr)
	case "passwd":
		err = cmdPasswd(ctx, args, getenv, stdin, stdout, stderr)
	case "post":
		err = cmdPost(ctx, args, getenv, stdin, stdout, stderr)
	case "follow", "unfollow":
		err = cmdFollow(ctx, cmd, args, getenv, stdout, stderr)
	case "import-blocks":
		err = cmdImportBlocks(ctx, args, getenv, stdout, stderr)
	case "import":
		err = cmdImport(ctx, args, getenv, stdout, stderr)
	case "export":
		err = cmdExport(ctx, args, getenv, stdout, stderr)
	case "backup":
		err = cmdBackup(ctx, args, getenv, stdout, stderr)
	case "restore":
		err = cmdRestore(ctx, args, getenv, stdout, stderr)
	case "status":
		err = cmdStatus(ctx, args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, versionText())
	case "help":
		fmt.Fprint(stdout, helpText)
	default:
		return usageError{fmt.Sprintf("unknown command %q; run \"kith help\" for the list", cmd)}
	}
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// versionText is kith's version with what the Go toolchain recorded about
// the build.
func versionText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kith %s", version)
	if info, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(&b, " (%s", info.GoVersion)
		settings := map[string]string{}
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
		fmt.Fprintf(&b, ", %s/%s", settings["GOOS"], settings["GOARCH"])
		if rev := settings["vcs.revision"]; rev != "" {
			fmt.Fprintf(&b, ", commit %.12s", rev)
			if settings["vcs.modified"] == "true" {
				b.WriteString("+dirty")
			}
		}
		if settings["CGO_ENABLED"] == "0" {
			b.WriteString(", static")
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, "\nschema version %d", store.SchemaVersion())
	return b.String()
}

// newLogger writes structured logs to w at the configured level.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Sprintf("--log-level %q: want debug, info, warn or error", level)}
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// dbPath is the database file inside the data directory.
func dbPath(cfg *config) string { return filepath.Join(cfg.data, "kith.db") }

// openExisting opens the database of an existing installation, for the
// commands other than serve.
func openExisting(ctx context.Context, cfg *config) (*store.DB, *store.Account, error) {
	path := dbPath(cfg)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("no kith database at %s: start \"kith serve\" once to create it, or point --data (KITH_DATA) at the right directory", path)
	}
	db, err := store.Open(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	acct, err := db.Account(ctx)
	if err != nil {
		db.Close()
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, fmt.Errorf("the database at %s has no account yet: start \"kith serve\" once to create it", path)
		}
		return nil, nil, err
	}
	return db, acct, nil
}

// newService builds the ActivityPub service for an opened database, for
// serve and for the commands that publish or follow.
func newService(ctx context.Context, db *store.DB, acct *store.Account, cfg *config, log *slog.Logger, opts ...func(*ap.Config)) (*ap.Service, error) {
	urls := ap.NewURLs(acct.Domain, acct.Username)
	retention, err := parseRetention(cfg.retention)
	if err != nil {
		return nil, err
	}
	mediaCache, err := parseMediaCache(cfg.mediaCache)
	if err != nil {
		return nil, err
	}
	apc := ap.Config{
		Retention:    retention,
		MediaCache:   mediaCache,
		URLs:         urls,
		DB:           db,
		AllowPrivate: cfg.allowPrivate,
		Logger:       log,
		Version:      version,
	}
	for _, o := range opts {
		o(&apc)
	}
	if apc.Client == nil {
		apc.Client = safenet.NewClient(safenet.Options{AllowPrivate: cfg.allowPrivate, UserAgent: "kith/" + version + " (+" + urls.Base() + "/)"})
	}
	return ap.New(ctx, apc)
}
