package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ThreadQuery selects the conversation around a post.
type ThreadQuery struct {
	IRI string // the post the thread is opened at
	// Ancestors bounds how far up the inReplyTo chain the root is looked
	// for; Depth how far below the root replies are read; Limit how many
	// posts are read in all. Zero means 100, 50 and 500.
	Ancestors, Depth, Limit int
	// Public keeps to what a visitor may see: public and unlisted posts,
	// and replies the owner shows under their posts. Without it, every
	// reply is there, waiting and hidden ones too, for the owner to
	// moderate.
	Public bool
}

// threadColumns are postColumns without the Markdown source and the raw
// document, which no page of a thread shows: a remote post's raw JSON is
// often longer than its text. The posts are read by id from the walk's
// ids, which a post reached twice (a reply chain that loops) is in once,
// rather than with a DISTINCT that sorts whole rows.
const threadColumns = `p.id, p.iri, coalesce(p.local_id, ''), p.author_iri, nullif(p.type, 'Note'), p.title, p.summary, p.sensitive,
	p.content_html, '', p.language, nullif(p.visibility, 'public'), p.in_reply_to, p.url, p.published, p.updated,
	p.deleted_at, p.pinned_at, '', p.sid, p.quote_iri, nullif(p.approval, 'shown'), p.imported_from`

// ThreadPost is a post of a thread with its place in it.
type ThreadPost struct {
	Post
	Depth int  // 0 for the root
	Focus bool // the post the thread was opened at
}

// Thread returns the conversation around q.IRI in reading order (its
// posts without their Source and Raw): the
// topmost stored ancestor first, then each post followed by its replies
// (oldest first), each with its depth. It reads two recursive queries
// whatever the thread's size, both bounded, so that a reply chain that
// loops or runs deep ends. A post that is not stored gives ErrNotFound.
// Posts of blocked accounts are left out, and with them the replies below
// them.
func (db *DB) Thread(ctx context.Context, q ThreadQuery) ([]ThreadPost, error) {
	up, depth, limit := q.Ancestors, q.Depth, q.Limit
	if up <= 0 {
		up = 100
	}
	if depth <= 0 {
		depth = 50
	}
	if limit <= 0 {
		limit = 500
	}
	var root string
	err := db.reader(ctx).QueryRowContext(ctx, `
		WITH RECURSIVE thread_up(iri, parent, n) AS (
			SELECT iri, in_reply_to, 0 FROM posts WHERE iri = ?
			UNION ALL
			SELECT p.iri, p.in_reply_to, thread_up.n + 1 FROM thread_up JOIN posts p ON p.iri = thread_up.parent
			WHERE thread_up.parent != '' AND thread_up.n < ?
		)
		SELECT iri FROM thread_up ORDER BY n DESC LIMIT 1`, q.IRI, up).Scan(&root)
	if err != nil {
		return nil, noRow(err, "thread root")
	}
	// A reply chain that loops has no true root; the walk up stops at its
	// bound and the loop is read from wherever it ended.
	//
	// The walk down is a UNION ALL: a post has one parent, so no (post,
	// depth) row can come twice and a UNION's search for duplicates (an
	// index of every row walked) would find none. A post in a loop comes
	// at several depths, and once out of the IN.
	//
	// Posts of blocked accounts are read too, flagged, so that the reply
	// counts below see every stored reply, as loadReplyCounts would.
	rows, err := db.reader(ctx).QueryContext(ctx, `
		WITH RECURSIVE thread_down(id, iri, depth) AS (
			SELECT id, iri, 0 FROM posts WHERE iri = ?
			UNION ALL
			SELECT p.id, p.iri, thread_down.depth + 1 FROM thread_down JOIN posts p ON p.in_reply_to = thread_down.iri AND p.in_reply_to != ''
			WHERE thread_down.depth < ?
			LIMIT ?
		)
		SELECT EXISTS (SELECT 1 FROM blocks b WHERE b.target = p.author_iri), `+threadAuthorColumns+`, `+threadColumns+`
		FROM posts p LEFT JOIN actors a ON a.iri = p.author_iri WHERE p.id IN (SELECT id FROM thread_down)`, root, depth, limit*2)
	if err != nil {
		return nil, fmt.Errorf("store: thread: %w", err)
	}
	posts, blocked, err := scanThread(rows)
	if err != nil {
		return nil, err
	}
	if len(posts) < limit*2 {
		countReplies(posts, root, depth)
	}
	shown := posts
	if len(blocked) > 0 {
		shown = nil
		for _, p := range posts {
			if !blocked[p] {
				shown = append(shown, p)
			}
		}
	}
	ordered := threadOrder(shown, root, q.IRI, q.Public)
	if len(ordered) > limit {
		ordered = ordered[:limit]
	}
	return ordered, nil
}

// scanThread reads the rows of Thread's walk: the posts with their authors
// as shown, and which are of blocked accounts. The posts are kept in
// blocks of 64 that never move, so that a thread of hundreds is not copied
// at each doubling of a slice (a Post is some 500 bytes).
//
// The authors are read here, by the walk's query, for LoadPostViews: there
// each would be looked up by IRI again in a list of a few hundred IRIs
// bound one by one (a third of its work on a thread). Posts by the same
// author share their Actor, as they do from LoadPostViews.
func scanThread(rows *sql.Rows) ([]*Post, map[*Post]bool, error) {
	defer rows.Close()
	var out []*Post
	var blocked map[*Post]bool
	var block []Post
	authors := map[string]*Actor{}
	var a Actor
	var fetched int64
	var isBlocked bool
	var ps postScan
	var actorType any // NULL for "Person" (threadAuthorColumns)
	before := append([]any{&isBlocked}, shownActorDest(&a, &actorType, &fetched)...)
	dest := make([]any, 0, len(before)+23)
	for rows.Next() {
		if len(block) == 0 {
			block = make([]Post, 64)
		}
		p := &block[0]
		block = block[1:]
		dest = ps.appendDest(append(dest[:0], before...), p)
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, fmt.Errorf("store: read thread: %w", err)
		}
		ps.finish(p)
		p.authorKnown = true
		if a.ID != 0 {
			if p.author = authors[p.AuthorIRI]; p.author == nil {
				a.IRI, a.Type, a.FetchedAt = p.AuthorIRI, textOr(actorType, "Person"), fromMillis(fetched)
				p.author = new(Actor)
				*p.author = a
				authors[p.AuthorIRI] = p.author
			}
		}
		if isBlocked {
			if blocked == nil {
				blocked = map[*Post]bool{}
			}
			blocked[p] = true
		}
		out = append(out, p)
	}
	return out, blocked, rows.Err()
}

// countReplies sets the reply counts of the posts of a thread's walk that
// the walk read every reply of, so that LoadPostViews need not count them
// again (a third of its work on a 200-post thread). posts must be the
// whole walk, which did not end at its LIMIT: then each post above the
// depth bound had every stored reply read, blocked, hidden and deleted
// ones too, and its count is that of its undeleted replies, as
// loadReplyCounts counts them. A reply chain that loops back to the root
// is walked again and again to the depth bound: its counts are left to
// loadReplyCounts.
func countReplies(posts []*Post, root string, depthBound int) {
	byIRI := make(map[string]*Post, len(posts))
	for _, p := range posts {
		byIRI[p.IRI] = p
	}
	top := byIRI[root]
	if top == nil || byIRI[top.InReplyTo] != nil {
		return // the root is not stored any more, or it answers a post below it
	}
	// The depth of each post is its distance from the root, as the walk
	// found it: the chain up from a post in a tree leads to the root.
	depths := make(map[*Post]int, len(posts))
	depths[top] = 0
	var depthOf func(p *Post) int
	depthOf = func(p *Post) int {
		if d, ok := depths[p]; ok {
			return d
		}
		d := depthBound // a post whose chain up leaves the walk: not expanded
		if parent := byIRI[p.InReplyTo]; parent != nil && parent != p {
			d = depthOf(parent) + 1
		}
		depths[p] = d
		return d
	}
	counts := make(map[*Post]int, len(posts))
	for _, p := range posts {
		if parent := byIRI[p.InReplyTo]; parent != nil && p.DeletedAt.IsZero() {
			counts[parent]++
		}
	}
	for _, p := range posts {
		if depthOf(p) < depthBound {
			p.replies, p.repliesKnown = counts[p], true
		}
	}
}

// threadOrder arranges posts as a conversation reads: each post followed
// by its replies, oldest first. Deleted posts are left out, and with
// public, what a visitor may not see, and the replies below it, except on
// the way from the root to the focus: the post asked for is always there.
// posts come in id order, which breaks ties of time among replies.
func threadOrder(posts []*Post, root, focus string, public bool) []ThreadPost {
	children := make(map[string][]*Post, len(posts))
	byIRI := make(map[string]*Post, len(posts))
	var top *Post
	for _, p := range posts {
		byIRI[p.IRI] = p
		if p.IRI == root {
			top = p
			continue
		}
		children[p.InReplyTo] = append(children[p.InReplyTo], p)
	}
	onPath := map[string]bool{}
	for p := byIRI[focus]; p != nil && !onPath[p.IRI]; p = byIRI[p.InReplyTo] {
		onPath[p.IRI] = true
	}
	for _, c := range children {
		slices.SortStableFunc(c, func(a, b *Post) int { return a.Published.Compare(b.Published) })
	}
	visible := func(p *Post) bool {
		if !p.DeletedAt.IsZero() {
			return false
		}
		return !public || (p.Approval == Shown && (p.Visibility == Public || p.Visibility == Unlisted))
	}
	out := make([]ThreadPost, 0, len(posts)) // a Post is large: no regrowing copies
	seen := make(map[string]bool, len(posts))
	var walk func(p *Post, depth int)
	walk = func(p *Post, depth int) {
		if seen[p.IRI] {
			return
		}
		seen[p.IRI] = true
		switch {
		case p.IRI == focus && p.DeletedAt.IsZero(), visible(p):
			out = append(out, ThreadPost{Post: *p, Depth: depth, Focus: p.IRI == focus})
		case !onPath[p.IRI]:
			return
		}
		for _, c := range children[p.IRI] {
			walk(c, depth+1)
		}
	}
	if top != nil {
		walk(top, 0)
	}
	return out
}

// ThreadFetchedAt reports when the thread around iri was last fetched;
// the zero time when never.
func (db *DB) ThreadFetchedAt(ctx context.Context, iri string) (time.Time, error) {
	var at int64
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT fetched_at FROM thread_fetches WHERE iri = ?`, iri).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	} else if err != nil {
		return time.Time{}, fmt.Errorf("store: thread fetched: %w", err)
	}
	return fromMillis(at), nil
}

// MarkThreadFetched records that the thread around iri was fetched at now,
// and how many posts that stored.
func (db *DB) MarkThreadFetched(ctx context.Context, iri string, now time.Time, posts int) error {
	_, err := db.exec(ctx, "mark thread fetched", `INSERT INTO thread_fetches (iri, fetched_at, posts) VALUES (?, ?, ?)
		ON CONFLICT (iri) DO UPDATE SET fetched_at = excluded.fetched_at, posts = excluded.posts`, iri, millis(now), posts)
	return err
}

// ChildIRIs returns the IRIs of the stored replies to iri, at most limit.
func (db *DB) ChildIRIs(ctx context.Context, iri string, limit int) ([]string, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT iri FROM posts WHERE in_reply_to = ? AND in_reply_to != ''
		ORDER BY published LIMIT ?`, iri, limit)
	if err != nil {
		return nil, fmt.Errorf("store: replies: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("store: replies: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
