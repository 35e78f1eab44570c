package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/acme/autocert"
)

// CertCache keeps what golang.org/x/crypto/acme/autocert stores (the ACME
// account key, certificates with their private keys) in the autocert
// table, so that backups hold it. It implements autocert.Cache.
type CertCache struct{ db *DB }

var _ autocert.Cache = CertCache{}

// CertCache returns the database's certificate cache.
func (db *DB) CertCache() CertCache { return CertCache{db: db} }

// Get returns the data stored under name, or autocert.ErrCacheMiss.
func (c CertCache) Get(ctx context.Context, name string) ([]byte, error) {
	var data []byte
	err := c.db.reader(ctx).QueryRowContext(ctx, `SELECT data FROM autocert WHERE name = ?`, name).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, autocert.ErrCacheMiss
	}
	if err != nil {
		return nil, fmt.Errorf("store: read certificate cache: %w", err)
	}
	return data, nil
}

// Put stores data under name, replacing what was there.
func (c CertCache) Put(ctx context.Context, name string, data []byte) error {
	_, err := c.db.exec(ctx, "write certificate cache", `
		INSERT INTO autocert (name, data, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
		name, data, millis(time.Now()))
	return err
}

// Delete removes what is stored under name; a missing name is no error.
func (c CertCache) Delete(ctx context.Context, name string) error {
	_, err := c.db.exec(ctx, "delete from certificate cache", `DELETE FROM autocert WHERE name = ?`, name)
	return err
}
