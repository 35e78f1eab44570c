package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"kith/ap"
	"kith/mastoapi"
	"kith/static"
	"kith/store"
	"kith/templates"
	"kith/web"
)

// app is one kith instance: its database, the ActivityPub service, the
// pages, and the handler that routes between them.
type app struct {
	db      *store.DB
	ap      *ap.Service
	web     *web.Handler
	api     *mastoapi.Handler
	handler http.Handler
	log     *slog.Logger

	backupKeep int // daily backups kept in --backup-dir
}

// appOptions lets tests replace what production takes from the
// environment: the HTTP client (to trust a test certificate), the URL
// scheme (tests serve TLS on 127.0.0.1) and the clock.
type appOptions struct {
	client   *http.Client
	scheme   string
	now      func() time.Time
	delivery ap.DeliveryOptions
	// acmeClient is the HTTP client for the ACME CA (--acme); nil is
	// the default client.
	acmeClient *http.Client
}

// setup opens (or, at first start, creates) the database and the account
// in cfg.data and builds the instance. The owner's first password is
// printed to stdout, once.
func setup(ctx context.Context, cfg *config, stdout io.Writer, log *slog.Logger, opt appOptions) (*app, error) {
	if err := os.MkdirAll(cfg.data, 0o700); err != nil {
		return nil, fmt.Errorf("create the data directory: %w", err)
	}
	if _, err := os.Stat(dbPath(cfg)); errors.Is(err, fs.ErrNotExist) {
		// Checked before the database is created, so a typo leaves no
		// empty database behind.
		if err := validUsername(cfg.user); err != nil {
			return nil, err
		}
	}
	db, err := store.Open(ctx, dbPath(cfg))
	if err != nil {
		return nil, err
	}
	warnReadable(log, cfg.data, store.Files(dbPath(cfg)))
	a, err := setupWith(ctx, db, cfg, stdout, log, opt)
	if err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// warnReadable tells the admin, at start, when other users can read the
// data directory or the database files, and the chmod that fixes it. kith
// creates them private (0700, 0600), but a directory made beforehand, by
// hand or by a package, keeps its mode, and so does a database made by an
// older kith. They hold the account's private key and password hash.
func warnReadable(log *slog.Logger, dir string, files []string) {
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn(fmt.Sprintf("the data directory %s can be read by other users (mode %04o); it holds the account's private key: run chmod 700 %s",
			dir, fi.Mode().Perm(), dir))
	}
	var open []string
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.Mode().Perm()&0o077 != 0 {
			open = append(open, f)
		}
	}
	if len(open) > 0 {
		log.Warn(fmt.Sprintf("the database can be read by other users (%s); it holds the account's private key and password hash: run chmod 600 %s",
			strings.Join(open, ", "), strings.Join(open, " ")))
	}
}

func setupWith(ctx context.Context, db *store.DB, cfg *config, stdout io.Writer, log *slog.Logger, opt appOptions) (*app, error) {
	acct, err := ensureAccount(ctx, db, cfg, stdout, log)
	if err != nil {
		return nil, err
	}
	svc, err := newService(ctx, db, acct, cfg, log, func(c *ap.Config) {
		if opt.client != nil {
			c.Client = opt.client
		}
		if opt.scheme != "" {
			c.URLs = c.URLs.WithScheme(opt.scheme)
		}
		c.Now = opt.now
		c.Delivery = opt.delivery
	})
	if err != nil {
		return nil, err
	}
	w, err := web.New(web.Config{
		DB:            db,
		AP:            svc,
		Templates:     templates.FS,
		Static:        static.FS,
		Logger:        log,
		Now:           opt.now,
		SecureCookies: svc.URLs().Scheme() == "https",
		LocalOnly:     svc.URLs().Scheme() == "http",
		PasswdCommand: passwdCommand(os.Args[0], cfg),
		DataDir:       cfg.data,
	})
	if err != nil {
		return nil, err
	}
	// The client API's streams hear of every committed post, edit,
	// deletion and notification from the database itself.
	hub := mastoapi.NewHub()
	db.Observe(hub.Publish)
	api, err := mastoapi.New(mastoapi.Config{DB: db, AP: svc, Pages: w, Version: version, Logger: log, Now: opt.now, Hub: hub, PushClient: opt.client})
	if err != nil {
		return nil, err
	}
	h := securityHeaders(routes(svc, w, api), cfg.tlsCert != "" || cfg.acme != "")
	return &app{db: db, ap: svc, web: w, api: api, handler: h, log: log}, nil
}

// ensureAccount returns the account, creating it at first start with new
// keys and a random password that is printed once. A database created for
// another domain is refused: every IRI sent out so far contains the domain,
// so an account cannot move by changing it.
func ensureAccount(ctx context.Context, db *store.DB, cfg *config, stdout io.Writer, log *slog.Logger) (*store.Account, error) {
	acct, err := db.Account(ctx)
	if err == nil {
		if !strings.EqualFold(acct.Domain, cfg.domain) {
			return nil, fmt.Errorf("this database belongs to @%s@%s, but kith was started with --domain %s; an account cannot change its domain: start with --domain %s, or give the new domain its own --data directory",
				acct.Username, acct.Domain, cfg.domain, acct.Domain)
		}
		if cfg.user != "" && cfg.user != acct.Username {
			log.Warn("--user is only used at first start; the account keeps its name", "user", acct.Username)
		}
		return acct, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if err := validUsername(cfg.user); err != nil {
		return nil, err
	}
	password := web.GeneratePassword()
	hash, err := web.HashPassword(password)
	if err != nil {
		return nil, err
	}
	acct, err = ap.NewAccount(strings.ToLower(cfg.domain), cfg.user, hash, time.Now())
	if err != nil {
		return nil, err
	}
	if err := db.CreateAccount(ctx, acct); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "kith: created the account @%s@%s in %s\n", acct.Username, acct.Domain, db.Path())
	fmt.Fprintf(stdout, "kith: owner password (shown only now; change it with \"%s\"): %s\n", passwdCommand(os.Args[0], cfg), password)
	return acct, nil
}

// passwdCommand is the command that sets the owner's password, as the
// person running this kith would type it: "go run . passwd" when kith was
// started with go run (its binary then sits in go's build cache, under
// an "exe" directory), with --data when the data is not in the default
// place.
func passwdCommand(arg0 string, cfg *config) string {
	cmd := "kith passwd"
	if strings.Contains(arg0, "go-build") && filepath.Base(filepath.Dir(arg0)) == "exe" {
		cmd = "go run . passwd"
	}
	if cfg.data != "" && filepath.Clean(cfg.data) != filepath.Clean(defaultData) {
		cmd += " --data " + shellQuote(cfg.data)
	}
	return cmd
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:=@", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// securityHeaders adds the headers every response should carry, whatever
// part of kith answers it: nosniff, so no browser guesses a type other
// than the one sent (JSON, XRD, redirects and errors included), and, when
// kith itself terminates TLS, Strict-Transport-Security, so browsers
// never try plain HTTP again. Behind a reverse proxy that ends TLS, the
// proxy sets HSTS: kith cannot know that every path to it is HTTPS.
func securityHeaders(next http.Handler, tls bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if tls {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// validUsername accepts the names Mastodon accepts: letters, digits and
// underscores.
func validUsername(u string) error {
	if u == "" || len(u) > 30 {
		return usageError{"--user must be 1 to 30 characters"}
	}
	for _, c := range u {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return usageError{fmt.Sprintf("--user %q: use only letters, digits and _", u)}
		}
	}
	return nil
}

// routes sends federation requests to the ActivityPub service, the client
// API's to its handler, and the rest to the pages. The profile and post page URLs answer ActivityPub clients
// too, by pointing them at the ActivityPub id: Mastodon follows that when
// someone pastes a page URL into its search.
func routes(svc *ap.Service, pages *web.Handler, api http.Handler) http.Handler {
	fed := svc.Handler()
	urls := svc.URLs()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case strings.HasPrefix(p, "/.well-known/"), strings.HasPrefix(p, "/nodeinfo/"), strings.HasPrefix(p, "/users/"),
			p == "/actor", strings.HasPrefix(p, "/actor/"), p == "/inbox":
			fed.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/api/"), strings.HasPrefix(p, "/oauth/"):
			api.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/tags/") && (r.Method == http.MethodGet || r.Method == http.MethodHead) && ap.WantsActivityJSON(r):
			fed.ServeHTTP(w, r) // the tag's collection; browsers get the page

		case strings.HasPrefix(p, "/@") && (r.Method == http.MethodGet || r.Method == http.MethodHead) && ap.WantsActivityJSON(r):
			handle, id, _ := strings.Cut(p[2:], "/")
			if !strings.EqualFold(handle, urls.Username()) || strings.Contains(id, "/") {
				pages.ServeHTTP(w, r)
				return
			}
			target := urls.Actor()
			if id != "" {
				target = urls.Post(id)
			}
			w.Header().Set("Vary", "Accept")
			w.Header().Set("Access-Control-Allow-Origin", "*")
			http.Redirect(w, r, target, http.StatusFound)
		default:
			pages.ServeHTTP(w, r)
		}
	})
}

// cmdServe runs the server until ctx is cancelled (SIGINT or SIGTERM), then
// stops accepting requests, lets running ones finish, and stops the
// workers.
func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseFlags("serve", serveFlags(), args, getenv, stderr, "serve [flags]")
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments, got %q", rest)}
	}
	return serveConfig(ctx, cfg, stdout, stderr, appOptions{})
}

// serveConfig is kith serve once the flags are read; tests pass opt.
func serveConfig(ctx context.Context, cfg *config, stdout, stderr io.Writer, opt appOptions) error {
	if err := checkACME(cfg); err != nil {
		return err
	}
	if (cfg.tlsCert == "") != (cfg.tlsKey == "") {
		return usageError{"--tls-cert and --tls-key go together"}
	}
	if cfg.tlsCert != "" && ap.IsLocalDomain(cfg.domain) {
		// Every link kith makes for a local domain is http://, which a TLS
		// listener would not answer.
		return usageError{fmt.Sprintf("the domain %s is local, and kith serves it over plain HTTP: leave out --tls-cert and --tls-key, or use the real domain", cfg.domain)}
	}
	keep, err := strconv.Atoi(cfg.backupKeep)
	if err != nil || keep < 1 {
		return usageError{fmt.Sprintf("--backup-keep %q: want how many backups to keep, 1 or more", cfg.backupKeep)}
	}
	if _, err := parseRetention(cfg.retention); err != nil {
		return err
	}
	if _, err := parseMediaCache(cfg.mediaCache); err != nil {
		return err
	}
	log, err := newLogger(stderr, cfg.logLevel)
	if err != nil {
		return err
	}
	a, err := setup(ctx, cfg, stdout, log, opt)
	if err != nil {
		return err
	}
	defer a.db.Close()
	// Setup (migrations, key loading, template checks) left a few MB of
	// garbage, and the code of every package's init and of setup, which
	// runs once, mapped; hand both back to the OS, as an idle kith on a Pi
	// should stay small. It costs about a millisecond of start time (a
	// forced GC on a 3 MB heap), against the 50 ms budget; done later,
	// concurrently with the first requests, it saved less.
	debug.FreeOSMemory()
	if err := releaseBinaryPages(); err != nil {
		log.Warn("releasing the binary's pages", "err", err)
	}

	a.backupKeep = keep
	if cfg.acme != "" {
		lnTLS, lnHTTP, err := listenACME(cfg)
		if err != nil {
			return err
		}
		return a.serveACME(ctx, a.certManager(cfg, opt.acmeClient), lnTLS, lnHTTP, cfg, stdout)
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another kith or web server running there? choose another address with --listen)", cfg.listen, err)
	}
	return a.serve(ctx, ln, cfg, stdout)
}

// serve runs the HTTP server on ln and the background workers until ctx is
// done.
func (a *app) serve(ctx context.Context, ln net.Listener, cfg *config, stdout io.Writer) error {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // uploads from slow phones
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	a.work(workCtx, &wg, cfg)

	urls := a.ap.URLs()
	scheme := "http"
	if cfg.tlsCert != "" || cfg.acme != "" {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "kith: serving @%s at %s/ (listening on %s://%s)\n", urls.Acct(), urls.Base(), scheme, ln.Addr())
	switch {
	case ap.IsLocalDomain(urls.Domain()):
		a.log.Info("the domain is local, so kith serves plain HTTP and other servers cannot reach it; for the fediverse, start with a real --domain", "domain", urls.Domain())
	case cfg.tlsCert == "" && cfg.acme == "":
		a.log.Info("serving plain HTTP: put a TLS reverse proxy in front of it for "+urls.Base()+", or use --tls-cert and --tls-key", "listen", ln.Addr().String())
	}

	errc := make(chan error, 1)
	go func() {
		if cfg.tlsCert != "" {
			errc <- srv.ServeTLS(ln, cfg.tlsCert, cfg.tlsKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	var serveErr error
	select {
	case <-ctx.Done():
		a.log.Info("shutting down")
	case serveErr = <-errc:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		a.log.Warn("requests still running at shutdown were cut off", "err", err)
	}
	stopWork()
	wg.Wait()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// work starts, in wg, the background workers that run while kith serves,
// until ctx is done.
func (a *app) work(ctx context.Context, wg *sync.WaitGroup, cfg *config) {
	wg.Go(func() { a.ap.Run(ctx) })
	wg.Go(func() { releaseWhenIdle(ctx, a.releaseMemory) })
	wg.Go(func() { a.api.RunPush(ctx) })
	wg.Go(func() { a.web.RunImports(ctx) })
	if cfg.backupDir != "" {
		wg.Go(func() { a.backups(ctx, cfg.backupDir, a.backupKeep) })
	}
}

// backups writes a backup into dir once a day while ctx lasts, keeping
// the newest keep. The schedule follows the newest backup already in dir,
// so restarts (even a crash loop) add none: the first comes a moment after
// start when the newest is a day old or there is none, else a day after
// the newest. A failed backup is logged and tried again an hour later.
func (a *app) backups(ctx context.Context, dir string, keep int) {
	const day, retry = 24 * time.Hour, time.Hour
	next := time.Now().Add(time.Second) // after the listener is up
	if last, ok := store.LatestBackup(dir); ok && last.Add(day).After(next) {
		next = last.Add(day)
	}
	a.log.Info("daily backups on", "dir", dir, "keep", keep, "next", next.Round(time.Second).Format(time.RFC3339))
	for {
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		start := time.Now()
		path, removed, err := a.db.BackupInto(ctx, dir, keep, start)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			a.log.Error("the daily backup failed; is the disk full, or the directory not writable? kith tries again in an hour", "dir", dir, "err", err)
			next = start.Add(retry)
			continue
		}
		size := int64(0)
		if fi, err := os.Stat(path); err == nil {
			size = fi.Size()
		}
		a.log.Info("backup written", "file", path, "bytes", size, "took", time.Since(start).Round(time.Millisecond), "removed", len(removed))
		next = start.Add(day)
	}
}
