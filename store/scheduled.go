package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ScheduledPost is a post the owner wrote to be published later: the draft
// as written, checked when it was scheduled and published by the scheduler
// when due.
type ScheduledPost struct {
	ID          string // NewID when scheduled
	ScheduledAt time.Time
	CreatedAt   time.Time
	Title       string
	Source      string
	Summary     string
	Sensitive   bool
	Visibility  string
	Language    string
	InReplyTo   string   // the IRI answered, if any
	MediaIDs    []string // uploads, in order
	// MediaAlts are the descriptions written with MediaIDs, one each; ""
	// leaves the upload's own note, read when the post is published.
	MediaAlts []string
	Poll      *ScheduledPoll
	// Key is the client's idempotency key, stored hashed: the same key
	// schedules once. Empty for none.
	Key string
}

// ScheduledPoll is the poll of a scheduled post.
type ScheduledPoll struct {
	Options    []string
	Duration   time.Duration
	Multiple   bool
	HideTotals bool
}

// scheduledColumns are read by scanScheduled, in its order.
const scheduledColumns = `id, scheduled_at, created_at, title, source, summary, sensitive, visibility, language,
	in_reply_to, poll_options, poll_seconds, poll_multiple, poll_hide_totals`

func scanScheduled(row interface{ Scan(...any) error }) (*ScheduledPost, error) {
	var p ScheduledPost
	var at, created, secs int64
	var options sql.NullString
	var multiple, hide bool
	if err := row.Scan(&p.ID, &at, &created, &p.Title, &p.Source, &p.Summary, &p.Sensitive, &p.Visibility,
		&p.Language, &p.InReplyTo, &options, &secs, &multiple, &hide); err != nil {
		return nil, err
	}
	p.ScheduledAt, p.CreatedAt = fromMillis(at), fromMillis(created)
	if options.Valid {
		p.Poll = &ScheduledPoll{Duration: time.Duration(secs) * time.Second, Multiple: multiple, HideTotals: hide}
		if err := json.Unmarshal([]byte(options.String), &p.Poll.Options); err != nil {
			return nil, fmt.Errorf("poll options: %w", err)
		}
	}
	return &p, nil
}

// ScheduledPostByKey returns the post scheduled with the idempotency key,
// or ErrNotFound.
func (tx *Tx) ScheduledPostByKey(ctx context.Context, key string) (*ScheduledPost, error) {
	p, err := scanScheduled(tx.tx.QueryRowContext(ctx, `SELECT `+scheduledColumns+` FROM scheduled_posts WHERE key_hash = ?`,
		HashSecret(key)))
	if err != nil {
		return nil, noRow(err, "read scheduled post")
	}
	return p, loadScheduledMedia(ctx, tx.tx, []*ScheduledPost{p})
}

// CountScheduledPosts counts the posts waiting, and those of them due in
// [dayStart, dayStart+24h) other than except: the bounds Mastodon sets.
func (tx *Tx) CountScheduledPosts(ctx context.Context, dayStart time.Time, except string) (total, day int, err error) {
	err = tx.tx.QueryRowContext(ctx, `SELECT count(*),
		count(*) FILTER (WHERE scheduled_at >= ? AND scheduled_at < ? AND id != ?) FROM scheduled_posts`,
		millis(dayStart), millis(dayStart.Add(24*time.Hour)), except).Scan(&total, &day)
	if err != nil {
		return 0, 0, fmt.Errorf("store: count scheduled posts: %w", err)
	}
	return total, day, nil
}

// AddScheduledPost stores a post to publish at p.ScheduledAt.
func (tx *Tx) AddScheduledPost(ctx context.Context, p *ScheduledPost) error {
	var options any
	var secs int64
	var multiple, hide bool
	if p.Poll != nil {
		b, err := json.Marshal(p.Poll.Options)
		if err != nil {
			return fmt.Errorf("store: add scheduled post: %w", err)
		}
		options, secs, multiple, hide = string(b), int64(p.Poll.Duration/time.Second), p.Poll.Multiple, p.Poll.HideTotals
	}
	var key any
	if p.Key != "" {
		key = HashSecret(p.Key)
	}
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO scheduled_posts (id, scheduled_at, created_at, title, source, summary,
		sensitive, visibility, language, in_reply_to, poll_options, poll_seconds, poll_multiple, poll_hide_totals, key_hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, millis(p.ScheduledAt), millis(p.CreatedAt), p.Title, p.Source, p.Summary, p.Sensitive, p.Visibility,
		p.Language, p.InReplyTo, options, secs, multiple, hide, key)
	if err != nil {
		return fmt.Errorf("store: add scheduled post: %w", err)
	}
	for i, id := range p.MediaIDs {
		alt := ""
		if i < len(p.MediaAlts) {
			alt = p.MediaAlts[i]
		}
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO scheduled_media (scheduled_id, position, media_id) VALUES (?, ?, ?)`,
			p.ID, i, id); err != nil {
			return fmt.Errorf("store: add scheduled post: %w", err)
		}
		if alt == "" {
			continue
		}
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO scheduled_media_alts (scheduled_id, position, description) VALUES (?, ?, ?)`,
			p.ID, i, alt); err != nil {
			return fmt.Errorf("store: add scheduled post: %w", err)
		}
	}
	return nil
}

// ScheduledPost returns one scheduled post, or ErrNotFound.
func (db *DB) ScheduledPost(ctx context.Context, id string) (*ScheduledPost, error) {
	p, err := scanScheduled(db.reader(ctx).QueryRowContext(ctx, `SELECT `+scheduledColumns+` FROM scheduled_posts WHERE id = ?`, id))
	if err != nil {
		return nil, noRow(err, "read scheduled post")
	}
	return p, loadScheduledMedia(ctx, db.reader(ctx), []*ScheduledPost{p})
}

// ScheduledPosts returns a page of the scheduled posts, newest scheduled
// first (by id, as Mastodon pages them).
func (db *DB) ScheduledPosts(ctx context.Context, pg Page) ([]*ScheduledPost, error) {
	where, args, order, reverse := pg.where("id", []string{"1"}, nil)
	args = append(args, pg.limit())
	return db.scheduledWhere(ctx, strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT ?`, reverse, args...)
}

// DueScheduledPosts returns at most n posts scheduled at or before now,
// the earliest first.
func (db *DB) DueScheduledPosts(ctx context.Context, now time.Time, n int) ([]*ScheduledPost, error) {
	return db.scheduledWhere(ctx, `scheduled_at <= ? ORDER BY scheduled_at, id LIMIT ?`, false, millis(now), n)
}

func (db *DB) scheduledWhere(ctx context.Context, where string, reverse bool, args ...any) ([]*ScheduledPost, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+scheduledColumns+` FROM scheduled_posts WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: scheduled posts: %w", err)
	}
	defer rows.Close()
	var out []*ScheduledPost
	for rows.Next() {
		p, err := scanScheduled(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scheduled posts: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: scheduled posts: %w", err)
	}
	if reverse {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, loadScheduledMedia(ctx, db.reader(ctx), out)
}

// loadScheduledMedia fills in the posts' uploads.
func loadScheduledMedia(ctx context.Context, q querier, posts []*ScheduledPost) error {
	if len(posts) == 0 {
		return nil
	}
	byID := map[string]*ScheduledPost{}
	args := make([]any, len(posts))
	for i, p := range posts {
		byID[p.ID] = p
		args[i] = p.ID
	}
	rows, err := q.QueryContext(ctx, `SELECT m.scheduled_id, m.media_id, coalesce(a.description, '') FROM scheduled_media m
		LEFT JOIN scheduled_media_alts a ON a.scheduled_id = m.scheduled_id AND a.position = m.position
		WHERE m.scheduled_id IN (`+placeholders(len(args))+`) ORDER BY m.scheduled_id, m.position`, args...)
	if err != nil {
		return fmt.Errorf("store: scheduled media: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sid, mid, alt string
		if err := rows.Scan(&sid, &mid, &alt); err != nil {
			return fmt.Errorf("store: scheduled media: %w", err)
		}
		p := byID[sid]
		p.MediaIDs, p.MediaAlts = append(p.MediaIDs, mid), append(p.MediaAlts, alt)
	}
	return rows.Err()
}

// NextScheduledAt returns when the earliest scheduled post is due; ok is
// false when none waits.
func (db *DB) NextScheduledAt(ctx context.Context) (at time.Time, ok bool, err error) {
	var ms sql.NullInt64
	if err := db.reader(ctx).QueryRowContext(ctx, `SELECT min(scheduled_at) FROM scheduled_posts`).Scan(&ms); err != nil {
		return time.Time{}, false, fmt.Errorf("store: next scheduled post: %w", err)
	}
	return nullMillis(ms), ms.Valid, nil
}

// Reschedule moves a scheduled post to at.
func (tx *Tx) Reschedule(ctx context.Context, id string, at time.Time) error {
	res, err := tx.tx.ExecContext(ctx, `UPDATE scheduled_posts SET scheduled_at = ? WHERE id = ?`, millis(at), id)
	if err != nil {
		return fmt.Errorf("store: reschedule: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteScheduledPost removes a scheduled post (cancelled, or published in
// the same transaction), or answers ErrNotFound when it is gone already:
// the publisher relies on that to publish it once.
func (tx *Tx) DeleteScheduledPost(ctx context.Context, id string) error {
	res, err := tx.tx.ExecContext(ctx, `DELETE FROM scheduled_posts WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete scheduled post: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: delete scheduled post %s: %w", id, ErrNotFound)
	}
	return nil
}

// ScheduleOffset returns the owner's offset from UTC in minutes, as last
// chosen when scheduling a post on the compose page; 0 until then.
func (db *DB) ScheduleOffset(ctx context.Context) (int, error) {
	var v int
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT CAST(value AS INTEGER) FROM settings WHERE name = 'schedule_utc_offset'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("store: read schedule offset: %w", err)
	}
	return v, nil
}

// SetScheduleOffset remembers the owner's offset from UTC in minutes.
func (db *DB) SetScheduleOffset(ctx context.Context, minutes int) error {
	_, err := db.exec(ctx, "set schedule offset", `INSERT INTO settings (name, value) VALUES ('schedule_utc_offset', ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, strconv.Itoa(minutes))
	return err
}
