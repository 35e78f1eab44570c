package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Signature schemes a host may be known to accept (host_signatures).
const (
	SignatureUnknown = ""
	SignatureRFC9421 = "rfc9421"
	SignatureCavage  = "cavage"
)

// HostSignature returns the signature scheme host is known to accept, or
// SignatureUnknown.
func (db *DB) HostSignature(ctx context.Context, host string) (string, error) {
	var s string
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT scheme FROM host_signatures WHERE host = ?`, strings.ToLower(host)).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return SignatureUnknown, nil
	} else if err != nil {
		return "", fmt.Errorf("store: read host signature: %w", err)
	}
	return s, nil
}

// SetHostSignature records the signature scheme host accepted.
func (db *DB) SetHostSignature(ctx context.Context, host, scheme string) error {
	_, err := db.writer(ctx).ExecContext(ctx, `
		INSERT INTO host_signatures (host, scheme) VALUES (?, ?)
		ON CONFLICT (host) DO UPDATE SET scheme = excluded.scheme`, strings.ToLower(host), scheme)
	if err != nil {
		return fmt.Errorf("store: record host signature: %w", err)
	}
	return nil
}

// AuthorizedFetch reports whether the owner asked for ActivityPub
// documents to be served only to signed requests ("authorized fetch").
func (db *DB) AuthorizedFetch(ctx context.Context) (bool, error) {
	var v string
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT value FROM settings WHERE name = 'authorized_fetch'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("store: read authorized fetch: %w", err)
	}
	return v == "1", nil
}

// SetAuthorizedFetch turns authorized fetch on or off.
func (db *DB) SetAuthorizedFetch(ctx context.Context, on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	_, err := db.writer(ctx).ExecContext(ctx, `
		INSERT INTO settings (name, value) VALUES ('authorized_fetch', ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, v)
	if err != nil {
		return fmt.Errorf("store: set authorized fetch: %w", err)
	}
	return nil
}
