package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Session is a logged-in browser of the owner. Only a hash of the cookie
// value is stored, so a copy of the database does not let anyone in.
type Session struct {
	TokenHash  string
	CSRF       string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UserAgent  string
	LastSeenAt time.Time
	Address    string // the client address it was last seen from
}

const sessionColumns = `token_hash, csrf_token, created_at, expires_at, user_agent, last_seen_at, address`

func scanSession(row interface{ Scan(...any) error }, s *Session) error {
	var created, expires, seen int64
	if err := row.Scan(&s.TokenHash, &s.CSRF, &created, &expires, &s.UserAgent, &seen, &s.Address); err != nil {
		return err
	}
	s.CreatedAt, s.ExpiresAt, s.LastSeenAt = fromMillis(created), fromMillis(expires), fromMillis(seen)
	return nil
}

// AddSession stores a new session.
func (db *DB) AddSession(ctx context.Context, s *Session) error {
	seen := s.LastSeenAt
	if seen.IsZero() {
		seen = s.CreatedAt
	}
	_, err := db.exec(ctx, "add session", `
		INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.TokenHash, s.CSRF, millis(s.CreatedAt), millis(s.ExpiresAt), s.UserAgent, millis(seen), s.Address)
	return err
}

// SessionByHash returns the unexpired session with that token hash.
func (db *DB) SessionByHash(ctx context.Context, hash string, now time.Time) (*Session, error) {
	var s Session
	err := scanSession(db.reader(ctx).QueryRowContext(ctx, `
		SELECT `+sessionColumns+` FROM sessions WHERE token_hash = ? AND expires_at > ?`, hash, millis(now)), &s)
	if err != nil {
		return nil, noRow(err, "read session")
	}
	return &s, nil
}

// Sessions lists the unexpired sessions, the most recently seen first.
func (db *DB) Sessions(ctx context.Context, now time.Time) ([]Session, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `
		SELECT `+sessionColumns+` FROM sessions WHERE expires_at > ?
		ORDER BY last_seen_at DESC, created_at DESC`, millis(now))
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var s Session
		if err := scanSession(rows, &s); err != nil {
			return nil, fmt.Errorf("store: list sessions: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// TouchSession records that the session was used now, from address.
func (db *DB) TouchSession(ctx context.Context, hash string, now time.Time, address string) error {
	_, err := db.exec(ctx, "touch session", `
		UPDATE sessions SET last_seen_at = ?, address = ? WHERE token_hash = ?`, millis(now), address, hash)
	return err
}

// DeleteSession ends a session (log out).
func (db *DB) DeleteSession(ctx context.Context, hash string) error {
	_, err := db.exec(ctx, "delete session", `DELETE FROM sessions WHERE token_hash = ?`, hash)
	return err
}

// DeleteAllSessions ends every session (log out everywhere) and reports
// how many there were.
func (db *DB) DeleteAllSessions(ctx context.Context) (int64, error) {
	res, err := db.exec(ctx, "delete all sessions", `DELETE FROM sessions`)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// DeleteExpiredSessions removes sessions past their expiry.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) error {
	_, err := db.exec(ctx, "delete expired sessions", `DELETE FROM sessions WHERE expires_at <= ?`, millis(now))
	return err
}

// LoginFailures is what the owner is told at their next login: how many
// wrong passwords were sent since the last one, when, and the address of
// the latest.
type LoginFailures struct {
	Count       int
	FirstAt     time.Time
	LastAt      time.Time
	LastAddress string
}

// AddLoginFailure counts one wrong password.
func (db *DB) AddLoginFailure(ctx context.Context, now time.Time, address string) error {
	_, err := db.exec(ctx, "count a failed login", `
		INSERT INTO login_failures (id, count, first_at, last_at, last_address) VALUES (1, 1, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET count = count + 1, last_at = excluded.last_at, last_address = excluded.last_address`,
		millis(now), millis(now), address)
	return err
}

// TakeLoginFailures returns the wrong passwords counted since the last
// call, and starts counting afresh. Count is 0 when there were none.
func (db *DB) TakeLoginFailures(ctx context.Context) (LoginFailures, error) {
	var f LoginFailures
	err := db.Update(ctx, func(tx *Tx) error {
		var first, last int64
		err := tx.tx.QueryRowContext(ctx, `SELECT count, first_at, last_at, last_address FROM login_failures WHERE id = 1`).
			Scan(&f.Count, &first, &last, &f.LastAddress)
		if err == sql.ErrNoRows {
			return nil
		} else if err != nil {
			return fmt.Errorf("store: read failed logins: %w", err)
		}
		f.FirstAt, f.LastAt = fromMillis(first), fromMillis(last)
		if _, err := tx.tx.ExecContext(ctx, `DELETE FROM login_failures`); err != nil {
			return fmt.Errorf("store: reset failed logins: %w", err)
		}
		return nil
	})
	return f, err
}
