package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
)

// batch is one write transaction shared by every store call made with the
// context Batch hands out.
type batch struct {
	db      *DB
	tx      *sql.Tx
	open    atomic.Bool // false once Batch returned: a context kept past it is an ordinary one
	changes []Change    // told to the observer once the batch commits
	broken  error       // a failed unit had written: the batch must not commit
}

type batchKey struct{}

// inBatch returns the open batch of db that ctx carries, or nil.
func (db *DB) inBatch(ctx context.Context) *batch {
	b, _ := ctx.Value(batchKey{}).(*batch)
	if b == nil || b.db != db || !b.open.Load() {
		return nil
	}
	return b
}

// reader is where a read with ctx goes: the reader pool, or inside a batch
// its transaction, so that a read sees what the batch wrote before it.
func (db *DB) reader(ctx context.Context) querier {
	if b := db.inBatch(ctx); b != nil {
		return b.tx
	}
	return readPool{db.r}
}

// readPool is the reader pool as reads use it: a read that has begun runs
// to its end even when its context is cancelled (a visitor who left, a
// client that hung up); one asked for after the context ended fails at
// once, as before, so loops that stop on a cancelled context still stop.
// A query whose context can be cancelled starts two goroutines that watch
// the context while it runs, one in database/sql and one in the driver,
// and wakes them to finish: on a page of a dozen queries, most of a
// millisecond on a quiet two-core machine, where each wake-up rouses an
// idle CPU. Every read kith makes is bounded (a LIMIT, a bounded walk;
// the slowest, a ranked search, takes tens of milliseconds), so finishing
// one nobody waits for costs less than watching them all. Writes keep
// their cancellation.
type readPool struct{ db *sql.DB }

// unwatched is ctx without its cancellation, unless it has already ended.
func unwatched(ctx context.Context) context.Context {
	if ctx.Err() != nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

func (p readPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.db.QueryContext(unwatched(ctx), query, args...)
}

func (p readPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.db.QueryRowContext(unwatched(ctx), query, args...)
}

func (p readPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.db.ExecContext(unwatched(ctx), query, args...)
}

// writer is where a single write statement with ctx goes: the writer
// connection, or inside a batch its transaction (the batch holds the only
// writer connection: waiting for it would wait forever).
func (db *DB) writer(ctx context.Context) querier {
	if b := db.inBatch(ctx); b != nil {
		return b.tx
	}
	return db.w
}

// Batch runs fn in one write transaction that every store call made with
// the context fn receives joins: reads see the batch's own writes, Update
// runs inside it, and the observer hears of the changes once the whole
// batch commits. It commits when fn returns nil.
//
// Committing once for many small units of work saves what each commit
// costs (for the inbox worker, a third of its CPU: the WAL frames, the
// full-text index flush), at the price of holding the single writer for
// the whole batch: callers bound its length. The context must stay on the
// caller's goroutine: a transaction is one sequence of statements.
//
// A failed Update or Unit inside the batch must leave nothing behind. Most
// fail before they write; one that wrote cannot be undone alone, because
// a SAVEPOINT would make SQLite's full-text index flush at each unit and
// undo most of the gain. Batch then returns ErrBatchUndo, having committed
// nothing, and the caller handles the units again one by one.
func (db *DB) Batch(ctx context.Context, fn func(ctx context.Context) error) error {
	if db.inBatch(ctx) != nil {
		return fn(ctx)
	}
	b := &batch{db: db}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		b.tx = tx
		b.open.Store(true)
		defer b.open.Store(false)
		if err := fn(context.WithValue(ctx, batchKey{}, b)); err != nil {
			return err
		}
		return b.broken
	})
	if err != nil || len(b.changes) == 0 {
		return err
	}
	if obs := db.observer.Load(); obs != nil && *obs != nil {
		(*obs)(b.changes)
	}
	return nil
}

// ErrBatchUndo is returned by Batch when a unit of work failed after it
// had written: nothing of the batch was committed.
var ErrBatchUndo = errors.New("store: a failed unit of a batch had written; nothing committed")

// Unit runs fn as one unit of the batch ctx carries and returns fn's
// error. If fn, or an Update within it, failed after writing, the batch
// can no longer commit: Unit then returns an ErrBatchUndo, and so will
// Batch. Outside a batch it simply runs fn.
func (db *DB) Unit(ctx context.Context, fn func() error) error {
	b := db.inBatch(ctx)
	if b == nil {
		return fn()
	}
	err := b.unit(ctx, fn)
	if b.broken != nil {
		return b.broken // wraps fn's error too
	}
	return err
}

// unit runs fn in the batch, keeping its changes only if it succeeds.
func (b *batch) unit(ctx context.Context, fn func() error) error {
	n := len(b.changes)
	before, err := b.totalChanges(ctx)
	if err != nil {
		return err
	}
	if err := fn(); err != nil {
		b.changes = b.changes[:n]
		if after, cerr := b.totalChanges(ctx); cerr != nil || after != before {
			if b.broken == nil {
				b.broken = fmt.Errorf("%w (%w)", ErrBatchUndo, err)
			}
		}
		return err
	}
	return nil
}

// totalChanges counts the rows the connection has written so far.
func (b *batch) totalChanges(ctx context.Context) (int64, error) {
	var n int64
	if err := b.tx.QueryRowContext(ctx, "SELECT total_changes()").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: total changes: %w", err)
	}
	return n, nil
}
