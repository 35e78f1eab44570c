package store

import (
	"context"
	"fmt"
	"strings"
	"unicode"
)

// SearchTerms splits what the owner typed into the words a search looks
// for: letters and digits, lower case, at most eight.
func SearchTerms(q string) []string {
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	})
	if len(words) > 8 {
		words = words[:8]
	}
	return words
}

// ftsQuery makes an FTS5 query of terms: each a quoted string, the last
// one a prefix, all required. Quoting keeps FTS5's operators (NEAR, OR,
// column filters) out of the owner's hands and its syntax errors away.
func ftsQuery(terms []string) string {
	var b strings.Builder
	for i, t := range terms {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(`"` + strings.ReplaceAll(t, `"`, `""`) + `"`)
		if i == len(terms)-1 {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// rankWindow is how many of the newest matches a search ranks.
const rankWindow = 5000

// SearchPosts returns the stored posts, ours and remote, that hold every
// term, best first among the most recently stored rankWindow that do
// (bm25, a hit in a title or a content warning counting more than one in
// the text), with their views for owner.
func (db *DB) SearchPosts(ctx context.Context, terms []string, owner string, limit int) ([]Post, error) {
	if len(terms) == 0 {
		return nil, nil
	}
	// The ranking runs on the index alone and only the best rows are
	// joined to posts: joining every match first costs a row lookup per
	// match, which for a common word is every post. It ranks the most
	// recently stored rankWindow matches at most: bm25 over every post
	// that holds a common word took 180 ms at 100,000 posts, and recent
	// posts are what a reader looks for most. FTS5 finds the window's
	// edge from its rowid order without ranking anything. A deleted post's text is gone from the
	// index (its content is cleared), so none is ranked.
	q := ftsQuery(terms)
	rows, err := db.r.QueryContext(ctx, `WITH search_best AS (
			SELECT rowid AS id, bm25(posts_fts, 4.0, 2.0, 1.0) AS score FROM posts_fts
			WHERE posts_fts MATCH ?1 AND rowid >= coalesce((SELECT rowid FROM posts_fts
				WHERE posts_fts MATCH ?1 ORDER BY rowid DESC LIMIT 1 OFFSET ?3), 0)
			ORDER BY score LIMIT ?2
		)
		SELECT `+postColumns+` FROM search_best JOIN posts p ON p.id = search_best.id
		WHERE p.deleted_at IS NULL ORDER BY search_best.score`, q, limit, rankWindow-1)
	if err != nil {
		return nil, fmt.Errorf("store: search posts: %w", err)
	}
	posts, err := scanPosts(rows)
	if err != nil {
		return nil, err
	}
	return posts, db.LoadPostViews(ctx, posts, owner)
}

// TagCount is a hashtag and how many stored posts carry it.
type TagCount struct {
	Tag   string
	Posts int
}

// SearchTags returns the hashtags that start with prefix, the most used
// first.
func (db *DB) SearchTags(ctx context.Context, prefix string, limit int) ([]TagCount, error) {
	prefix = strings.ToLower(prefix)
	if prefix == "" {
		return nil, nil
	}
	// A range on the index rather than LIKE, whose wildcards a tag may hold.
	rows, err := db.r.QueryContext(ctx, `SELECT tag, count(*) AS n FROM post_tags
		WHERE tag >= ? AND tag < ? GROUP BY tag ORDER BY n DESC, tag LIMIT ?`, prefix, prefix+"\U0010FFFF", limit)
	if err != nil {
		return nil, fmt.Errorf("store: search tags: %w", err)
	}
	defer rows.Close()
	var out []TagCount
	for rows.Next() {
		var t TagCount
		if err := rows.Scan(&t.Tag, &t.Posts); err != nil {
			return nil, fmt.Errorf("store: search tags: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// SearchActors returns cached remote accounts whose user name starts with
// prefix, ignoring case.
func (db *DB) SearchActors(ctx context.Context, prefix string, limit int) ([]Actor, error) {
	if prefix == "" {
		return nil, nil
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+actorColumns+` FROM actors
		WHERE username >= ?1 COLLATE NOCASE AND username < ?2 COLLATE NOCASE
		ORDER BY username COLLATE NOCASE LIMIT ?3`, prefix, prefix+"\U0010FFFF", limit)
	if err != nil {
		return nil, fmt.Errorf("store: search accounts: %w", err)
	}
	defer rows.Close()
	var out []Actor
	for rows.Next() {
		var a Actor
		if err := scanActor(rows, &a); err != nil {
			return nil, fmt.Errorf("store: search accounts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
