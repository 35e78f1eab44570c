package store

import (
	"context"
	"database/sql"
	"sync/atomic"
)

// Kinds of Change.
const (
	ChangePost         = "post"         // a post was stored, new or edited
	ChangeHome         = "home"         // a post or a boost joined the home timeline
	ChangeDelete       = "delete"       // a post was deleted
	ChangeNotification = "notification" // the owner has a new notification
)

// Change is a write that someone following the server live (the client
// API's streams, Web Push) may want to hear of. The transaction that makes
// it records it, and Update hands it to the observer once committed, so
// that no one hears of a write that was rolled back and the code that
// writes posts and notifications needs no call of its own.
type Change struct {
	Kind   string
	PostID int64  // the post (ChangePost, ChangeHome)
	SID    string // the post's or home entry's sid; the notification's id
	Local  bool   // the post is the owner's (ChangePost)
	Edited bool   // the post was edited rather than first stored (ChangePost)
}

// Observe sets the function that hears of every committed Change (nil
// for none). It is called after the commit, on the writer's goroutine, so
// it must not block.
func (db *DB) Observe(fn func([]Change)) {
	db.observer.Store(&fn)
}

// changed records a Change of the transaction.
func (tx *Tx) changed(c Change) { tx.changes = append(tx.changes, c) }

// observerOf is the DB's observer, or nil.
type observerOf = atomic.Pointer[func([]Change)]

// update runs fn in one write transaction and tells the observer of its
// changes once committed.
func (db *DB) update(ctx context.Context, fn func(tx *Tx) error) error {
	if b := db.inBatch(ctx); b != nil {
		// Inside a batch: its changes wait for the batch's commit.
		t := &Tx{tx: b.tx}
		return b.unit(ctx, func() error {
			if err := fn(t); err != nil {
				return err
			}
			b.changes = append(b.changes, t.changes...)
			return nil
		})
	}
	var t *Tx
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		t = &Tx{tx: tx}
		return fn(t)
	})
	if err != nil || len(t.changes) == 0 {
		return err
	}
	if obs := db.observer.Load(); obs != nil && *obs != nil {
		(*obs)(t.changes)
	}
	return nil
}
