// Package web serves kith's HTML: the public profile, posts, tag pages and
// feeds, and the owner's pages (log in, compose, settings, deliveries).
//
// Every page works with JavaScript off. Browser routes live on their own
// mux, apart from the federation endpoints, so they get the browser
// defences (sessions, CSRF checks) that remote servers must not need.
package web

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"kith/ap"
	"kith/ap/markdown"
	"kith/store"
)

// Config is what New needs.
type Config struct {
	DB        *store.DB
	AP        *ap.Service
	Templates fs.FS // templates.FS
	Static    fs.FS // static.FS
	Logger    *slog.Logger
	Now       func() time.Time // nil means time.Now
	// SecureCookies marks session cookies Secure. It is off only when kith
	// serves plain HTTP on a local development domain.
	SecureCookies bool
	// LocalOnly says kith serves a local domain (a private address, a
	// .local or .lan name) over plain HTTP: the owner's pages then say
	// that other servers cannot reach it.
	LocalOnly bool
	// PasswdCommand is how the owner sets a new password on the server,
	// for the login page's hint: "kith passwd", or "go run . passwd" for
	// someone running kith from its source.
	PasswdCommand string
	// DataDir is where an uploaded archive waits for its import (kith's
	// data directory, next to the database); "" means os.TempDir().
	DataDir string
	// ArchiveUploadLimit caps an archive upload; 0 means
	// DefaultArchiveUploadLimit.
	ArchiveUploadLimit int64
}

// Handler serves the HTML side of kith.
type Handler struct {
	db     *store.DB
	ap     *ap.Service
	urls   ap.URLs
	log    *slog.Logger
	now    func() time.Time
	secure bool
	local  bool

	passwdCommand string
	dataDir       string
	archiveLimit  int64
	imports       *archiveImports

	pages map[string]*pageTemplate
	// pageBuffers holds the buffers pages are rendered into: a thread
	// page's half megabyte was allocated and cleared for every view.
	pageBuffers sync.Pool
	static      *staticFiles
	md          *markdown.Renderer
	limiter     *loginLimiter
	mux         *http.ServeMux
	handler     http.Handler
}

// New checks the templates (failing if a page is missing) and builds the
// routes.
func New(cfg Config) (*Handler, error) {
	if cfg.DB == nil || cfg.AP == nil || cfg.Templates == nil || cfg.Static == nil {
		return nil, errors.New("web: New needs a database, the ActivityPub service, templates and static files")
	}
	h := &Handler{
		db:     cfg.DB,
		ap:     cfg.AP,
		urls:   cfg.AP.URLs(),
		log:    cfg.Logger,
		now:    cfg.Now,
		secure: cfg.SecureCookies,
		local:  cfg.LocalOnly,

		passwdCommand: cfg.PasswdCommand,
		dataDir:       cfg.DataDir,
		archiveLimit:  cfg.ArchiveUploadLimit,
		imports:       newArchiveImports(),
		md:            markdown.New(),
		mux:           http.NewServeMux(),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.dataDir == "" {
		h.dataDir = os.TempDir()
	}
	if h.archiveLimit <= 0 {
		h.archiveLimit = DefaultArchiveUploadLimit
	}
	if h.passwdCommand == "" {
		h.passwdCommand = "kith passwd"
	}
	h.limiter = newLoginLimiter(h.now)
	var err error
	if h.static, err = newStaticFiles(cfg.Static); err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	if h.pages, err = parsePages(cfg.Templates, h.static); err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	h.routes()
	return h, nil
}

// ServeHTTP serves a page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.handler.ServeHTTP(w, r)
}

// account reads the account for a page, which every page shows.
func (h *Handler) account(ctx context.Context) (*store.Account, error) {
	return h.db.Account(ctx)
}
