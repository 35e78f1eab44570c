package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// HashSecret is how client secrets, access tokens and authorization codes
// are stored: their SHA-256, so the database never holds a usable token.
// They are random and long, so a fast hash is enough.
func HashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// ClientApp is an application registered through the client API.
type ClientApp struct {
	ID           int64
	ClientID     string
	SecretHash   string
	Name         string
	Website      string
	RedirectURIs []string
	Scopes       string // space-separated
	CreatedAt    time.Time

	// Filled by AuthorizedApps.
	Tokens   int
	LastUsed time.Time
}

// AddClientApp stores a new app and sets its ID.
func (db *DB) AddClientApp(ctx context.Context, a *ClientApp) error {
	uris, err := json.Marshal(nonNil(a.RedirectURIs))
	if err != nil {
		return fmt.Errorf("store: encode redirect URIs: %w", err)
	}
	return db.writer(ctx).QueryRowContext(ctx, `INSERT INTO client_apps (client_id, secret_hash, name, website, redirect_uris, scopes, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		a.ClientID, a.SecretHash, a.Name, a.Website, string(uris), a.Scopes, millis(a.CreatedAt)).Scan(&a.ID)
}

const clientAppColumns = `a.id, a.client_id, a.secret_hash, a.name, a.website, a.redirect_uris, a.scopes, a.created_at`

func scanClientApp(s scanner, a *ClientApp, extra ...any) error {
	var uris string
	var created int64
	if err := s.Scan(append([]any{&a.ID, &a.ClientID, &a.SecretHash, &a.Name, &a.Website, &uris, &a.Scopes, &created}, extra...)...); err != nil {
		return err
	}
	a.CreatedAt = fromMillis(created)
	if err := json.Unmarshal([]byte(uris), &a.RedirectURIs); err != nil {
		return fmt.Errorf("store: redirect URIs of app %d: %w", a.ID, err)
	}
	return nil
}

// ClientAppByClientID returns the app with the public client_id.
func (db *DB) ClientAppByClientID(ctx context.Context, clientID string) (*ClientApp, error) {
	var a ClientApp
	err := scanClientApp(db.reader(ctx).QueryRowContext(ctx, `SELECT `+clientAppColumns+` FROM client_apps a WHERE a.client_id = ?`, clientID), &a)
	if err != nil {
		return nil, noRow(err, "read client app")
	}
	return &a, nil
}

// AuthorizedApps lists the apps holding at least one token that acts for
// the owner, most recently used first, with the number of such tokens.
func (db *DB) AuthorizedApps(ctx context.Context) ([]ClientApp, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+clientAppColumns+`, count(*), max(t.last_used_at, t.created_at) AS used
		FROM client_apps a JOIN access_tokens t ON t.app_id = a.id AND t.owner
		GROUP BY a.id ORDER BY used DESC`)
	if err != nil {
		return nil, fmt.Errorf("store: authorized apps: %w", err)
	}
	defer rows.Close()
	var out []ClientApp
	for rows.Next() {
		var a ClientApp
		var used int64
		if err := scanClientApp(rows, &a, &a.Tokens, &used); err != nil {
			return nil, fmt.Errorf("store: authorized apps: %w", err)
		}
		a.LastUsed = fromMillis(used)
		out = append(out, a)
	}
	return out, rows.Err()
}

// RevokeApp deletes every token and code of an app, and the app: what it
// held stops working at once. It reports whether the app existed.
func (db *DB) RevokeApp(ctx context.Context, id int64) (bool, error) {
	res, err := db.exec(ctx, "revoke app", `DELETE FROM client_apps WHERE id = ?`, id)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// AccessToken is a granted token, found by its hash.
type AccessToken struct {
	Hash      string
	App       ClientApp
	Scopes    string
	Owner     bool // acts for the owner; false for client_credentials tokens
	CreatedAt time.Time
	LastUsed  time.Time
}

// AddAccessToken stores a token.
func (db *DB) AddAccessToken(ctx context.Context, t *AccessToken) error {
	_, err := db.exec(ctx, "add access token", `INSERT INTO access_tokens (token_hash, app_id, scopes, owner, created_at, last_used_at)
		VALUES (?, ?, ?, ?, ?, ?)`, t.Hash, t.App.ID, t.Scopes, t.Owner, millis(t.CreatedAt), millis(t.CreatedAt))
	return err
}

// AccessTokenByHash returns the token with its app.
func (db *DB) AccessTokenByHash(ctx context.Context, hash string) (*AccessToken, error) {
	var t AccessToken
	var created, used int64
	err := scanClientApp(db.reader(ctx).QueryRowContext(ctx, `SELECT `+clientAppColumns+`, t.token_hash, t.scopes, t.owner, t.created_at, t.last_used_at
		FROM access_tokens t JOIN client_apps a ON a.id = t.app_id WHERE t.token_hash = ?`, hash),
		&t.App, &t.Hash, &t.Scopes, &t.Owner, &created, &used)
	if err != nil {
		return nil, noRow(err, "read access token")
	}
	t.CreatedAt, t.LastUsed = fromMillis(created), fromMillis(used)
	return &t, nil
}

// TouchAccessToken records when a token was last used.
func (db *DB) TouchAccessToken(ctx context.Context, hash string, now time.Time) error {
	_, err := db.exec(ctx, "touch access token", `UPDATE access_tokens SET last_used_at = ? WHERE token_hash = ?`, millis(now), hash)
	return err
}

// RevokeAccessToken deletes a token of the app appID; it reports whether
// there was one.
func (db *DB) RevokeAccessToken(ctx context.Context, hash string, appID int64) (bool, error) {
	res, err := db.exec(ctx, "revoke access token", `DELETE FROM access_tokens WHERE token_hash = ? AND app_id = ?`, hash, appID)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// AuthCode is an authorization code waiting to be exchanged for a token.
type AuthCode struct {
	Hash          string
	AppID         int64
	RedirectURI   string
	Scopes        string
	CodeChallenge string // PKCE S256, or ""
	CreatedAt     time.Time
	ExpiresAt     time.Time
}

// AddAuthCode stores a code, and forgets the codes that expired.
func (db *DB) AddAuthCode(ctx context.Context, c *AuthCode) error {
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.tx.ExecContext(ctx, `DELETE FROM auth_codes WHERE expires_at < ?`, millis(c.CreatedAt)); err != nil {
			return fmt.Errorf("store: prune codes: %w", err)
		}
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO auth_codes (code_hash, app_id, redirect_uri, scopes, code_challenge, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, c.Hash, c.AppID, c.RedirectURI, c.Scopes, c.CodeChallenge, millis(c.CreatedAt), millis(c.ExpiresAt))
		if err != nil {
			return fmt.Errorf("store: add code: %w", err)
		}
		return nil
	})
}

// ErrCodeUsed is returned by ExchangeAuthCode for a code that was
// exchanged before; the token it gave has been revoked.
var ErrCodeUsed = errors.New("store: authorization code used before")

// ExchangeAuthCode takes the code (once), lets check refuse it, and stores
// the token for it, in one transaction. A code that was used before
// revokes the token it gave and returns ErrCodeUsed; an unknown or
// expired one returns ErrNotFound.
func (db *DB) ExchangeAuthCode(ctx context.Context, hash string, now time.Time, check func(*AuthCode) error, t *AccessToken) error {
	var used error
	err := db.Update(ctx, func(tx *Tx) error {
		var c AuthCode
		var created, expires int64
		var usedAt sql.NullInt64
		var tokenHash string
		err := tx.tx.QueryRowContext(ctx, `SELECT code_hash, app_id, redirect_uri, scopes, code_challenge, created_at, expires_at, used_at, token_hash
			FROM auth_codes WHERE code_hash = ?`, hash).Scan(&c.Hash, &c.AppID, &c.RedirectURI, &c.Scopes, &c.CodeChallenge,
			&created, &expires, &usedAt, &tokenHash)
		if err != nil {
			return noRow(err, "read code")
		}
		c.CreatedAt, c.ExpiresAt = fromMillis(created), fromMillis(expires)
		if usedAt.Valid {
			if _, err := tx.tx.ExecContext(ctx, `DELETE FROM access_tokens WHERE token_hash = ?`, tokenHash); err != nil {
				return fmt.Errorf("store: revoke token of a replayed code: %w", err)
			}
			used = ErrCodeUsed
			return nil // commit the revocation
		}
		if !now.Before(c.ExpiresAt) {
			return ErrNotFound
		}
		if err := check(&c); err != nil {
			return err
		}
		t.Scopes = c.Scopes
		if _, err := tx.tx.ExecContext(ctx, `UPDATE auth_codes SET used_at = ?, token_hash = ? WHERE code_hash = ?`, millis(now), t.Hash, hash); err != nil {
			return fmt.Errorf("store: use code: %w", err)
		}
		_, err = tx.tx.ExecContext(ctx, `INSERT INTO access_tokens (token_hash, app_id, scopes, owner, created_at, last_used_at)
			VALUES (?, ?, ?, ?, ?, ?)`, t.Hash, c.AppID, t.Scopes, t.Owner, millis(t.CreatedAt), millis(t.CreatedAt))
		if err != nil {
			return fmt.Errorf("store: add token: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return used
}

// MediaNote is what a client said about an upload: its description and
// focal point (x and y from -1 to 1).
type MediaNote struct {
	Description    string
	FocusX, FocusY float64
}

// SetMediaNote stores the note of an upload.
func (db *DB) SetMediaNote(ctx context.Context, mediaID string, n MediaNote) error {
	_, err := db.exec(ctx, "set media note", `INSERT INTO media_notes (media_id, description, focus_x, focus_y) VALUES (?, ?, ?, ?)
		ON CONFLICT (media_id) DO UPDATE SET description = excluded.description, focus_x = excluded.focus_x, focus_y = excluded.focus_y`,
		mediaID, n.Description, n.FocusX, n.FocusY)
	return err
}

// MediaNotes returns the notes of the uploads that have one.
func (db *DB) MediaNotes(ctx context.Context, ids []string) (map[string]MediaNote, error) {
	out := map[string]MediaNote{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT media_id, description, focus_x, focus_y FROM media_notes WHERE media_id IN (`+placeholders(len(ids))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: media notes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n MediaNote
		if err := rows.Scan(&id, &n.Description, &n.FocusX, &n.FocusY); err != nil {
			return nil, fmt.Errorf("store: media notes: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

// OwnPostsQuery selects a page of the owner's posts for the client API.
type OwnPostsQuery struct {
	Page
	Owner          string // the owner's actor IRI
	Visibilities   []string
	ExcludeReplies bool // leave out replies to others (a thread of one's own stays)
	OnlyMedia      bool
}

// ownPostsWhere is the condition on posts p that selects q's own posts.
func (q OwnPostsQuery) ownPostsWhere() ([]string, []any) {
	where := []string{"p.local_id IS NOT NULL", "p.deleted_at IS NULL", "p.visibility IN (" + placeholders(len(q.visibilities())) + ")"}
	var args []any
	for _, v := range q.visibilities() {
		args = append(args, v)
	}
	if q.ExcludeReplies {
		where = append(where, "(p.in_reply_to = '' OR p.in_reply_to LIKE ? ESCAPE '\\')")
		args = append(args, strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q.Owner)+"/%")
	}
	if q.OnlyMedia {
		where = append(where, "EXISTS (SELECT 1 FROM attachments a WHERE a.post_id = p.id)")
	}
	return where, args
}

// visibilities is q.Visibilities, all of them when empty.
func (q OwnPostsQuery) visibilities() []string {
	if len(q.Visibilities) == 0 {
		return []string{Public, Unlisted, Followers, Direct}
	}
	return q.Visibilities
}

// OwnPosts returns a page of the owner's posts that are not deleted,
// newest first, without their details: the caller loads them with
// LoadPostViews.
func (db *DB) OwnPosts(ctx context.Context, q OwnPostsQuery) ([]Post, error) {
	where, args := q.ownPostsWhere()
	where, args, order, reverse := q.where("p.local_id", where, args)
	args = append(args, q.limit())
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+postColumns+` FROM posts p WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: own posts: %w", err)
	}
	posts, err := scanPosts(rows)
	if err != nil {
		return nil, err
	}
	if reverse {
		slices.Reverse(posts)
	}
	return posts, nil
}

// OwnEntries is OwnPosts with the owner's boosts among them, as Mastodon
// lists an account's statuses: each boost an entry of its own, in time
// order with the posts (a local post's sid is its local id, so one sid
// order pages both). A media-only page has no boosts, as a boost carries
// no media of its own; ExcludeBoosts leaves them out too. Each entry comes
// with its details loaded.
func (db *DB) OwnEntries(ctx context.Context, q OwnPostsQuery, excludeBoosts bool) ([]Entry, error) {
	postsWhere, args := q.ownPostsWhere()
	postsWhere, args, postsOrder, _ := q.where("p.local_id", postsWhere, args)
	args = append(args, q.limit())
	query := `SELECT * FROM (SELECT p.local_id AS sid, NULL AS boost_id, p.id AS post_id FROM posts p WHERE ` +
		strings.Join(postsWhere, " AND ") + ` ORDER BY ` + postsOrder + ` LIMIT ?)`
	if !excludeBoosts && !q.OnlyMedia {
		// Each arm takes one page through its own index; the outer ORDER
		// BY merges them.
		vis := q.visibilities()
		boostsWhere := []string{"actor_iri = ?", "visibility IN (" + placeholders(len(vis)) + ")"}
		bargs := []any{q.Owner}
		for _, v := range vis {
			bargs = append(bargs, v)
		}
		boostsWhere, bargs, boostsOrder, _ := q.where("sid", boostsWhere, bargs)
		query += ` UNION ALL SELECT * FROM (SELECT sid, id AS boost_id, post_id FROM boosts WHERE ` +
			strings.Join(boostsWhere, " AND ") + ` ORDER BY ` + boostsOrder + ` LIMIT ?)`
		args = append(append(args, bargs...), q.limit())
	}
	_, _, order, reverse := q.where("e.sid", nil, nil)
	args = append(args, q.limit())
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT e.sid, e.boost_id, `+postColumns+` FROM (`+query+`) e
		JOIN posts p ON p.id = e.post_id WHERE p.deleted_at IS NULL ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: own entries: %w", err)
	}
	entries, err := scanEntries(rows)
	if err != nil {
		return nil, err
	}
	if reverse {
		slices.Reverse(entries)
	}
	return entries, db.loadEntries(ctx, entries, q.Owner)
}

// PostRef is what the client API shows of a post another one answers:
// its sid and its author.
type PostRef struct {
	SID       string
	AuthorIRI string
}

// PostRefs returns the sid and author of the stored posts among iris, in
// one query.
func (db *DB) PostRefs(ctx context.Context, iris []string) (map[string]PostRef, error) {
	out := map[string]PostRef{}
	if len(iris) == 0 {
		return out, nil
	}
	args := make([]any, len(iris))
	for i, iri := range iris {
		args[i] = iri
	}
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT iri, sid, author_iri FROM posts WHERE iri IN (`+placeholders(len(iris))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: post refs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var iri string
		var ref PostRef
		if err := rows.Scan(&iri, &ref.SID, &ref.AuthorIRI); err != nil {
			return nil, fmt.Errorf("store: post refs: %w", err)
		}
		out[iri] = ref
	}
	return out, rows.Err()
}

// ActorByID returns a cached actor by its row id, the client API's
// account id.
func (db *DB) ActorByID(ctx context.Context, id int64) (*Actor, error) {
	return actorWhere(ctx, db.reader(ctx), "id = ?", id)
}

// BoostOf returns actorIRI's boost of the post postID.
func (db *DB) BoostOf(ctx context.Context, postID int64, actorIRI string) (*Boost, error) {
	return boostWhere(ctx, db.reader(ctx), "post_id = ? AND actor_iri = ?", postID, actorIRI)
}
