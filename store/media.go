package store

import (
	"context"
	"fmt"
	"time"
)

// Media is an uploaded image, kept in the database with its preview.
type Media struct {
	ID            string
	MediaType     string
	Data          []byte
	Width         int
	Height        int
	Blurhash      string
	PreviewType   string
	Preview       []byte
	PreviewWidth  int
	PreviewHeight int
	CreatedAt     time.Time
}

// AddMedia stores an upload.
func (db *DB) AddMedia(ctx context.Context, m *Media) error {
	return addMedia(ctx, db.w, m)
}

// AddMedia stores media inside tx: an imported post and its images are
// stored together or not at all.
func (tx *Tx) AddMedia(ctx context.Context, m *Media) error {
	return addMedia(ctx, tx.tx, m)
}

func addMedia(ctx context.Context, q querier, m *Media) error {
	_, err := q.ExecContext(ctx, `
		INSERT INTO media (id, media_type, data, width, height, blurhash, preview_type, preview,
			preview_width, preview_height, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.MediaType, m.Data, m.Width, m.Height, m.Blurhash, m.PreviewType, m.Preview,
		m.PreviewWidth, m.PreviewHeight, millis(m.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: add media: %w", err)
	}
	return nil
}

// MediaByID returns an upload's metadata, without its bytes.
func (db *DB) MediaByID(ctx context.Context, id string) (*Media, error) {
	return mediaByID(ctx, db.reader(ctx), id)
}

// MediaByID returns an upload's metadata as seen inside tx.
func (tx *Tx) MediaByID(ctx context.Context, id string) (*Media, error) {
	return mediaByID(ctx, tx.tx, id)
}

func mediaByID(ctx context.Context, q querier, id string) (*Media, error) {
	var m Media
	var created int64
	err := q.QueryRowContext(ctx, `
		SELECT id, media_type, width, height, blurhash, preview_type, preview_width, preview_height, created_at
		FROM media WHERE id = ?`, id).Scan(
		&m.ID, &m.MediaType, &m.Width, &m.Height, &m.Blurhash, &m.PreviewType, &m.PreviewWidth,
		&m.PreviewHeight, &created)
	if err != nil {
		return nil, noRow(err, "read media")
	}
	m.CreatedAt = fromMillis(created)
	return &m, nil
}

// MediaData returns the bytes of an upload, or of its preview.
func (db *DB) MediaData(ctx context.Context, id string, preview bool) (data []byte, mediaType string, err error) {
	q := `SELECT data, media_type FROM media WHERE id = ?`
	if preview {
		q = `SELECT coalesce(preview, data), CASE WHEN preview IS NULL THEN media_type ELSE preview_type END FROM media WHERE id = ?`
	}
	if err := db.reader(ctx).QueryRowContext(ctx, q, id).Scan(&data, &mediaType); err != nil {
		return nil, "", noRow(err, "read media data")
	}
	return data, mediaType, nil
}

// DeleteUnusedMedia removes uploads older than cutoff that no post, avatar,
// header or scheduled post uses: abandoned drafts.
func (db *DB) DeleteUnusedMedia(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := db.exec(ctx, "delete unused media", `
		DELETE FROM media WHERE created_at < ?
		AND id NOT IN (SELECT media_id FROM attachments WHERE media_id IS NOT NULL)
		AND id NOT IN (SELECT coalesce(avatar_media_id, '') FROM account)
		AND id NOT IN (SELECT coalesce(header_media_id, '') FROM account)
		AND id NOT IN (SELECT media_id FROM scheduled_media)`, millis(cutoff))
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return res.RowsAffected()
}

// DeleteMedia removes uploads by id; a form that fails after storing some
// of its images uses it so that nothing of it is kept.
func (db *DB) DeleteMedia(ctx context.Context, ids ...string) error {
	return db.Update(ctx, func(tx *Tx) error {
		for _, id := range ids {
			if _, err := tx.tx.ExecContext(ctx, `DELETE FROM media WHERE id = ?`, id); err != nil {
				return fmt.Errorf("store: delete media: %w", err)
			}
		}
		return nil
	})
}

// CountMedia counts stored uploads.
func (db *DB) CountMedia(ctx context.Context) (int, error) {
	return countWhere(ctx, db.reader(ctx), `SELECT count(*) FROM media`)
}
