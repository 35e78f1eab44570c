package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"kith/ap"
	"kith/store"
	"kith/web"
)

// cmdPasswd sets the owner's password. On a terminal it asks twice without
// echo; otherwise it reads the first line of standard input, so scripts can
// pipe it in.
func cmdPasswd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, rest, err := parseFlags("passwd", nil, args, getenv, stderr, "passwd [flags] < password")
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{"passwd reads the password from standard input, not from the command line (where other users could see it)"}
	}
	db, _, err := openExisting(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()

	var password string
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "New password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return err
		}
		fmt.Fprint(stderr, "Again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return err
		}
		if string(p1) != string(p2) {
			return errors.New("the two passwords differ; nothing was changed")
		}
		password = string(p1)
	} else {
		line, err := bufio.NewReader(io.LimitReader(stdin, 1024)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		password = strings.TrimRight(line, "\r\n")
	}
	hash, err := web.HashPassword(password)
	if err != nil {
		return fmt.Errorf("%w; nothing was changed", err)
	}
	if err := db.SetPasswordHash(ctx, hash, time.Now()); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "kith: password changed; every logged-in browser has been logged out")
	return nil
}

// cmdFollow follows or unfollows a remote account. The Follow is queued;
// a running kith serve sends it within a second, and the remote's Accept
// arrives at the server.
func cmdFollow(ctx context.Context, cmd string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseFlags(cmd, nil, args, getenv, stderr, cmd+" [flags] @user@host|URL")
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{fmt.Sprintf("%s needs one account: @user@host or its URL", cmd)}
	}
	svc, closeDB, err := openService(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	return changeFollow(ctx, svc, cmd, rest[0], stdout)
}

// changeFollow follows (cmd "follow") or unfollows target and prints the
// state the follow is in now.
func changeFollow(ctx context.Context, svc *ap.Service, cmd, target string, stdout io.Writer) error {
	if cmd == "unfollow" {
		before, _ := svc.FollowState(ctx, target)
		a, err := svc.Unfollow(ctx, target)
		if err != nil {
			return err
		}
		if before == store.Rejected {
			fmt.Fprintf(stdout, "kith: forgot your follow request to %s, which they had turned down; now: not following\n", a.Handle())
			return nil
		}
		fmt.Fprintf(stdout, "kith: unfollowed %s; now: not following (the running server tells theirs)\n", a.Handle())
		return nil
	}
	a, err := svc.Follow(ctx, target)
	if err != nil {
		return err
	}
	state, err := svc.FollowState(ctx, a.IRI)
	if err != nil {
		return err
	}
	switch {
	case state == store.Accepted:
		fmt.Fprintf(stdout, "kith: you already follow %s; now: following\n", a.Handle())
	case a.Locked:
		fmt.Fprintf(stdout, "kith: follow request queued for %s, who approves followers by hand; now: requested (the running server sends it)\n", a.Handle())
	default:
		fmt.Fprintf(stdout, "kith: follow request queued for %s; now: requested until their server accepts (the running server sends it)\n", a.Handle())
	}
	return nil
}

// cmdImportBlocks imports a domain blocklist file: Mastodon's CSV export
// or one domain per line.
func cmdImportBlocks(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseFlags("import-blocks", nil, args, getenv, stderr, "import-blocks [flags] FILE")
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{"import-blocks needs the blocklist file: a CSV exported from Mastodon, or one domain per line"}
	}
	f, err := os.Open(rest[0])
	if err != nil {
		return err
	}
	defer f.Close()
	entries, skips, err := ap.ParseBlocklist(f)
	if err != nil {
		return fmt.Errorf("%s: %w", rest[0], err)
	}
	svc, closeDB, err := openService(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	res, err := svc.ImportBlocklist(ctx, entries)
	if err != nil {
		return err
	}
	for _, d := range res.Blocked {
		fmt.Fprintf(stdout, "blocked %s\n", d)
	}
	for _, d := range res.Muted {
		fmt.Fprintf(stdout, "muted   %s\n", d)
	}
	for _, s := range skips {
		fmt.Fprintf(stderr, "kith: %s line %d: %s (%s)\n", rest[0], s.Line, s.Text, s.Reason)
	}
	fmt.Fprintln(stdout, "kith: "+web.BlocklistSummary(res, len(skips)))
	return nil
}

// cmdBackup writes a consistent copy of the live database with VACUUM
// INTO; the server may keep running.
func cmdBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseFlags("backup", nil, args, getenv, stderr, "backup [flags] FILE")
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{"backup needs the file to write, e.g. kith backup kith-backup.db"}
	}
	if _, err := os.Stat(rest[0]); err == nil {
		return fmt.Errorf("%s already exists; choose a new file name", rest[0])
	}
	db, _, err := openExisting(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	if err := db.Backup(ctx, rest[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "kith: backup written to %s in %s\n", rest[0], time.Since(start).Round(time.Millisecond))
	return nil
}

// cmdRestore replaces the database with a backup, after checking on a
// copy that the backup is a whole kith database this binary can run. The
// server must be stopped: a database in use is not replaced.
func cmdRestore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseFlags("restore", nil, args, getenv, stderr, "restore [flags] FILE")
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{"restore needs the backup file, e.g. kith restore kith-20261206T030000Z.db"}
	}
	src := rest[0]
	if fi, err := os.Stat(src); err != nil {
		return fmt.Errorf("cannot restore %s: %w", src, err)
	} else if fi.IsDir() {
		return usageError{fmt.Sprintf("%s is a directory; name one backup file in it", src)}
	}
	dst := dbPath(cfg)
	if same(src, dst) {
		return usageError{fmt.Sprintf("%s is the database itself; name a backup file", src)}
	}
	info, before, err := store.Restore(ctx, src, dst)
	if err != nil {
		return fmt.Errorf("cannot restore %s: %w; nothing was changed", src, err)
	}
	who := "no account yet"
	if info.Username != "" {
		who = "@" + info.Username + "@" + info.Domain
	}
	fmt.Fprintf(stdout, "kith: restored %s (%d posts, %d followers, schema version %d) from %s into %s\n",
		who, info.Posts, info.Followers, info.SchemaVersion, src, dst)
	if before != "" {
		fmt.Fprintf(stdout, "kith: the database it replaced is kept as %s; delete it once kith runs well\n", before)
	}
	if info.Domain != "" {
		fmt.Fprintf(stdout, "kith: start the server with --domain %s --data %s\n", info.Domain, shellQuote(cfg.data))
	}
	return nil
}

// same reports whether two paths name one file.
func same(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// cmdPost publishes Markdown from a file or standard input through the
// same pipeline as the web form. The Create is queued; a running kith
// serve picks it up within a second.
func cmdPost(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, rest, err := parseFlags("post", postFlags(), args, getenv, stderr, "post [--title T] [--cw TEXT] [--visibility public|unlisted|followers|direct] [--language TAG] [FILE|-]")
	if err != nil {
		return err
	}
	if len(rest) > 1 {
		return usageError{"post takes at most one file; use - or nothing for standard input"}
	}
	in := stdin
	if len(rest) == 1 && rest[0] != "-" {
		f, err := os.Open(rest[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	// A post holds at most ap.MaxPostRunes characters of up to 4 bytes.
	src, err := io.ReadAll(io.LimitReader(in, 4*ap.MaxPostRunes+1))
	if err != nil {
		return err
	}
	svc, closeDB, err := openService(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	res, err := svc.Publish(ctx, ap.Draft{
		Title:      cfg.title,
		Source:     string(src),
		Summary:    cfg.cw,
		Visibility: cfg.visibility,
		Language:   cfg.language,
	})
	if err != nil {
		return err
	}
	for _, m := range res.Unresolved {
		fmt.Fprintf(stderr, "kith: could not find %s, so it stays plain text and is not notified\n", m)
	}
	fmt.Fprintf(stdout, "kith: published %s (queued for %d inboxes; a running kith serve sends it)\n", res.Post.URL, res.Deliveries)
	return nil
}

// openService opens an existing installation's database and builds its
// ActivityPub service, for commands that publish or follow. The caller
// closes the database with the returned function.
func openService(ctx context.Context, cfg *config, stderr io.Writer) (*ap.Service, func(), error) {
	log, err := newLogger(stderr, cfg.logLevel)
	if err != nil {
		return nil, nil, err
	}
	db, acct, err := openExisting(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	svc, err := newService(ctx, db, acct, cfg, log)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return svc, func() { db.Close() }, nil
}
