package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// IsBookmarked reports whether the owner bookmarked the post, so that an
// import of bookmarks.csv can tell a new bookmark from one in place.
func (db *DB) IsBookmarked(ctx context.Context, postID int64) (bool, error) {
	n, err := countWhere(ctx, db.reader(ctx), `SELECT count(*) FROM bookmarks WHERE post_id = ?`, postID)
	return n > 0, err
}

// ImportedAs returns the IRI here of the post that was originIRI on
// the old server, or "" when it was not imported.
func (tx *Tx) ImportedAs(ctx context.Context, originIRI string) (string, error) {
	return importedAs(ctx, tx.tx, originIRI)
}

// ImportedAs is ImportedAs outside a transaction: an import asks it
// before it reads a post's media, so that a second import of the same
// archive reads none.
func (db *DB) ImportedAs(ctx context.Context, originIRI string) (string, error) {
	return importedAs(ctx, db.reader(ctx), originIRI)
}

func importedAs(ctx context.Context, q querier, originIRI string) (string, error) {
	var iri string
	err := q.QueryRowContext(ctx, `SELECT p.iri FROM imported_posts i JOIN posts p ON p.id = i.post_id
		WHERE i.origin_iri = ?`, originIRI).Scan(&iri)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: imported post: %w", err)
	}
	return iri, nil
}

// MarkImported records that the post postID came from originIRI on
// another server.
func (tx *Tx) MarkImported(ctx context.Context, postID int64, originIRI string, now time.Time) error {
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO imported_posts (post_id, origin_iri, imported_at) VALUES (?, ?, ?)`,
		postID, originIRI, millis(now))
	if err != nil {
		return fmt.Errorf("store: mark imported: %w", err)
	}
	return nil
}

// CountImported counts the imported posts.
func (db *DB) CountImported(ctx context.Context) (int, error) {
	return countWhere(ctx, db.reader(ctx), `SELECT count(*) FROM imported_posts`)
}
