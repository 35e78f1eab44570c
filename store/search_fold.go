package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// searchTokenizer is the search index's tokenizer (posts_fts, migration
// 0028). wordFolder tokenizes with it too; TestWordFolderTokenizer checks
// that the two agree.
const searchTokenizer = `unicode61 remove_diacritics 2`

// wordFolder tells what the search index holds for a word typed with
// letters beyond ASCII, by asking FTS5 itself: an in-memory database of
// its own, apart from kith's file and its single writer, holds a
// one-row FTS5 table with the index's tokenizer, and the word's tokens are
// read back from its vocabulary. FTS5 folds case and diacritics with its
// own Unicode tables, which disagree with Go's for hundreds of characters
// (letters Go knows and FTS5 does not, marks it takes for separators, "ſ"
// folded to "s", "ǡ" kept): redone in Go, a word folded otherwise would
// find nothing. The database is opened at the first such search and
// closed by DB.ReleaseMemory, so an idle kith holds none.
type wordFolder struct {
	mu    sync.Mutex
	db    *sql.DB           // nil until first use, and after release
	runes map[rune]runeFold // characters folded before (runeFolds), until release
}

// fold returns the one token FTS5 makes of word; ok is false when it makes
// none or several, which only FTS5's own query handles.
func (f *wordFolder) fold(ctx context.Context, word string) (token string, ok bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.open(ctx); err != nil {
		return "", false, err
	}
	tokens, err := f.rowTokens(ctx, word)
	if err != nil {
		return "", false, err
	}
	if len(tokens) != 1 {
		return "", false, nil
	}
	return tokens[0], true, nil
}

// open opens the in-memory database if it is not open. f.mu is held.
func (f *wordFolder) open(ctx context.Context) error {
	if f.db != nil {
		return nil
	}
	db, err := openFolder(ctx)
	if err != nil {
		return fmt.Errorf("store: fold search words: %w", err)
	}
	f.db = db
	return nil
}

// rowTokens stores text as the table's one row and reads back its tokens
// in order. f.mu is held and the database open.
func (f *wordFolder) rowTokens(ctx context.Context, text string) ([]string, error) {
	out, err := f.readTokens(ctx, text)
	if err != nil {
		// A connection the pool replaced would be an empty database:
		// start afresh next time.
		f.db.Close()
		f.db = nil
		return nil, fmt.Errorf("store: fold search words: %w", err)
	}
	return out, nil
}

func (f *wordFolder) readTokens(ctx context.Context, text string) ([]string, error) {
	if _, err := f.db.ExecContext(ctx, `INSERT OR REPLACE INTO fold (rowid, word) VALUES (1, ?)`, text); err != nil {
		return nil, err
	}
	rows, err := f.db.QueryContext(ctx, `SELECT term FROM fold_terms ORDER BY offset`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// openFolder opens the in-memory database with its table. One connection,
// kept: each connection to ":memory:" is a database of its own.
func openFolder(ctx context.Context) (*sql.DB, error) {
	db, err := openPool(":memory:", Options{})
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	for _, q := range []string{
		`CREATE VIRTUAL TABLE fold USING fts5(word, tokenize = '` + searchTokenizer + `')`,
		// "instance": a row per occurrence, so that a word FTS5 cuts into
		// the same token twice counts as two.
		`CREATE VIRTUAL TABLE fold_terms USING fts5vocab(fold, instance)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// release closes the in-memory database until the next fold.
func (f *wordFolder) release() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runes = nil
	if f.db == nil {
		return nil
	}
	err := f.db.Close()
	f.db = nil
	return err
}
