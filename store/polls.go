package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Poll is a Question's options and counts, and the owner's votes.
type Poll struct {
	Multiple    bool
	HideTotals  bool      // the counts stay hidden until the poll ends (the owner's polls only)
	ExpiresAt   time.Time // zero: no end given
	ClosedAt    time.Time // zero: open
	VotersCount int       // -1 when the server does not say
	VotedAt     time.Time // when the owner voted; zero if they did not
	UpdatedAt   time.Time
	Options     []PollOption
}

// PollOption is one choice of a poll.
type PollOption struct {
	Title   string
	Votes   int
	OwnVote bool
}

// Expired reports whether the poll takes no more votes at now.
func (p *Poll) Expired(now time.Time) bool {
	return !p.ClosedAt.IsZero() || (!p.ExpiresAt.IsZero() && !now.Before(p.ExpiresAt))
}

// ShowTotals reports whether the options' counts may be shown at now: a
// poll that hides its totals shows them once it has ended, as Mastodon's
// do.
func (p *Poll) ShowTotals(now time.Time) bool { return !p.HideTotals || p.Expired(now) }

// Voted reports whether the owner voted.
func (p *Poll) Voted() bool { return !p.VotedAt.IsZero() }

// TotalVotes is the sum of the options' votes.
func (p *Poll) TotalVotes() int {
	n := 0
	for _, o := range p.Options {
		n += o.Votes
	}
	return n
}

// PutPoll stores the poll of a post, keeping the owner's votes when the
// options keep their titles (a count update), and dropping them when the
// options changed (an edit that rewrote the poll).
func (tx *Tx) PutPoll(ctx context.Context, postID int64, p *Poll) error {
	var voters any
	if p.VotersCount >= 0 {
		voters = p.VotersCount
	}
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO polls (post_id, multiple, expires_at, closed_at, voters_count, updated_at, hide_totals)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (post_id) DO UPDATE SET multiple = excluded.multiple, expires_at = excluded.expires_at,
			closed_at = excluded.closed_at, voters_count = excluded.voters_count, updated_at = excluded.updated_at,
			hide_totals = excluded.hide_totals`,
		postID, p.Multiple, optMillis(p.ExpiresAt), optMillis(p.ClosedAt), voters, millis(p.UpdatedAt), p.HideTotals)
	if err != nil {
		return fmt.Errorf("store: put poll: %w", err)
	}
	old := map[string]bool{}
	rows, err := tx.tx.QueryContext(ctx, `SELECT title, own_vote FROM poll_options WHERE post_id = ?`, postID)
	if err != nil {
		return fmt.Errorf("store: put poll: %w", err)
	}
	var titles []string
	for rows.Next() {
		var t string
		var own bool
		if err := rows.Scan(&t, &own); err != nil {
			rows.Close()
			return fmt.Errorf("store: put poll: %w", err)
		}
		old[t] = own
		titles = append(titles, t)
	}
	rows.Close()
	same := len(titles) == len(p.Options)
	for i := 0; same && i < len(titles); i++ {
		same = titles[i] == p.Options[i].Title
	}
	if _, err := tx.tx.ExecContext(ctx, `DELETE FROM poll_options WHERE post_id = ?`, postID); err != nil {
		return fmt.Errorf("store: put poll: %w", err)
	}
	for i, o := range p.Options {
		own := same && old[o.Title]
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO poll_options (post_id, position, title, votes, own_vote)
			VALUES (?, ?, ?, ?, ?)`, postID, i, o.Title, o.Votes, own); err != nil {
			return fmt.Errorf("store: put poll: %w", err)
		}
	}
	if !same {
		if _, err := tx.tx.ExecContext(ctx, `UPDATE polls SET voted_at = NULL WHERE post_id = ?`, postID); err != nil {
			return fmt.Errorf("store: put poll: %w", err)
		}
	}
	return nil
}

// RecordVote records the owner's choices in a poll and counts them, so the
// results show at once (the next Update from the author corrects them).
func (tx *Tx) RecordVote(ctx context.Context, postID int64, choices []int, now time.Time) error {
	for _, c := range choices {
		res, err := tx.tx.ExecContext(ctx, `UPDATE poll_options SET own_vote = 1, votes = votes + 1
			WHERE post_id = ? AND position = ? AND NOT own_vote`, postID, c)
		if err != nil {
			return fmt.Errorf("store: vote: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: vote: no option %d", c)
		}
	}
	_, err := tx.tx.ExecContext(ctx, `UPDATE polls SET voted_at = ?, voters_count = voters_count + 1 WHERE post_id = ?`,
		millis(now), postID)
	if err != nil {
		return fmt.Errorf("store: vote: %w", err)
	}
	return nil
}

// PollOf returns the poll of a post.
func (db *DB) PollOf(ctx context.Context, postID int64) (*Poll, error) {
	p := &Post{ID: postID}
	if err := loadPolls(ctx, db.reader(ctx), map[int64]*Post{postID: p}, []any{postID}); err != nil {
		return nil, err
	}
	if p.Poll == nil {
		return nil, ErrNotFound
	}
	return p.Poll, nil
}

func loadPolls(ctx context.Context, q querier, byID map[int64]*Post, args []any) error {
	in := placeholders(len(args))
	rows, err := q.QueryContext(ctx, `SELECT post_id, multiple, coalesce(expires_at, 0), coalesce(closed_at, 0),
		coalesce(voters_count, -1), coalesce(voted_at, 0), updated_at, hide_totals FROM polls WHERE post_id IN (`+in+`)`, args...)
	if err != nil {
		return fmt.Errorf("store: polls: %w", err)
	}
	var polled []any
	for rows.Next() {
		var id, exp, closed, voted, updated int64
		p := &Poll{}
		if err := rows.Scan(&id, &p.Multiple, &exp, &closed, &p.VotersCount, &voted, &updated, &p.HideTotals); err != nil {
			rows.Close()
			return fmt.Errorf("store: polls: %w", err)
		}
		p.ExpiresAt, p.ClosedAt, p.VotedAt, p.UpdatedAt = fromMillis(exp), fromMillis(closed), fromMillis(voted), fromMillis(updated)
		if post := byID[id]; post != nil {
			post.Poll = p // shared with its other copies on the page (loadViews)
		}
		polled = append(polled, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: polls: %w", err)
	}
	if len(polled) == 0 {
		// Options are only read for a poll found (they go in its Poll,
		// below), and a page of posts seldom has one: a query saved.
		return nil
	}
	polled = padIn(polled)
	rows, err = q.QueryContext(ctx, `SELECT post_id, title, votes, own_vote FROM poll_options
		WHERE post_id IN (`+placeholders(len(polled))+`) ORDER BY post_id, position`, polled...)
	if err != nil {
		return fmt.Errorf("store: poll options: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var o PollOption
		if err := rows.Scan(&id, &o.Title, &o.Votes, &o.OwnVote); err != nil {
			return fmt.Errorf("store: poll options: %w", err)
		}
		if post := byID[id]; post != nil && post.Poll != nil {
			post.Poll.Options = append(post.Poll.Options, o)
		}
	}
	return rows.Err()
}

// Edit is an earlier version of an edited post.
type Edit struct {
	Title, Summary string
	Sensitive      bool
	ContentHTML    string
	Attachments    []Attachment
	PollOptions    []string
	CreatedAt      time.Time // when this version was written
}

// AddEdit keeps the version of a post that an edit replaces.
func (tx *Tx) AddEdit(ctx context.Context, old *Post) error {
	atts, _ := json.Marshal(old.Attachments)
	var opts []string
	if old.Poll != nil {
		for _, o := range old.Poll.Options {
			opts = append(opts, o.Title)
		}
	}
	optsJSON, _ := json.Marshal(opts)
	if opts == nil {
		optsJSON = []byte("[]")
	}
	if old.Attachments == nil {
		atts = []byte("[]")
	}
	written := old.Updated
	if written.IsZero() {
		written = old.Published
	}
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO post_edits (post_id, title, summary, sensitive, content_html,
		attachments, poll_options, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		old.ID, old.Title, old.Summary, old.Sensitive, old.ContentHTML, string(atts), string(optsJSON), millis(written))
	if err != nil {
		return fmt.Errorf("store: add edit: %w", err)
	}
	return nil
}

// Edits returns the earlier versions of a post, oldest first.
func (db *DB) Edits(ctx context.Context, postID int64) ([]Edit, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT title, summary, sensitive, content_html, attachments, poll_options, created_at
		FROM post_edits WHERE post_id = ? ORDER BY id`, postID)
	if err != nil {
		return nil, fmt.Errorf("store: edits: %w", err)
	}
	defer rows.Close()
	var out []Edit
	for rows.Next() {
		var e Edit
		var atts, opts string
		var created int64
		if err := rows.Scan(&e.Title, &e.Summary, &e.Sensitive, &e.ContentHTML, &atts, &opts, &created); err != nil {
			return nil, fmt.Errorf("store: edits: %w", err)
		}
		// Both columns hold JSON written by AddEdit.
		_ = json.Unmarshal([]byte(atts), &e.Attachments)
		_ = json.Unmarshal([]byte(opts), &e.PollOptions)
		e.CreatedAt = fromMillis(created)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Report is a Flag received from another server.
type Report struct {
	ID        string
	IRI       string
	ActorIRI  string
	Content   string
	Objects   []string // the reported actors and posts
	CreatedAt time.Time
}

// PutReport stores a report and sets its ID; it reports false for one seen
// before.
func (tx *Tx) PutReport(ctx context.Context, r *Report) (bool, error) {
	if r.ID == "" {
		r.ID = NewID(r.CreatedAt)
	}
	objs, _ := json.Marshal(r.Objects)
	if r.Objects == nil {
		objs = []byte("[]")
	}
	res, err := tx.tx.ExecContext(ctx, `INSERT INTO reports (id, iri, actor_iri, content, objects, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (iri) DO NOTHING`,
		r.ID, r.IRI, r.ActorIRI, r.Content, string(objs), millis(r.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("store: put report: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// ReportByID returns a report.
func (db *DB) ReportByID(ctx context.Context, id string) (*Report, error) {
	var r Report
	var objs string
	var created int64
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT id, iri, actor_iri, content, objects, created_at FROM reports WHERE id = ?`, id).
		Scan(&r.ID, &r.IRI, &r.ActorIRI, &r.Content, &objs, &created)
	if err != nil {
		return nil, noRow(err, "read report")
	}
	_ = json.Unmarshal([]byte(objs), &r.Objects) // written by PutReport
	r.CreatedAt = fromMillis(created)
	return &r, nil
}

// ActorStats are the counts a remote account's collections announce.
type ActorStats struct {
	Followers, Following, Posts int // -1 when unknown
	FetchedAt                   time.Time
}

// PutActorStats stores the counts of a remote account.
func (db *DB) PutActorStats(ctx context.Context, actorID int64, s ActorStats) error {
	opt := func(n int) any {
		if n < 0 {
			return nil
		}
		return n
	}
	_, err := db.exec(ctx, "put actor stats", `INSERT INTO actor_stats (actor_id, followers_count, following_count, statuses_count, fetched_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (actor_id) DO UPDATE SET followers_count = excluded.followers_count,
			following_count = excluded.following_count, statuses_count = excluded.statuses_count, fetched_at = excluded.fetched_at`,
		actorID, opt(s.Followers), opt(s.Following), opt(s.Posts), millis(s.FetchedAt))
	return err
}

// ActorStatsOf returns the stored counts of a remote account.
func (db *DB) ActorStatsOf(ctx context.Context, actorID int64) (ActorStats, error) {
	s := ActorStats{Followers: -1, Following: -1, Posts: -1}
	var fetched int64
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT coalesce(followers_count, -1), coalesce(following_count, -1),
		coalesce(statuses_count, -1), fetched_at FROM actor_stats WHERE actor_id = ?`, actorID).
		Scan(&s.Followers, &s.Following, &s.Posts, &fetched)
	if err == sql.ErrNoRows {
		return s, ErrNotFound
	}
	if err != nil {
		return s, fmt.Errorf("store: actor stats: %w", err)
	}
	s.FetchedAt = fromMillis(fetched)
	return s, nil
}
