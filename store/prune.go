package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"
)

// PruneBatch is what one batch of PruneRemotePosts removed.
type PruneBatch struct {
	Posts, Media int
}

// PruneRemotePosts deletes at most batch remote posts published before
// cutoff that the owner (the actor IRI owner) has kept no tie to: not
// liked, boosted, bookmarked, replied to or quoted by them, not mentioning
// them, not a reply to one of their posts. The cached media only those
// posts used goes with them. Our own posts are never candidates. One
// batch is one short write transaction, so that the inbox never waits
// long behind it. The candidates are read oldest first from
// posts_remote_published, named here because on a fresh database without
// statistics SQLite preferred the local_id index and sorted every remote
// post at each start.
func (db *DB) PruneRemotePosts(ctx context.Context, owner string, cutoff time.Time, batch int) (PruneBatch, error) {
	var res PruneBatch
	err := db.Update(ctx, func(tx *Tx) error {
		rows, err := tx.tx.QueryContext(ctx, `SELECT p.id, p.iri FROM posts p INDEXED BY posts_remote_published
			WHERE p.local_id IS NULL AND p.published < ?1
			AND NOT EXISTS (SELECT 1 FROM likes l WHERE l.post_id = p.id AND l.actor_iri = ?2)
			AND NOT EXISTS (SELECT 1 FROM boosts b WHERE b.post_id = p.id AND b.actor_iri = ?2)
			AND NOT EXISTS (SELECT 1 FROM bookmarks k WHERE k.post_id = p.id)
			AND NOT EXISTS (SELECT 1 FROM mentions m WHERE m.post_id = p.id AND m.actor_iri = ?2)
			AND NOT EXISTS (SELECT 1 FROM posts r WHERE r.in_reply_to = p.iri AND r.in_reply_to != '' AND r.local_id IS NOT NULL)
			AND NOT EXISTS (SELECT 1 FROM posts q WHERE q.quote_iri = p.iri AND q.quote_iri != '' AND q.local_id IS NOT NULL)
			AND NOT EXISTS (SELECT 1 FROM posts o WHERE o.iri = p.in_reply_to AND p.in_reply_to != '' AND o.local_id IS NOT NULL)
			ORDER BY p.published LIMIT ?3`, millis(cutoff), owner, batch)
		if err != nil {
			return fmt.Errorf("store: prune candidates: %w", err)
		}
		var ids []any
		var iris []any
		for rows.Next() {
			var id int64
			var iri string
			if err := rows.Scan(&id, &iri); err != nil {
				rows.Close()
				return fmt.Errorf("store: prune candidates: %w", err)
			}
			ids, iris = append(ids, id), append(iris, iri)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(ids) == 0 {
			return err
		}
		in := placeholders(len(ids))
		var urls []any
		urlRows, err := tx.tx.QueryContext(ctx, `SELECT DISTINCT url FROM attachments WHERE post_id IN (`+in+`) AND url != ''`, ids...)
		if err != nil {
			return fmt.Errorf("store: prune media: %w", err)
		}
		for urlRows.Next() {
			var u string
			if err := urlRows.Scan(&u); err != nil {
				urlRows.Close()
				return fmt.Errorf("store: prune media: %w", err)
			}
			urls = append(urls, u)
		}
		urlRows.Close()
		r, err := tx.tx.ExecContext(ctx, `DELETE FROM posts WHERE id IN (`+in+`) AND local_id IS NULL`, ids...)
		if err != nil {
			return fmt.Errorf("store: prune posts: %w", err)
		}
		n, _ := r.RowsAffected()
		res.Posts = int(n)
		if _, err := tx.tx.ExecContext(ctx, `DELETE FROM thread_fetches WHERE iri IN (`+in+`)`, iris...); err != nil {
			return fmt.Errorf("store: prune threads: %w", err)
		}
		if len(urls) > 0 {
			// Media another stored post still shows stays.
			r, err := tx.tx.ExecContext(ctx, `DELETE FROM remote_media WHERE url IN (`+placeholders(len(urls))+`)
				AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.url = remote_media.url AND a.url != '')`, urls...)
			if err != nil {
				return fmt.Errorf("store: prune media: %w", err)
			}
			n, _ := r.RowsAffected()
			res.Media = int(n)
		}
		return nil
	})
	return res, err
}

// PruneRun is one round of pruning, as the status page lists it.
type PruneRun struct {
	At     time.Time
	Cutoff time.Time
	Posts  int
	Media  int
}

// maxPruneRuns is how many rounds are remembered.
const maxPruneRuns = 20

// AddPruneRun records a round of pruning and forgets the oldest rounds.
func (db *DB) AddPruneRun(ctx context.Context, r PruneRun) error {
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO prune_runs (at, cutoff, posts, media) VALUES (?, ?, ?, ?)`,
			millis(r.At), millis(r.Cutoff), r.Posts, r.Media); err != nil {
			return fmt.Errorf("store: add prune run: %w", err)
		}
		_, err := tx.tx.ExecContext(ctx, `DELETE FROM prune_runs WHERE id <= (SELECT id FROM prune_runs ORDER BY id DESC LIMIT 1 OFFSET ?)`, maxPruneRuns)
		if err != nil {
			return fmt.Errorf("store: add prune run: %w", err)
		}
		return nil
	})
}

// PruneRuns returns the remembered rounds of pruning, newest first.
func (db *DB) PruneRuns(ctx context.Context) ([]PruneRun, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT at, cutoff, posts, media FROM prune_runs ORDER BY id DESC LIMIT ?`, maxPruneRuns)
	if err != nil {
		return nil, fmt.Errorf("store: prune runs: %w", err)
	}
	defer rows.Close()
	var out []PruneRun
	for rows.Next() {
		var r PruneRun
		var at, cutoff int64
		if err := rows.Scan(&at, &cutoff, &r.Posts, &r.Media); err != nil {
			return nil, fmt.Errorf("store: prune runs: %w", err)
		}
		r.At, r.Cutoff = fromMillis(at), fromMillis(cutoff)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Size is how much room the database takes.
type Size struct {
	File int64 // page_count × page_size: the main file
	WAL  int64 // the write-ahead log beside it
	Free int64 // pages in the file that hold nothing, reused before it grows
}

// Size measures the database file and its write-ahead log.
func (db *DB) Size(ctx context.Context) (Size, error) {
	var s Size
	var pages, pageSize, free int64
	for _, q := range []struct {
		pragma string
		dest   *int64
	}{{"PRAGMA page_count", &pages}, {"PRAGMA page_size", &pageSize}, {"PRAGMA freelist_count", &free}} {
		if err := db.reader(ctx).QueryRowContext(ctx, q.pragma).Scan(q.dest); err != nil {
			return s, fmt.Errorf("store: size: %w", err)
		}
	}
	s.File, s.Free = pages*pageSize, free*pageSize
	s.WAL = fileSize(db.path + "-wal")
	return s, nil
}

// fileSize is the size of a file, 0 when it does not exist.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// Stats are the numbers the owner's status page shows. Each is a count
// over a table or an index: fine for a page the owner opens now and then,
// not for a hot path.
type Stats struct {
	LocalPosts, RemotePosts, Actors    int
	RemoteMedia                        int
	RemoteMediaBytes                   int64
	DeliveriesQueued, InboxUnprocessed int
}

// Stats counts what is stored and queued.
func (db *DB) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	var mediaBytes sql.NullInt64
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM posts WHERE local_id IS NOT NULL),
		(SELECT count(*) FROM posts WHERE local_id IS NULL),
		(SELECT count(*) FROM actors),
		(SELECT count(*) FROM remote_media),
		(SELECT sum(size) FROM remote_media), -- from the index remote_media_used, not the blobs
		(SELECT count(*) FROM deliveries),
		(SELECT count(*) FROM inbox WHERE processed_at IS NULL)`).Scan(
		&s.LocalPosts, &s.RemotePosts, &s.Actors, &s.RemoteMedia, &mediaBytes, &s.DeliveriesQueued, &s.InboxUnprocessed)
	if err != nil {
		return s, fmt.Errorf("store: stats: %w", err)
	}
	s.RemoteMediaBytes = mediaBytes.Int64
	return s, nil
}
