package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"unicode"

	"modernc.org/sqlite"

	"kith/ap/sanitize"
)

// init gives every connection the sqlite driver opens in this process
// kith_search_text, which the search index's triggers call (migration
// 0028): the driver registers SQL functions for the whole process only,
// and a connection without it could not write a post. Seeding tools that
// open the file with database/sql get it as well.
func init() {
	sqlite.MustRegisterDeterministicScalarFunction("kith_search_text", 1, searchText)
	sqlite.MustRegisterDeterministicScalarFunction("kith_block_target", 2, blockTargetFunc)
}

// maxBlockLabels bounds how many parent domains a host is looked up under,
// as ap's blockTargets does.
const maxBlockLabels = 6

// blockTargetFunc is kith_block_target(iri, i): the i-th block list entry
// that would cover the host of the http(s) IRI iri, or NULL past the last:
// host[:port] in lower case, the name without its port, then each domain
// above it but the top-level one (blocking example.com blocks
// social.example.com too); an IP address has no parents. It is ap's
// blockTargets for SQL, parsed by hand: search calls it for each ranked
// candidate.
func blockTargetFunc(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	iri, _ := args[0].(string)
	i, _ := args[1].(int64)
	rest, ok := strings.CutPrefix(iri, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(iri, "http://"); !ok {
			return nil, nil
		}
	}
	host, _, _ := strings.Cut(rest, "/")
	host, _, _ = strings.Cut(host, "?")
	host, _, _ = strings.Cut(host, "#")
	if host == "" {
		return nil, nil
	}
	host = strings.ToLower(host)
	if i == 0 {
		return host, nil
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		if i == 1 {
			return h, nil
		}
		name, i = h, i-1
	}
	if net.ParseIP(strings.Trim(name, "[]")) != nil {
		return nil, nil
	}
	labels := strings.Split(name, ".")
	if i < 1 || i >= int64(len(labels))-1 || i > maxBlockLabels {
		return nil, nil
	}
	return strings.Join(labels[i:], "."), nil
}

// searchText is kith_search_text(html): the plain text of a post's HTML as
// the search page shows it (sanitize.Excerpt, uncut), which is what the
// index holds.
func searchText(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	switch v := args[0].(type) {
	case string:
		return sanitize.Excerpt(v, math.MaxInt), nil
	case []byte:
		return sanitize.Excerpt(string(v), math.MaxInt), nil
	default:
		return v, nil
	}
}

// SearchTerms splits what the owner typed into the words a search looks
// for: letters and digits, lower case, the first maxPhrases.
func SearchTerms(q string) []string {
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	})
	if len(words) > maxPhrases {
		words = words[:maxPhrases]
	}
	return words
}

// ftsQuery makes an FTS5 query of terms, all required, each a quoted
// string: the last one stands for the words in last, any of them, or is a
// prefix query when last is nil. Quoting keeps FTS5's operators (NEAR, OR,
// column filters) out of the owner's hands and its syntax errors away.
func ftsQuery(terms, last []string) string {
	quote := func(t string) string { return `"` + strings.ReplaceAll(t, `"`, `""`) + `"` }
	var b strings.Builder
	for _, t := range terms[:len(terms)-1] {
		b.WriteString(quote(t) + " AND ")
	}
	if last == nil {
		b.WriteString(quote(terms[len(terms)-1]) + "*")
		return b.String()
	}
	b.WriteByte('(')
	for i, t := range last {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString(quote(t))
	}
	b.WriteByte(')')
	return b.String()
}

// Search bounds.
const (
	// maxPhrases is how many words a search asks the index for at most,
	// the last word's completions included: bm25 counts the posts that
	// hold each word across the whole index before it ranks anything,
	// 4.4 ms of CPU per word that all of 100,000 posts hold (measured),
	// so six such words stay near 30 ms (eight took 39-46 ms).
	maxPhrases = 6
	// minPrefix is the length from which the last word typed is taken as
	// the start of words, not only as a word.
	minPrefix = 3
	// rankWindow is how many of the newest matches a search ranks.
	rankWindow = 2000
)

// SearchPosts returns the stored posts, ours and remote, that hold every
// term, the last one (from three characters on) as the start of a word, at
// most maxPhrases words in all, best first among the most
// recently stored rankWindow that do (bm25, a hit in a title or a content
// warning counting more than one in the text), with their views for owner.
// Posts of muted or blocked accounts and servers are left out, as the
// home timeline leaves them out, before the ranking so that they take no
// place among the best.
func (db *DB) SearchPosts(ctx context.Context, terms []string, owner string, limit int) ([]Post, error) {
	if len(terms) == 0 {
		return nil, nil
	}
	last, err := db.lastWords(ctx, terms[len(terms)-1], maxPhrases-len(terms)+1)
	if err != nil {
		return nil, err
	}
	if last != nil && len(last) == 0 {
		return nil, nil // no indexed word starts so: no post holds it
	}
	// The ranking runs on the index alone and only the best rows are
	// joined to posts: joining every match first costs a row lookup per
	// match, which for a common word is every post. It ranks the most
	// recently stored rankWindow matches at most: bm25 over every post
	// that holds a common word took 180 ms at 100,000 posts, and recent
	// posts are what a reader looks for most. FTS5 finds the window's
	// edge from its rowid order without ranking anything. A deleted
	// post's text is gone from the index (its content is cleared), so
	// none is ranked. The window's candidates whose author is hidden
	// (searchHidden) are dropped before ranking: one row lookup each.
	rows, err := db.reader(ctx).QueryContext(ctx, `WITH search_best AS (
			SELECT rowid AS id, bm25(posts_fts, 4.0, 2.0, 1.0) AS score FROM posts_fts
			WHERE posts_fts MATCH ?1 AND rowid >= coalesce((SELECT rowid FROM posts_fts
				WHERE posts_fts MATCH ?1 ORDER BY rowid DESC LIMIT 1 OFFSET ?3), 0)
				AND NOT EXISTS (SELECT 1 FROM posts h WHERE h.id = posts_fts.rowid AND `+searchHidden()+`)
			ORDER BY score LIMIT ?2
		)
		SELECT `+postColumns+` FROM search_best JOIN posts p ON p.id = search_best.id
		WHERE p.deleted_at IS NULL ORDER BY search_best.score`, ftsQuery(terms, last), limit, rankWindow-1)
	if err != nil {
		return nil, fmt.Errorf("store: search posts: %w", err)
	}
	posts, err := scanPosts(rows)
	if err != nil {
		return nil, err
	}
	return posts, db.LoadPostViews(ctx, posts, owner)
}

// searchHidden is an SQL condition, true for a post h whose author the owner muted or
// blocked, or whose author's server they did, or a domain above it (a
// block): what the home timeline leaves out. It runs for each candidate
// a search ranks, so each test is one index lookup: the account and its
// host[:port] first, in SQL; the host's other names (kith_block_target)
// only when some server is blocked at all, which the uncorrelated
// subquery finds once per search. Calling Go for them costs about 2 µs a
// candidate; one IN list of them all, an ephemeral table each time.
func searchHidden() string {
	return `(EXISTS (SELECT 1 FROM mutes m WHERE m.actor_iri = h.author_iri)
	OR EXISTS (SELECT 1 FROM blocks b WHERE b.target = h.author_iri)
	OR EXISTS (SELECT 1 FROM mutes m WHERE m.actor_iri = ` + sqlHost("h.author_iri") + `)
	OR EXISTS (SELECT 1 FROM blocks b WHERE b.target = ` + sqlHost("h.author_iri") + `)
	OR (SELECT 1 FROM blocks WHERE instr(target, '/') = 0 LIMIT 1)
		AND EXISTS (SELECT 1 FROM blocks b WHERE b.target IN (kith_block_target(h.author_iri, 1),
			kith_block_target(h.author_iri, 2), kith_block_target(h.author_iri, 3), kith_block_target(h.author_iri, 4),
			kith_block_target(h.author_iri, 5), kith_block_target(h.author_iri, 6), kith_block_target(h.author_iri, 7))))`
}

// SearchPrefix reports whether SearchPosts takes word, typed last, as the
// start of words rather than as a whole word.
func SearchPrefix(word string) bool {
	return !plainWord(word) || len(word) >= minPrefix
}

// plainWord reports whether word is ASCII letters and digits only, which
// the index holds as they are.
func plainWord(word string) bool {
	for _, c := range []byte(word) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// lastWords returns the indexed words the last word typed stands for:
// the words it begins, at most n, in the index's (byte) order, so the word
// itself comes first when it is one; an empty list when none is indexed.
// A word of one or two characters stands for itself: "a" would stand for
// n words picked by their spelling, each of them held by most posts. A
// word beyond ASCII is first made what the index holds for it (the index
// folds case and diacritics: unicode61 remove_diacritics 2), which only
// FTS5 knows (wordFolder): "Café" is looked up as "cafe", and "Ça", which
// the index holds as "ca", stands for itself as "ca" typed does. It
// returns nil, for FTS5's own prefix query, for a word FTS5 cuts into
// several tokens or none, or when the folding fails: that query gives the
// same answer, only slower.
func (db *DB) lastWords(ctx context.Context, word string, n int) ([]string, error) {
	if !plainWord(word) {
		token, ok, err := db.fold.fold(ctx, word)
		if err != nil || !ok {
			return nil, nil
		}
		if plainWord(token) && len(token) < minPrefix {
			return []string{token}, nil
		}
		word = token
	} else if !SearchPrefix(word) {
		return []string{word}, nil
	}
	out := []string{}
	// Each step seeks to the first word after the last one found: a word
	// holds no control characters, so nothing sorts between it and
	// itself followed by \x01.
	from := word
	for len(out) < n {
		var term string
		err := db.reader(ctx).QueryRowContext(ctx, `SELECT term FROM posts_fts_terms WHERE term >= ? LIMIT 1`, from).Scan(&term)
		if errors.Is(err, sql.ErrNoRows) || err == nil && !strings.HasPrefix(term, word) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("store: search words: %w", err)
		}
		out = append(out, term)
		from = term + "\x01"
	}
	return out, nil
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
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT tag, count(*) AS n FROM post_tags
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
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+actorColumns+` FROM actors
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
