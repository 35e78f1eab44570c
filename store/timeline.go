package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// Page selects one page of a list ordered by time-sortable ids, the way
// Mastodon's client API pages: newest first, MaxID for older entries,
// SinceID for newer ones (still the newest first), MinID for the entries
// just newer than it.
type Page struct {
	MaxID   string // only ids below it
	SinceID string // only ids above it, newest first
	MinID   string // only ids above it, the nearest ones
	Limit   int    // 20 when 0; at most 200
}

// limit returns the page size, defaulted and capped.
func (pg Page) limit() int {
	switch {
	case pg.Limit <= 0:
		return 20
	case pg.Limit > 200:
		return 200
	}
	return pg.Limit
}

// where adds the page's bounds on column to a WHERE clause and returns the
// ORDER BY to use and whether the rows come oldest first (MinID) and must
// be turned round.
func (pg Page) where(column string, where []string, args []any) ([]string, []any, string, bool) {
	if pg.MaxID != "" {
		where = append(where, column+" < ?")
		args = append(args, pg.MaxID)
	}
	if pg.SinceID != "" {
		where = append(where, column+" > ?")
		args = append(args, pg.SinceID)
	}
	if pg.MinID != "" {
		where = append(where, column+" > ?")
		args = append(args, pg.MinID)
		return where, args, column + " ASC", true
	}
	return where, args, column + " DESC", false
}

// Entry is one item of a timeline: a post, or a boost of one (Mastodon's
// reblog status), which has an id of its own.
type Entry struct {
	SID     string // the post's sid, or the boost's
	Post    Post
	Boost   *Boost // nil unless the entry is a boost
	Booster *Actor // the booster when remote and cached
}

// HomeQuery selects a page of the owner's home timeline.
type HomeQuery struct {
	Page
	Owner string // the owner's actor IRI, for their likes, boosts and bookmarks
}

// Home returns a page of the owner's home timeline: the posts and boosts of
// the accounts they follow, and their own, newest first, without muted
// or blocked accounts. Each post comes with its author, counts, the owner's own
// state, poll and quoted post (LoadPostViews).
func (db *DB) Home(ctx context.Context, q HomeQuery) ([]Entry, error) {
	where := []string{`NOT EXISTS (SELECT 1 FROM mutes m WHERE m.actor_iri = h.actor_iri)`,
		`NOT EXISTS (SELECT 1 FROM mutes m WHERE m.actor_iri = p.author_iri)`,
		// A blocked author's posts stay stored (a block can be lifted) but
		// never show, even boosted by someone the owner follows.
		`NOT EXISTS (SELECT 1 FROM blocks b WHERE b.target = p.author_iri)`,
		// A muted host (a blocklist's "silence") hides its accounts' posts
		// and boosts alike.
		`NOT EXISTS (SELECT 1 FROM mutes m WHERE m.actor_iri IN (` + sqlHost("h.actor_iri") + `, ` + sqlHost("p.author_iri") + `))`,
		`p.deleted_at IS NULL`}
	where, args, order, reverse := q.where("h.sid", where, nil)
	args = append(args, q.limit())
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT h.sid, h.boost_id, `+postColumns+`
		FROM home h JOIN posts p ON p.id = h.post_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: home: %w", err)
	}
	entries, err := scanEntries(rows)
	if err != nil {
		return nil, err
	}
	if reverse {
		slices.Reverse(entries)
	}
	return entries, db.loadEntries(ctx, entries, q.Owner)
}

// scanEntries reads rows of (sid, boost_id, postColumns...).
func scanEntries(rows *sql.Rows) ([]Entry, error) {
	defer rows.Close()
	var out []Entry
	var ps postScan
	var boostID any
	var dest []any
	for rows.Next() {
		out = append(out, Entry{})
		e := &out[len(out)-1]
		dest = ps.appendDest(append(dest[:0], &e.SID, &boostID), &e.Post)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: read timeline: %w", err)
		}
		ps.finish(&e.Post)
		if boostID != nil {
			e.Boost = &Boost{ID: anyInt(boostID)}
		}
	}
	return out, rows.Err()
}

// loadEntries fills the boosts, boosters and post views of entries.
func (db *DB) loadEntries(ctx context.Context, entries []Entry, owner string) error {
	if len(entries) == 0 {
		return nil
	}
	var ids []int64
	for _, e := range entries {
		if e.Boost != nil {
			ids = append(ids, e.Boost.ID)
		}
	}
	if len(ids) > 0 {
		boosts, err := boostsByID(ctx, db.reader(ctx), ids)
		if err != nil {
			return err
		}
		var iris []string
		for i := range entries {
			if e := &entries[i]; e.Boost != nil {
				if b, ok := boosts[e.Boost.ID]; ok {
					e.Boost = &b
					iris = append(iris, b.ActorIRI)
				}
			}
		}
		actors, err := shownActorsByIRI(ctx, db.reader(ctx), iris)
		if err != nil {
			return err
		}
		for i := range entries {
			if e := &entries[i]; e.Boost != nil {
				e.Booster = actors[e.Boost.ActorIRI]
			}
		}
	}
	posts := make([]*Post, len(entries))
	for i := range entries {
		posts[i] = &entries[i].Post
	}
	return db.loadViews(ctx, posts, owner)
}

// LoadPostViews fills what a page or a client needs to show posts to the
// owner: attachments, tags and mentions, the remote author, the counts,
// the owner's own likes, boosts and bookmarks, the poll and the quoted
// post. It costs a fixed number of queries however many posts there are.
func (db *DB) LoadPostViews(ctx context.Context, posts []Post, owner string) error {
	return db.loadViews(ctx, pointers(posts), owner)
}

// LoadThreadViews is LoadPostViews for the posts of a thread, filled in
// place: a page need not copy a long thread's posts, some 600 bytes each,
// into a []Post for LoadPostViews.
func (db *DB) LoadThreadViews(ctx context.Context, thread []ThreadPost, owner string) error {
	posts := make([]*Post, len(thread))
	for i := range thread {
		posts[i] = &thread[i].Post
	}
	return db.loadViews(ctx, posts, owner)
}

// loadViews is LoadPostViews on pointers to the posts.
func (db *DB) loadViews(ctx context.Context, posts []*Post, owner string) error {
	if len(posts) == 0 {
		return nil
	}
	if err := loadPostDetails(ctx, db.reader(ctx), posts); err != nil {
		return err
	}
	// A post may be on a page twice (itself, and a boost of it): the
	// queries fill the first copy, and the others get its counts, own
	// state and poll at the end. A list of copies for every post would
	// be an allocation each, for the rare post shown twice.
	byID := make(map[int64]*Post, len(posts))
	var copies map[*Post][]*Post
	args := make([]any, 0, len(posts))
	var authors, quotes []string
	for _, p := range posts {
		if first := byID[p.ID]; first != nil {
			if copies == nil {
				copies = map[*Post][]*Post{}
			}
			copies[first] = append(copies[first], p)
		} else {
			byID[p.ID] = p
			args = append(args, p.ID)
		}
		if !p.authorKnown {
			authors = append(authors, p.AuthorIRI)
		}
		if p.QuoteIRI != "" {
			quotes = append(quotes, p.QuoteIRI)
		}
	}
	actors, err := shownActorsByIRI(ctx, db.reader(ctx), authors)
	if err != nil {
		return err
	}
	for _, p := range posts {
		if p.authorKnown {
			p.Author = p.author
		} else {
			p.Author = actors[p.AuthorIRI]
		}
	}
	args = padIn(args)
	if err := loadCounts(ctx, db.reader(ctx), byID, args, owner); err != nil {
		return err
	}
	if err := loadReplyCounts(ctx, db.reader(ctx), posts); err != nil {
		return err
	}
	if err := loadPolls(ctx, db.reader(ctx), byID, args); err != nil {
		return err
	}
	for first, others := range copies {
		for _, p := range others {
			p.Counts, p.Own, p.Poll = first.Counts, first.Own, first.Poll // one poll, shared
		}
	}
	if len(quotes) > 0 {
		quoted, err := postsByIRI(ctx, db.reader(ctx), quotes)
		if err != nil {
			return err
		}
		for _, p := range posts {
			if q, ok := quoted[p.QuoteIRI]; ok {
				p.Quote = q
			}
		}
	}
	return nil
}

// loadCounts fills the like and boost counts of the posts in byID, whose
// ids are args, and with an owner, whether they liked, boosted or
// bookmarked each. A count and the owner's own state come from the same
// rows of the same index (likes and boosts are unique by post and actor),
// so each is one query where it was two: three lists of ids for SQLite to
// build and walk in place of five.
func loadCounts(ctx context.Context, q querier, byID map[int64]*Post, args []any, owner string) error {
	in := placeholders(len(args))
	ownArgs := append([]any{owner}, args...)
	counts := []struct {
		query string
		set   func(p *Post, n int, own bool)
	}{
		{`SELECT post_id, count(*), max(actor_iri = ?) FROM likes WHERE post_id IN (` + in + `) GROUP BY post_id`,
			func(p *Post, n int, own bool) { p.Counts.Likes, p.Own.Liked = n, p.Own.Liked || own }},
		{`SELECT post_id, count(*), max(actor_iri = ?) FROM boosts WHERE post_id IN (` + in + `) GROUP BY post_id`,
			func(p *Post, n int, own bool) { p.Counts.Boosts, p.Own.Boosted = n, p.Own.Boosted || own }},
	}
	for _, c := range counts {
		rows, err := q.QueryContext(ctx, c.query, ownArgs...)
		if err != nil {
			return fmt.Errorf("store: post views: %w", err)
		}
		for rows.Next() {
			var id int64
			var n int
			var own bool
			if err := rows.Scan(&id, &n, &own); err != nil {
				rows.Close()
				return fmt.Errorf("store: post views: %w", err)
			}
			if p := byID[id]; p != nil {
				c.set(p, n, own && owner != "")
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: post views: %w", err)
		}
	}
	if owner == "" {
		return nil
	}
	rows, err := q.QueryContext(ctx, `SELECT post_id FROM bookmarks WHERE post_id IN (`+in+`)`, args...)
	if err != nil {
		return fmt.Errorf("store: post views: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("store: post views: %w", err)
		}
		if p := byID[id]; p != nil {
			p.Own.Bookmarked = true
		}
	}
	return rows.Err()
}

// loadReplyCounts counts the stored, undeleted replies of each post, but
// for the posts whose count Thread found (Post.repliesKnown).
func loadReplyCounts(ctx context.Context, q querier, posts []*Post) error {
	byIRI := make(map[string][]*Post, len(posts))
	args := make([]any, 0, len(posts))
	for _, p := range posts {
		if p.repliesKnown {
			if p.replies > 0 {
				p.Counts.Replies = p.replies
			}
			continue
		}
		if byIRI[p.IRI] == nil {
			args = append(args, p.IRI)
		}
		byIRI[p.IRI] = append(byIRI[p.IRI], p)
	}
	if len(args) == 0 {
		return nil
	}
	args = padIn(args)
	// The in_reply_to != '' term lets the partial index serve the query.
	rows, err := q.QueryContext(ctx, `SELECT in_reply_to, count(*) FROM posts
		WHERE in_reply_to IN (`+placeholders(len(args))+`) AND in_reply_to != '' AND deleted_at IS NULL
		GROUP BY in_reply_to`, args...)
	if err != nil {
		return fmt.Errorf("store: reply counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var iri string
		var n int
		if err := rows.Scan(&iri, &n); err != nil {
			return fmt.Errorf("store: reply counts: %w", err)
		}
		for _, p := range byIRI[iri] {
			p.Counts.Replies = n
		}
	}
	return rows.Err()
}

// postsByIRI reads posts (with their details, not their views) by IRI.
func postsByIRI(ctx context.Context, q querier, iris []string) (map[string]*Post, error) {
	args := make([]any, len(iris))
	for i, s := range iris {
		args[i] = s
	}
	rows, err := q.QueryContext(ctx, `SELECT `+postColumns+` FROM posts p WHERE p.iri IN (`+placeholders(len(args))+`)
		AND p.deleted_at IS NULL`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: posts by iri: %w", err)
	}
	posts, err := scanPosts(rows)
	if err != nil {
		return nil, err
	}
	if err := loadPostDetails(ctx, q, pointers(posts)); err != nil {
		return nil, err
	}
	authors := make([]string, len(posts))
	for i := range posts {
		authors[i] = posts[i].AuthorIRI
	}
	actors, err := shownActorsByIRI(ctx, q, authors)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Post, len(posts))
	for i := range posts {
		posts[i].Author = actors[posts[i].AuthorIRI]
		out[posts[i].IRI] = &posts[i]
	}
	return out, nil
}

// actorsByIRI reads the cached actors among iris.
func actorsByIRI(ctx context.Context, q querier, iris []string) (map[string]*Actor, error) {
	return readActors(ctx, q, iris, actorColumns, scanActor)
}

// shownActorColumns are what a page or a client shows of a post's author
// or booster: not its keys, collections and document, which a long list of
// posts would otherwise read and copy for each author (a third of a
// 200-post thread's store time).
const shownActorColumns = `id, iri, type, username, host, name, summary_html, url, icon_url, image_url, locked, fetched_at`

func scanShownActor(s scanner, a *Actor) error {
	var fetched int64
	err := s.Scan(shownActorDest(a, &a.Type, &fetched)...)
	a.FetchedAt = fromMillis(fetched)
	return err
}

// shownActorDest are the destinations of shownActorColumns in a, with the
// type in typ (a.Type, or a holder for threadAuthorColumns' NULL) and the
// time of fetching in fetched.
func shownActorDest(a *Actor, typ any, fetched *int64) []any {
	return []any{&a.ID, &a.IRI, typ, &a.Username, &a.Host, &a.Name, &a.SummaryHTML, &a.URL,
		&a.IconURL, &a.ImageURL, &a.Locked, fetched}
}

// threadAuthorColumns are shownActorColumns of the author a thread's walk
// joins to each post, with empty values where it is not cached (a.id 0).
// The IRI, the post's author_iri, is not read twice, and the usual type
// comes as NULL, as in postColumns.
const threadAuthorColumns = `coalesce(a.id, 0), '', nullif(a.type, 'Person'), coalesce(a.username, ''),
	coalesce(a.host, ''), coalesce(a.name, ''), coalesce(a.summary_html, ''), coalesce(a.url, ''),
	coalesce(a.icon_url, ''), coalesce(a.image_url, ''), coalesce(a.locked, 0), coalesce(a.fetched_at, 0)`

// shownActorsByIRI reads the cached actors among iris with only what is
// shown of them (shownActorColumns), for the authors and boosters of posts
// listed on a page or for a client.
func shownActorsByIRI(ctx context.Context, q querier, iris []string) (map[string]*Actor, error) {
	return readActors(ctx, q, iris, shownActorColumns, scanShownActor)
}

// readActors reads the cached actors among iris by one query of columns.
func readActors(ctx context.Context, q querier, iris []string, columns string, scan func(scanner, *Actor) error) (map[string]*Actor, error) {
	out := make(map[string]*Actor)
	args := make([]any, 0, len(iris))
	seen := make(map[string]bool)
	for _, s := range iris {
		if !seen[s] {
			seen[s] = true
			args = append(args, s)
		}
	}
	if len(args) == 0 {
		return out, nil
	}
	all := make([]Actor, 0, len(args)) // one allocation: iri is unique, so it never regrows
	args = padIn(args)
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM actors WHERE iri IN (`+placeholders(len(args))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: actors: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		all = append(all, Actor{})
		a := &all[len(all)-1]
		if err := scan(rows, a); err != nil {
			return nil, fmt.Errorf("store: actors: %w", err)
		}
		out[a.IRI] = a
	}
	return out, rows.Err()
}

// AddToHome puts a post, or a boost of it, on the owner's home timeline.
// actorIRI is who put it there (the author, or the booster), so that the
// entries leave again when the owner unfollows or blocks them.
func (tx *Tx) AddToHome(ctx context.Context, p *Post, b *Boost) error {
	sid, actor := p.SID, p.AuthorIRI
	var boostID any
	if b != nil {
		sid, actor, boostID = b.SID, b.ActorIRI, b.ID
	}
	res, err := tx.tx.ExecContext(ctx, `INSERT INTO home (sid, post_id, boost_id, actor_iri) VALUES (?, ?, ?, ?)
		ON CONFLICT (sid) DO NOTHING`, sid, p.ID, boostID, actor)
	if err != nil {
		return fmt.Errorf("store: add to home: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // already there: nothing new to tell
	}
	tx.changed(Change{Kind: ChangeHome, PostID: p.ID, SID: sid})
	return nil
}

// RemoveFromHome takes everything actorIRI put on the home timeline off it
// (after an unfollow or a block); their posts stay stored.
func (tx *Tx) RemoveFromHome(ctx context.Context, actorIRI string) error {
	if _, err := tx.tx.ExecContext(ctx, `DELETE FROM home WHERE actor_iri = ?`, actorIRI); err != nil {
		return fmt.Errorf("store: remove from home: %w", err)
	}
	return nil
}

// RemoveHostFromHome takes every entry of a blocked host off the home
// timeline: its accounts' posts and boosts, and boosts of its posts. It
// scans the timeline once, as a domain block is rare.
func (tx *Tx) RemoveHostFromHome(ctx context.Context, host string) error {
	pattern := hostPattern(host)
	_, err := tx.tx.ExecContext(ctx, `DELETE FROM home WHERE actor_iri LIKE ?1 ESCAPE '\'
		OR post_id IN (SELECT id FROM posts WHERE local_id IS NULL AND author_iri LIKE ?1 ESCAPE '\')`, pattern)
	if err != nil {
		return fmt.Errorf("store: remove host from home: %w", err)
	}
	return nil
}

// hostPattern is a LIKE pattern (escaped with \) matching the http and
// https IRIs on host.
func hostPattern(host string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "http%://" + r.Replace(strings.ToLower(host)) + "/%"
}

// sqlHost is an SQL expression for the lower-cased host[:port] of the
// http(s) IRI in column, the form host names take in blocks and mutes.
func sqlHost(column string) string {
	rest := "substr(" + column + ", instr(" + column + ", '://') + 3)"
	return "lower(substr(" + rest + ", 1, instr(" + rest + " || '/', '/') - 1))"
}
