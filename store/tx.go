package store

import (
	"context"
	"database/sql"
	"fmt"
)

// querier is what both the reader pool and a write transaction offer, so a
// lookup can be written once and used inside or outside a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Tx is one write transaction. Its methods let a caller combine several
// writes (a follower and the Accept that answers it, a post and its
// deliveries) so that all happen or none do.
type Tx struct {
	tx      *sql.Tx
	changes []Change // told to the DB's observer after the commit
}

// Update runs fn in one write transaction (BEGIN IMMEDIATE), committing when
// fn returns nil.
func (db *DB) Update(ctx context.Context, fn func(tx *Tx) error) error {
	return db.update(ctx, fn)
}

// exec runs one statement on the writer connection outside any explicit
// transaction.
func (db *DB) exec(ctx context.Context, what, query string, args ...any) (sql.Result, error) {
	res, err := db.writer(ctx).ExecContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return res, nil
}
