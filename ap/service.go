// Package ap is kith's ActivityPub side: the vocabulary and its lenient
// decoding, WebFinger and NodeInfo, the actor and collection documents,
// fetching remote actors, verifying inbound and signing outbound requests,
// processing the inbox, publishing, and the deliverer.
//
// A Service holds what every part needs (the store, the URLs, the keys, the
// HTTP client) and is built once by main. Its Handler serves the federation
// endpoints; its Run method drives the inbox worker and the deliverer.
//
// Files are named for the direction and the subject, so that a reader finds
// where an activity is handled from the file list alone, and an activity
// that arrives is never in the same file as the one kith sends:
//
//	inbox.go           POST /inbox: caps, signature, origin, store, 202
//	inbox_worker.go    the worker that processes stored activities, and the dispatch on their type
//	inbox_follow.go    Follow, Accept, Reject and Undo{Follow} arriving
//	inbox_post.go      Create, Update and Delete of posts arriving
//	inbox_actor.go     Update and Delete of actors arriving
//	outbox.go          storing an outgoing activity and its deliveries
//	outbox_follow.go   follow, unfollow, approve and remove going out
//	outbox_post.go     publish, edit and delete going out
//	outbox_schedule.go posts kept to be published later, and their scheduler
//	outbox_profile.go  profile changes, locking and pins going out
//	deliver.go         the delivery queue's worker
//	fetch.go, resolve.go  signed GETs; actors from handles, URLs and the cache
//	handler.go, discovery.go, documents*.go, collections.go  what kith serves
//	vocab*.go          decoding what arrives (string-or-object-or-array)
//
// A new activity type goes in the inbox_ or outbox_ file of its family, or
// a new one named the same way.
package ap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"kith/ap/markdown"
	"kith/ap/sig"
	"kith/store"
)

// Config is what New needs. DB, Client and URLs are required.
type Config struct {
	URLs         URLs
	DB           *store.DB
	Client       *http.Client // the SSRF-guarded client from safenet.NewClient
	AllowPrivate bool         // the fetcher may reach private addresses (tests, LANs)
	Logger       *slog.Logger
	Now          func() time.Time       // nil means time.Now
	NewID        func(time.Time) string // nil means store.NewID
	Version      string                 // kith's version, for NodeInfo and the User-Agent
	Delivery     DeliveryOptions
	Threads      ThreadLimits // zero means DefaultThreadLimits
	// Retention is how long remote posts the owner never touched are
	// kept; zero means DefaultRetention.
	Retention time.Duration
	// MediaCache is how many bytes of remote images the media proxy's
	// cache may hold; zero means DefaultMediaCache.
	MediaCache int64
}

// Service is the ActivityPub side of one kith instance.
type Service struct {
	urls    URLs
	db      *store.DB
	log     *slog.Logger
	now     func() time.Time
	newID   func(time.Time) string
	version string

	signer         sig.Signer // the account's key
	instanceSigner sig.Signer // the instance actor's key
	fetch          *Fetcher
	deliverer      *Deliverer

	md *markdown.Renderer

	inboxWake    chan struct{}
	inboxAdded   atomic.Int64  // activities stored by the inbox, for the worker to yield to
	inboxPoll    time.Duration // how often the inbox worker looks for work it was not woken for: Delivery.Poll
	scheduleWake chan struct{} // a post was scheduled or moved
	aliasWake    chan struct{} // wakes runAliasReads
	muteWake     chan struct{} // a mute was made or changed: wakes runMuteExpiry

	keys *keyGuard // limits the key fetches inbox POSTs cause

	threadLimits ThreadLimits
	retention    time.Duration
	mediaCache   int64
	threadMu     sync.Mutex
	threads      map[string]chan struct{} // thread fetches running, closed when done
}

// New builds the service for the account stored in cfg.DB.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Client == nil {
		return nil, errors.New("ap: New needs a database and an HTTP client")
	}
	s := &Service{
		urls:      cfg.URLs,
		db:        cfg.DB,
		log:       cfg.Logger,
		now:       cfg.Now,
		newID:     cfg.NewID,
		version:   cfg.Version,
		inboxWake: make(chan struct{}, 1),
		inboxPoll: cfg.Delivery.withDefaults().Poll,
		aliasWake: make(chan struct{}, 1),
		keys:      newKeyGuard(),
		md:        markdown.New(),

		threadLimits: cfg.Threads,
		scheduleWake: make(chan struct{}, 1),
		muteWake:     make(chan struct{}, 1),
		retention:    cfg.Retention,
		mediaCache:   cfg.MediaCache,
		threads:      make(map[string]chan struct{}),
	}
	if s.retention <= 0 {
		s.retention = DefaultRetention
	}
	if s.mediaCache <= 0 {
		s.mediaCache = DefaultMediaCache
	}
	if s.threadLimits == (ThreadLimits{}) {
		s.threadLimits = DefaultThreadLimits()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = store.NewID
	}
	acct, err := cfg.DB.Account(ctx)
	if err != nil {
		return nil, fmt.Errorf("ap: read account: %w", err)
	}
	key, err := ParsePrivateKey(acct.PrivateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("ap: account key: %w", err)
	}
	ikey, err := ParsePrivateKey(acct.InstancePrivateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("ap: instance key: %w", err)
	}
	s.signer = sig.Signer{KeyID: cfg.URLs.KeyID(), Key: key}
	s.instanceSigner = sig.Signer{KeyID: cfg.URLs.InstanceKeyID(), Key: ikey}
	// Both follow no redirects on their own: the fetcher re-signs each hop
	// itself, and a delivery that is redirected is not delivered.
	client := noRedirects(cfg.Client)
	s.fetch = &Fetcher{
		client:       client,
		signer:       s.instanceSigner,
		db:           cfg.DB,
		log:          s.log,
		allowPrivate: cfg.AllowPrivate,
		now:          s.now,
		userAgent:    s.UserAgent(),
	}
	s.deliverer = newDeliverer(cfg.DB, client, s.signer, cfg.AllowPrivate, s.log, s.now, s.UserAgent(), cfg.Delivery)
	return s, nil
}

// URLs returns the URL builder of this instance.
func (s *Service) URLs() URLs { return s.urls }

// Deliverer returns the delivery queue worker.
func (s *Service) Deliverer() *Deliverer { return s.deliverer }

// Fetcher returns the fetcher for remote documents.
func (s *Service) Fetcher() *Fetcher { return s.fetch }

// CloseIdleConnections closes the connections to other servers that are
// kept alive but idle. After a fan-out to hundreds of servers they hold
// tens of MB (TLS state, buffers and an HTTP/2 reader each) for up to the
// transport's idle timeout; kith drops them once it is quiet.
func (s *Service) CloseIdleConnections() { s.fetch.client.CloseIdleConnections() }

// UserAgent names kith and the instance in outgoing requests, as peers'
// admins expect.
func (s *Service) UserAgent() string {
	return "kith/" + s.version + " (+" + s.urls.Base() + "/)"
}

// Run processes the inbox and delivers the queue until ctx is done. Work
// left over from a previous run (a crash, a restart) is picked up first.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { s.runInbox(ctx) })
	wg.Go(func() { s.deliverer.Run(ctx) })
	wg.Go(func() { s.runHousekeeping(ctx) })
	wg.Go(func() { s.runScheduler(ctx) })
	wg.Go(func() { s.runAliasReads(ctx) })
	wg.Go(func() { s.runMuteExpiry(ctx) })
	wg.Wait()
	return nil
}
