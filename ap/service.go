// Package ap is kith's ActivityPub side: the vocabulary and its lenient
// decoding, WebFinger and NodeInfo, the actor and collection documents,
// fetching remote actors, verifying inbound and signing outbound requests,
// processing the inbox, publishing, and the deliverer.
//
// A Service holds what every part needs (the store, the URLs, the keys, the
// HTTP client) and is built once by main. Its Handler serves the federation
// endpoints; its Run method drives the inbox worker and the deliverer.
package ap

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
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

	inboxWake chan struct{}

	mu        sync.Mutex
	refetched map[string]time.Time // keyId -> last forced refetch, against refetch floods
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
		refetched: make(map[string]time.Time),
		md:        markdown.New(),
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
	wg.Wait()
	return nil
}

// Retention of what housekeeping removes.
const (
	inboxRetention   = 30 * 24 * time.Hour // processed activities, for deduplication
	unusedMediaGrace = 24 * time.Hour      // uploads no post or profile uses
	// Deleted remote posts: senders retry a delivery for about a week, so
	// a Create may arrive that late after its Delete.
	tombstoneRetention = 8 * 24 * time.Hour
)

// runHousekeeping removes, every hour, what is no longer needed: processed
// activities past the dedup window, uploads abandoned in a draft or
// replaced in an edit, and expired sessions.
func (s *Service) runHousekeeping(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		s.Housekeep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Housekeep runs one round of housekeeping.
func (s *Service) Housekeep(ctx context.Context) {
	now := s.now()
	if n, err := s.db.PruneInbox(ctx, now.Add(-inboxRetention)); err != nil && ctx.Err() == nil {
		s.log.Error("prune inbox", "err", err)
	} else if n > 0 {
		s.log.Debug("pruned old activities", "count", n)
	}
	if n, err := s.db.DeleteUnusedMedia(ctx, now.Add(-unusedMediaGrace)); err != nil && ctx.Err() == nil {
		s.log.Error("delete unused uploads", "err", err)
	} else if n > 0 {
		s.log.Info("deleted unused uploads", "count", n)
	}
	if err := s.db.DeleteExpiredSessions(ctx, now); err != nil && ctx.Err() == nil {
		s.log.Error("delete expired sessions", "err", err)
	}
	if _, err := s.db.PruneTombstones(ctx, now.Add(-tombstoneRetention)); err != nil && ctx.Err() == nil {
		s.log.Error("prune tombstones", "err", err)
	}
}

// GenerateKey makes a new RSA-2048 key pair and returns it as PKCS#8 and
// PKIX PEM. 2048 bits, not 4096: every delivery is signed, and a 4096-bit
// signature costs six times as much (perf.md §1a).
func GenerateKey() (privatePEM, publicPEM string, err error) {
	key, err := rsa.GenerateKey(randReader{}, 2048)
	if err != nil {
		return "", "", fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("encode key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", "", fmt.Errorf("encode public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})), nil
}

// ParsePrivateKey reads an RSA private key in PKCS#8 or PKCS#1 PEM.
func ParsePrivateKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, not RSA", k)
	}
	return rk, nil
}

// NewAccount returns a fresh account for username with new key pairs for
// the account and the instance actor.
func NewAccount(domain, username, passwordHash string, now time.Time) (*store.Account, error) {
	priv, pub, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	ipriv, ipub, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	return &store.Account{
		Domain:                domain,
		Username:              username,
		PrivateKeyPEM:         priv,
		PublicKeyPEM:          pub,
		InstancePrivateKeyPEM: ipriv,
		InstancePublicKeyPEM:  ipub,
		PasswordHash:          passwordHash,
		CreatedAt:             now.UTC(),
		UpdatedAt:             now.UTC(),
	}, nil
}
