package store

import (
	"context"
	"time"
)

// Session is a logged-in browser of the owner. Only a hash of the cookie
// value is stored, so a copy of the database does not let anyone in.
type Session struct {
	TokenHash string
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
	UserAgent string
}

// AddSession stores a new session.
func (db *DB) AddSession(ctx context.Context, s *Session) error {
	_, err := db.exec(ctx, "add session", `
		INSERT INTO sessions (token_hash, csrf_token, created_at, expires_at, user_agent) VALUES (?, ?, ?, ?, ?)`,
		s.TokenHash, s.CSRF, millis(s.CreatedAt), millis(s.ExpiresAt), s.UserAgent)
	return err
}

// SessionByHash returns the unexpired session with that token hash.
func (db *DB) SessionByHash(ctx context.Context, hash string, now time.Time) (*Session, error) {
	var s Session
	var created, expires int64
	err := db.r.QueryRowContext(ctx, `
		SELECT token_hash, csrf_token, created_at, expires_at, user_agent
		FROM sessions WHERE token_hash = ? AND expires_at > ?`, hash, millis(now)).Scan(
		&s.TokenHash, &s.CSRF, &created, &expires, &s.UserAgent)
	if err != nil {
		return nil, noRow(err, "read session")
	}
	s.CreatedAt, s.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &s, nil
}

// DeleteSession ends a session (log out).
func (db *DB) DeleteSession(ctx context.Context, hash string) error {
	_, err := db.exec(ctx, "delete session", `DELETE FROM sessions WHERE token_hash = ?`, hash)
	return err
}

// DeleteExpiredSessions removes sessions past their expiry.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) error {
	_, err := db.exec(ctx, "delete expired sessions", `DELETE FROM sessions WHERE expires_at <= ?`, millis(now))
	return err
}
