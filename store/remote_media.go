package store

import (
	"context"
	"fmt"
	"time"
)

// RemoteMedia is a remote image cached for public pages.
type RemoteMedia struct {
	URL       string
	MediaType string
	Data      []byte
	FetchedAt time.Time
	UsedAt    time.Time // last served, to the hour (TouchRemoteMedia)
}

// PutRemoteMedia caches a remote image, as used when it was fetched.
func (db *DB) PutRemoteMedia(ctx context.Context, m RemoteMedia) error {
	_, err := db.exec(ctx, "put remote media", `INSERT INTO remote_media (url, media_type, data, fetched_at, used_at, size)
		VALUES (?1, ?2, ?3, ?4, ?4, ?5)
		ON CONFLICT (url) DO UPDATE SET media_type = excluded.media_type, data = excluded.data,
			fetched_at = excluded.fetched_at, used_at = excluded.used_at, size = excluded.size`,
		m.URL, m.MediaType, m.Data, millis(m.FetchedAt), len(m.Data))
	return err
}

// RemoteMediaByURL returns a cached remote image.
func (db *DB) RemoteMediaByURL(ctx context.Context, url string) (*RemoteMedia, error) {
	m := RemoteMedia{URL: url}
	var fetched, used int64
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT media_type, data, fetched_at, used_at FROM remote_media WHERE url = ?`, url).
		Scan(&m.MediaType, &m.Data, &fetched, &used)
	if err != nil {
		return nil, noRow(err, "read remote media")
	}
	m.FetchedAt, m.UsedAt = fromMillis(fetched), fromMillis(used)
	return &m, nil
}

// TouchRemoteMedia records that a cached image was served at now, which
// keeps it from eviction longest. Callers touch an image at most once an
// hour, so that serving images stays a read and not a write each time.
func (db *DB) TouchRemoteMedia(ctx context.Context, url string, now time.Time) error {
	_, err := db.exec(ctx, "touch remote media", `UPDATE remote_media SET used_at = ? WHERE url = ?`, millis(now), url)
	return err
}

// Eviction is what one EvictRemoteMedia batch removed.
type Eviction struct {
	Images int
	Bytes  int64
	Over   bool // the cache is still over its limit: another batch is due
}

// EvictRemoteMedia removes the least recently used cached images, at most
// batch of them, until the cache holds limit bytes or fewer. One batch is
// one short write transaction; evicted images are fetched again when a
// page shows them next.
func (db *DB) EvictRemoteMedia(ctx context.Context, limit int64, batch int) (Eviction, error) {
	var ev Eviction
	err := db.Update(ctx, func(tx *Tx) error {
		var total int64
		if err := tx.tx.QueryRowContext(ctx, `SELECT coalesce(sum(size), 0) FROM remote_media`).Scan(&total); err != nil {
			return fmt.Errorf("store: evict remote media: %w", err)
		}
		if total <= limit {
			return nil
		}
		rows, err := tx.tx.QueryContext(ctx, `SELECT url, size FROM remote_media ORDER BY used_at LIMIT ?`, batch)
		if err != nil {
			return fmt.Errorf("store: evict remote media: %w", err)
		}
		var urls []any
		for rows.Next() && total-ev.Bytes > limit {
			var url string
			var size int64
			if err := rows.Scan(&url, &size); err != nil {
				rows.Close()
				return fmt.Errorf("store: evict remote media: %w", err)
			}
			urls = append(urls, url)
			ev.Bytes += size
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(urls) == 0 {
			return err
		}
		if _, err := tx.tx.ExecContext(ctx, `DELETE FROM remote_media WHERE url IN (`+placeholders(len(urls))+`)`, urls...); err != nil {
			return fmt.Errorf("store: evict remote media: %w", err)
		}
		ev.Images = len(urls)
		ev.Over = total-ev.Bytes > limit
		return nil
	})
	if err != nil {
		return Eviction{}, err
	}
	return ev, nil
}
