// Package mastoapi is kith's second face: Mastodon's client API, so that
// the owner can use the app they already know (Tusky, Ice Cubes, Ivory,
// Elk, toot, bots written with Mastodon.py) against their own server.
//
// It serves /api/ and /oauth/. Everything it does goes through the same
// code as the web pages: posts are published, edited and deleted by
// ap.Service, the profile is saved by ap.Service.UpdateProfile, uploads go
// through ap.Service.StoreUpload, and the login page is rendered in the
// look of the other pages by the web package (Pages). What lives here is
// the translation: OAuth 2 (apps, codes, tokens and scopes), parameters
// in the three encodings clients use, Mastodon's entities and its error
// shape.
//
// Files:
//
//	mastoapi.go   Handler, its dependencies and routes
//	params.go     reading parameters from the query, a form or JSON
//	respond.go    JSON answers, Mastodon's error shape, CORS, Link headers
//	oauth.go      apps, the authorize page, tokens, revocation
//	auth.go       bearer tokens and scopes
//	entities.go   Account, Status, MediaAttachment and friends
//	instance.go   instance v1 and v2, default images
//	accounts.go   the owner's account and its statuses
//	statuses.go   create, read, edit and delete statuses
//	scheduled.go  statuses scheduled for later: ScheduledStatus and its endpoints
//	interactions.go  favourites, boosts, polls, notifications, relationships
//	lists.go      markers, follower and block lists, domain blocks, tags, search
//	media.go      uploads and their descriptions
//	stubs.go      the endpoints where kith has nothing to say yet
//	streaming.go  live events over WebSocket and server-sent events
//	push.go       Web Push subscriptions, encryption, VAPID and sending
package mastoapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"kith/ap"
	"kith/ap/safenet"
	"kith/store"
)

// Pages is what the client API needs from the HTML side: pages in kith's
// look, and the owner's password check with its limits on guessing, so
// that logging in through an app is slowed exactly as the login page is.
type Pages interface {
	// RenderPage renders the template name (a page of its own, like the
	// web package's) with data, under the page title. formAction adds
	// sources the page's forms may lead to (its Content-Security-Policy
	// allows only this site otherwise).
	RenderPage(w http.ResponseWriter, r *http.Request, status int, name, title string, data any, formAction ...string)
	// CheckOwnerPassword checks the owner's password. When guessing from
	// the request's network is being slowed and the request may not try
	// now, ok is false and retry says when to come back.
	CheckOwnerPassword(r *http.Request, password string) (ok bool, retry time.Duration)
}

// Config is what New needs. DB, AP and Pages are required.
type Config struct {
	DB      *store.DB
	AP      *ap.Service
	Pages   Pages
	Version string // kith's version, in the instance's version string
	Logger  *slog.Logger
	Now     func() time.Time // nil means time.Now
	Hub     *Hub             // the database's changes, for streaming; nil means no streaming
	// PushClient sends Web Push notifications; nil means an SSRF-guarded
	// client (ap/safenet), as push services are on the public internet.
	PushClient *http.Client
}

// Handler serves the client API.
type Handler struct {
	db      *store.DB
	ap      *ap.Service
	urls    ap.URLs
	pages   Pages
	version string
	log     *slog.Logger
	now     func() time.Time
	hub     *Hub

	pushClient *http.Client
	images     defaultImages
	mux        *http.ServeMux
}

// New builds the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.DB == nil || cfg.AP == nil || cfg.Pages == nil {
		return nil, errors.New("mastoapi: New needs a database, the ActivityPub service and the pages")
	}
	h := &Handler{
		db:      cfg.DB,
		ap:      cfg.AP,
		urls:    cfg.AP.URLs(),
		pages:   cfg.Pages,
		version: cfg.Version,
		log:     cfg.Logger,
		now:     cfg.Now,
		hub:     cfg.Hub,

		pushClient: cfg.PushClient,
		images:     newDefaultImages(),
		mux:        http.NewServeMux(),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.pushClient == nil {
		h.pushClient = safenet.NewClient(safenet.Options{UserAgent: "kith/" + cfg.Version})
	}
	h.routes()
	return h, nil
}

// ServeHTTP answers a request under /api/ or /oauth/, with CORS headers
// on every answer: browser clients (Elk, Phanpy, Pinafore) call the API
// from their own origin, with a bearer token and never a cookie.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Origin", "*")
	hdr.Set("Access-Control-Expose-Headers", "Link, X-RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining, X-Request-Id, Idempotency-Key")
	if r.Method == http.MethodOptions {
		hdr.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
		hdr.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, Accept")
		hdr.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// routes registers every endpoint.
func (h *Handler) routes() {
	m := h.mux
	// OAuth 2. toot asks for /oauth/authorize/ with the slash.
	m.HandleFunc("POST /api/v1/apps", h.createApp)
	m.HandleFunc("GET /api/v1/apps/verify_credentials", h.verifyApp)
	for _, p := range []string{"/oauth/authorize", "/oauth/authorize/"} {
		m.HandleFunc("GET "+p, h.showAuthorize)
		m.HandleFunc("POST "+p, h.submitAuthorize)
	}
	m.HandleFunc("POST /oauth/token", h.issueToken)
	m.HandleFunc("POST /oauth/revoke", h.revokeToken)

	m.HandleFunc("GET /api/v1/instance", h.instanceV1)
	m.HandleFunc("GET /api/v2/instance", h.instanceV2)
	m.HandleFunc("GET /api/kith/avatar.png", h.images.serveAvatar)
	m.HandleFunc("GET /api/kith/header.png", h.images.serveHeader)

	m.HandleFunc("GET /api/v1/accounts/verify_credentials", h.user("read:accounts", h.verifyCredentials))
	m.HandleFunc("PATCH /api/v1/accounts/update_credentials", h.user("write:accounts", h.updateCredentials))
	m.HandleFunc("GET /api/v1/accounts/lookup", h.public("read:accounts", h.lookupAccount))
	m.HandleFunc("GET /api/v1/accounts/{id}", h.public("read:accounts", h.getAccount))
	m.HandleFunc("GET /api/v1/accounts/{id}/statuses", h.public("read:statuses", h.accountStatuses))
	m.HandleFunc("GET /api/v1/preferences", h.user("read:accounts", h.preferences))

	m.HandleFunc("POST /api/v1/statuses", h.user("write:statuses", h.createStatus))
	m.HandleFunc("GET /api/v1/statuses/{id}", h.public("read:statuses", h.getStatus))
	m.HandleFunc("PUT /api/v1/statuses/{id}", h.user("write:statuses", h.editStatus))
	m.HandleFunc("DELETE /api/v1/statuses/{id}", h.user("write:statuses", h.deleteStatus))
	m.HandleFunc("GET /api/v1/statuses/{id}/source", h.user("read:statuses", h.statusSource))
	m.HandleFunc("GET /api/v1/statuses/{id}/history", h.public("read:statuses", h.statusHistory))
	m.HandleFunc("GET /api/v1/statuses/{id}/context", h.public("read:statuses", h.statusContext))

	m.HandleFunc("GET /api/v1/statuses/{id}/favourited_by", h.public("read:statuses", h.whoActed(func(ctx context.Context, postID int64, pg store.Page) (sids, actors []string, err error) {
		likes, err := h.db.Likes(ctx, postID, pg)
		for _, l := range likes {
			sids, actors = append(sids, l.SID), append(actors, l.ActorIRI)
		}
		return sids, actors, err
	})))
	m.HandleFunc("GET /api/v1/statuses/{id}/reblogged_by", h.public("read:statuses", h.whoActed(func(ctx context.Context, postID int64, pg store.Page) (sids, actors []string, err error) {
		boosts, err := h.db.Boosters(ctx, postID, pg)
		for _, b := range boosts {
			sids, actors = append(sids, b.SID), append(actors, b.ActorIRI)
		}
		return sids, actors, err
	})))
	m.HandleFunc("POST /api/v1/statuses/{id}/favourite", h.user("write:favourites", h.interact(withIRI(h.ap.Like))))
	m.HandleFunc("POST /api/v1/statuses/{id}/unfavourite", h.user("write:favourites", h.interact(withIRI(h.ap.Unlike))))
	m.HandleFunc("POST /api/v1/statuses/{id}/reblog", h.user("write:statuses", h.reblog))
	m.HandleFunc("POST /api/v1/statuses/{id}/unreblog", h.user("write:statuses", h.interact(withIRI(h.ap.Unannounce))))
	m.HandleFunc("POST /api/v1/statuses/{id}/bookmark", h.user("write:bookmarks", h.interact(withIRI(h.ap.Bookmark))))
	m.HandleFunc("POST /api/v1/statuses/{id}/unbookmark", h.user("write:bookmarks", h.interact(withIRI(h.ap.Unbookmark))))
	m.HandleFunc("POST /api/v1/statuses/{id}/pin", h.user("write:accounts", h.pin(true)))
	m.HandleFunc("POST /api/v1/statuses/{id}/unpin", h.user("write:accounts", h.pin(false)))
	m.HandleFunc("GET /api/v1/bookmarks", h.user("read:bookmarks", h.entryList(func(ctx context.Context, pg store.Page) ([]store.Entry, error) {
		return h.db.Bookmarks(ctx, h.urls.Actor(), pg)
	})))
	m.HandleFunc("GET /api/v1/favourites", h.user("read:favourites", h.entryList(func(ctx context.Context, pg store.Page) ([]store.Entry, error) {
		return h.db.LikedBy(ctx, h.urls.Actor(), pg)
	})))
	m.HandleFunc("GET /api/v1/scheduled_statuses", h.user("read:statuses", h.listScheduled))
	m.HandleFunc("GET /api/v1/scheduled_statuses/{id}", h.user("read:statuses", h.getScheduled))
	m.HandleFunc("PUT /api/v1/scheduled_statuses/{id}", h.user("write:statuses", h.rescheduleStatus))
	m.HandleFunc("DELETE /api/v1/scheduled_statuses/{id}", h.user("write:statuses", h.cancelScheduled))
	m.HandleFunc("GET /api/v1/polls/{id}", h.public("read:statuses", h.getPoll))
	m.HandleFunc("POST /api/v1/polls/{id}/votes", h.user("write:statuses", h.votePoll))

	m.HandleFunc("GET /api/v1/notifications", h.user("read:notifications", h.notifications))
	m.HandleFunc("GET /api/v1/notifications/{id}", h.user("read:notifications", h.getNotification))
	m.HandleFunc("GET /api/v2/notifications", h.user("read:notifications", h.groupedNotifications))
	m.HandleFunc("GET /api/v1/notifications/unread_count", h.user("read:notifications", h.unreadNotifications))
	m.HandleFunc("GET /api/v2/notifications/unread_count", h.user("read:notifications", h.unreadNotifications))
	m.HandleFunc("POST /api/v1/notifications/{id}/dismiss", h.user("write:notifications", h.dismissNotification))
	m.HandleFunc("POST /api/v1/notifications/clear", h.user("write:notifications", h.clearNotifications))

	m.HandleFunc("GET /api/v1/accounts/relationships", h.user("read:follows", h.relationships))
	m.HandleFunc("POST /api/v1/accounts/{id}/follow", h.user("write:follows", h.accountAction(h.ap.Follow)))
	m.HandleFunc("POST /api/v1/accounts/{id}/unfollow", h.user("write:follows", h.accountAction(h.ap.Unfollow)))
	m.HandleFunc("POST /api/v1/accounts/{id}/block", h.user("write:blocks", h.accountAction(h.ap.Block)))
	m.HandleFunc("POST /api/v1/accounts/{id}/unblock", h.user("write:blocks", h.accountAction(h.ap.Unblock)))
	m.HandleFunc("POST /api/v1/accounts/{id}/mute", h.user("write:mutes", h.mute))
	m.HandleFunc("POST /api/v1/accounts/{id}/unmute", h.user("write:mutes", h.accountAction(h.ap.Unmute)))

	m.HandleFunc("POST /api/v1/media", h.user("write:media", h.uploadMedia))
	m.HandleFunc("POST /api/v2/media", h.user("write:media", h.uploadMedia))
	m.HandleFunc("GET /api/v1/media/{id}", h.user("write:media", h.getMedia))
	m.HandleFunc("PUT /api/v1/media/{id}", h.user("write:media", h.updateMedia))

	m.HandleFunc("GET /api/v1/timelines/home", h.user("read:statuses", h.homeTimeline))
	m.HandleFunc("GET /api/v1/timelines/public", h.public("read:statuses", h.publicTimeline))

	h.streamRoutes()
	h.pushRoutes()

	// Where kith has nothing to say, an empty answer of the right shape.
	m.HandleFunc("GET /api/v1/custom_emojis", h.emptyList)
	for _, p := range []string{
		"/api/v1/lists", "/api/v1/filters", "/api/v2/filters", "/api/v1/announcements", "/api/v1/followed_tags",
		"/api/v1/suggestions", "/api/v2/suggestions", "/api/v1/trends", "/api/v1/trends/tags",
		"/api/v1/trends/statuses", "/api/v1/trends/links", "/api/v1/conversations",
	} {
		m.HandleFunc("GET "+p, h.user("read", h.emptyList))
	}
	m.HandleFunc("GET /api/v1/instance/peers", h.emptyList)
	m.HandleFunc("GET /api/v1/instance/activity", h.emptyList)
	m.HandleFunc("GET /api/v1/instance/rules", h.emptyList)
	m.HandleFunc("GET /api/v1/markers", h.user("read:statuses", h.markers))
	m.HandleFunc("POST /api/v1/markers", h.user("write:statuses", h.saveMarkers))
	m.HandleFunc("GET /api/v1/timelines/tag/{tag}", h.public("read:statuses", h.tagTimeline))
	m.HandleFunc("GET /api/v2/search", h.user("read:search", h.search))
	m.HandleFunc("GET /api/v1/accounts/{id}/followers", h.user("read:accounts", h.ownerOnly(h.followAccounts(func(r *http.Request, offset, limit int) ([]store.Follow, error) {
		return h.db.Followers(r.Context(), store.Accepted, offset, limit)
	}))))
	m.HandleFunc("GET /api/v1/accounts/{id}/following", h.user("read:accounts", h.ownerOnly(h.followAccounts(func(r *http.Request, offset, limit int) ([]store.Follow, error) {
		return h.db.Followings(r.Context(), store.Accepted, offset, limit)
	}))))
	m.HandleFunc("GET /api/v1/follow_requests", h.user("read:follows", h.followAccounts(func(r *http.Request, offset, limit int) ([]store.Follow, error) {
		return h.db.Followers(r.Context(), store.Pending, offset, limit)
	})))
	m.HandleFunc("POST /api/v1/follow_requests/{id}/authorize", h.user("write:follows", h.followRequestAction(true)))
	m.HandleFunc("POST /api/v1/follow_requests/{id}/reject", h.user("write:follows", h.followRequestAction(false)))
	m.HandleFunc("GET /api/v1/blocks", h.user("read:blocks", h.blockedAccounts(false)))
	m.HandleFunc("GET /api/v1/domain_blocks", h.user("read:blocks", h.blockedAccounts(true)))
	m.HandleFunc("POST /api/v1/domain_blocks", h.user("write:blocks", h.domainBlock(true)))
	m.HandleFunc("DELETE /api/v1/domain_blocks", h.user("write:blocks", h.domainBlock(false)))
	m.HandleFunc("GET /api/v1/mutes", h.user("read:mutes", h.mutedAccounts))
	// Removing a follower is what the followers page's "Reject" does to an
	// accepted follow.
	m.HandleFunc("POST /api/v1/accounts/{id}/remove_from_followers", h.user("write:follows", h.removeFromFollowers))
	m.HandleFunc("GET /api/v1/accounts/familiar_followers", h.user("read:follows", h.familiarFollowers))

	m.HandleFunc("/api/", h.noRoute)
	m.HandleFunc("/oauth/", h.noRoute)
}
