package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Actor is a remote actor as last fetched, with its public key.
type Actor struct {
	ID           int64
	IRI          string
	Type         string
	Username     string // preferredUsername
	Host         string
	Name         string
	SummaryHTML  string // sanitised
	URL          string
	IconURL      string
	ImageURL     string
	Inbox        string
	SharedInbox  string
	Outbox       string
	Followers    string
	Following    string
	Featured     string
	Locked       bool
	KeyID        string
	PublicKeyPEM string
	Raw          string // the document as fetched
	FetchedAt    time.Time
}

// Handle returns @username@host, the name people know the actor by.
func (a *Actor) Handle() string {
	if a.Username == "" {
		return a.IRI
	}
	return "@" + a.Username + "@" + a.Host
}

// DeliveryInbox is where activities for this actor go: the shared inbox when
// the actor's server has one, so that one request reaches all its followers.
func (a *Actor) DeliveryInbox() string {
	if a.SharedInbox != "" {
		return a.SharedInbox
	}
	return a.Inbox
}

const actorColumns = `id, iri, type, username, host, name, summary_html, url, icon_url, image_url,
	inbox, shared_inbox, outbox, followers, following, featured, locked, key_id, public_key_pem,
	raw, fetched_at`

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanActor(s scanner, a *Actor) error {
	var fetched int64
	err := s.Scan(&a.ID, &a.IRI, &a.Type, &a.Username, &a.Host, &a.Name, &a.SummaryHTML, &a.URL,
		&a.IconURL, &a.ImageURL, &a.Inbox, &a.SharedInbox, &a.Outbox, &a.Followers, &a.Following,
		&a.Featured, &a.Locked, &a.KeyID, &a.PublicKeyPEM, &a.Raw, &fetched)
	a.FetchedAt = fromMillis(fetched)
	return err
}

// PutActor inserts or refreshes a remote actor by IRI and sets a.ID. A key
// that another cached actor holds stays with that actor: this one is
// stored without it (see PutKeyOwner).
func (db *DB) PutActor(ctx context.Context, a *Actor) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.PutActor(ctx, a) })
}

// PutActor inserts or refreshes a remote actor by IRI and sets a.ID. A key
// that another cached actor holds stays with that actor: this one is
// stored without it (see PutKeyOwner).
func (tx *Tx) PutActor(ctx context.Context, a *Actor) error {
	return tx.putActor(ctx, a, false)
}

// PutKeyOwner stores a as the owner of its key, taking the key from any
// other actor that held it. Only for an actor found through the key: its
// document was fetched from the key's own URL (or named as owner there)
// and claims the key, which makes it the key's rightful owner.
func (db *DB) PutKeyOwner(ctx context.Context, a *Actor) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.putActor(ctx, a, true) })
}

// putActor writes a. A key must be on the actor's own host: a server speaks
// for its own keys only, and a key held by an actor of another server would
// let that server's documents decide whose signature a request carries.
func (tx *Tx) putActor(ctx context.Context, a *Actor, ownsKey bool) error {
	if a.KeyID != "" && !onHost(a.KeyID, a.Host) {
		return fmt.Errorf("store: put actor %s: its key %s is not on its host %s", a.IRI, a.KeyID, a.Host)
	}
	if a.KeyID != "" {
		var holder string
		err := tx.tx.QueryRowContext(ctx, `SELECT iri FROM actors WHERE key_id = ? AND key_id != ''`, a.KeyID).Scan(&holder)
		switch {
		case errors.Is(err, sql.ErrNoRows) || holder == a.IRI:
		case err != nil:
			return fmt.Errorf("store: put actor %s: %w", a.IRI, err)
		case ownsKey:
			if _, err := tx.tx.ExecContext(ctx, `UPDATE actors SET key_id = '', public_key_pem = ''
				WHERE key_id = ? AND key_id != ''`, a.KeyID); err != nil {
				return fmt.Errorf("store: put actor %s: %w", a.IRI, err)
			}
		default:
			a.KeyID, a.PublicKeyPEM = "", ""
		}
	}
	err := tx.tx.QueryRowContext(ctx, `
		INSERT INTO actors (iri, type, username, host, name, summary_html, url, icon_url, image_url,
			inbox, shared_inbox, outbox, followers, following, featured, locked, key_id,
			public_key_pem, raw, fetched_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (iri) DO UPDATE SET type = excluded.type, username = excluded.username,
			host = excluded.host, name = excluded.name, summary_html = excluded.summary_html,
			url = excluded.url, icon_url = excluded.icon_url, image_url = excluded.image_url,
			inbox = excluded.inbox, shared_inbox = excluded.shared_inbox, outbox = excluded.outbox,
			followers = excluded.followers, following = excluded.following,
			featured = excluded.featured, locked = excluded.locked, key_id = excluded.key_id,
			public_key_pem = excluded.public_key_pem, raw = excluded.raw,
			fetched_at = excluded.fetched_at
		RETURNING id`,
		a.IRI, a.Type, a.Username, a.Host, a.Name, a.SummaryHTML, a.URL, a.IconURL, a.ImageURL,
		a.Inbox, a.SharedInbox, a.Outbox, a.Followers, a.Following, a.Featured, a.Locked, a.KeyID,
		a.PublicKeyPEM, a.Raw, millis(a.FetchedAt)).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("store: put actor %s: %w", a.IRI, err)
	}
	return nil
}

// onHost reports whether the http(s) URL u is on host (host[:port]).
func onHost(u, host string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && strings.EqualFold(p.Host, host)
}

// ActorByIRI returns the cached actor with that id.
func (db *DB) ActorByIRI(ctx context.Context, iri string) (*Actor, error) {
	return actorWhere(ctx, db.reader(ctx), "iri = ?", iri)
}

// ActorByIRI returns the cached actor with that id, as seen inside tx.
func (tx *Tx) ActorByIRI(ctx context.Context, iri string) (*Actor, error) {
	return actorWhere(ctx, tx.tx, "iri = ?", iri)
}

// ActorByKeyID returns the cached actor that owns the public key keyID.
func (db *DB) ActorByKeyID(ctx context.Context, keyID string) (*Actor, error) {
	// The index on key_id is partial: the query must repeat its condition.
	return actorWhere(ctx, db.reader(ctx), "key_id = ? AND key_id != ''", keyID)
}

// ActorByHandle finds a cached actor by preferredUsername and host,
// ignoring case as WebFinger does.
func (db *DB) ActorByHandle(ctx context.Context, username, host string) (*Actor, error) {
	// Hosts are stored lower-case, so the index on (host, username NOCASE)
	// serves this.
	return actorWhere(ctx, db.reader(ctx), "host = ? AND username = ? COLLATE NOCASE ORDER BY fetched_at DESC LIMIT 1",
		strings.ToLower(host), username)
}

// ActorsByIRI returns the cached actors among iris, by IRI, in one query;
// IRIs not cached are left out.
func (db *DB) ActorsByIRI(ctx context.Context, iris []string) (map[string]*Actor, error) {
	out := make(map[string]*Actor, len(iris))
	if len(iris) == 0 {
		return out, nil
	}
	args := make([]any, len(iris))
	for i, iri := range iris {
		args[i] = iri
	}
	rows, err := db.reader(ctx).QueryContext(ctx, "SELECT "+actorColumns+" FROM actors WHERE iri IN ("+placeholders(len(args))+")", args...)
	if err != nil {
		return nil, fmt.Errorf("store: read actors: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a Actor
		if err := scanActor(rows, &a); err != nil {
			return nil, fmt.Errorf("store: read actors: %w", err)
		}
		out[a.IRI] = &a
	}
	return out, rows.Err()
}

func actorWhere(ctx context.Context, q querier, where string, args ...any) (*Actor, error) {
	var a Actor
	err := scanActor(q.QueryRowContext(ctx, "SELECT "+actorColumns+" FROM actors WHERE "+where, args...), &a)
	if err != nil {
		return nil, noRow(err, "read actor")
	}
	return &a, nil
}

// DeleteActor forgets a remote actor and, through the foreign keys, its
// follow relations with us.
func (tx *Tx) DeleteActor(ctx context.Context, iri string) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, `DELETE FROM actors WHERE iri = ?`, iri)
	if err != nil {
		return false, fmt.Errorf("store: delete actor %s: %w", iri, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// prefixed qualifies each column of a comma-separated list with p.
func prefixed(p, columns string) string {
	parts := strings.Split(columns, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
