package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestWordFolderTokenizer: the folder tokenizes as the search index does
// (the same tokenizer in posts_fts's schema), makes one token of a word
// with diacritics, none or several where FTS5 does, and opens again after
// a release. SearchHits, folding a character at a time, agrees.
func TestWordFolderTokenizer(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "kith.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var schema string
	if err := db.r.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'posts_fts'`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(schema, "tokenize = '"+searchTokenizer+"'") {
		t.Fatalf("posts_fts is not tokenized with %q: %s", searchTokenizer, schema)
	}
	for _, tt := range []struct {
		word, token string
		ok          bool
	}{
		{"café", "cafe", true},
		{"cafe\u0301", "cafe", true}, // a combining accent
		{"ÇA", "ca", true},
		{"straße", "straße", true},
		{"ſtraße", "straße", true}, // FTS5 folds the long s; Go's ToLower does not
		{"日本語", "日本語", true},
		{"ǡ", "ǡ", true},        // two diacritics: FTS5 keeps it; NFD would strip both
		{"a\u0305b", "", false}, // U+0305 separates for FTS5, though a mark for Go
		{"\u0901", "", false},   // a Devanagari sign alone: a separator
		{"Az09", "az09", true},
		{"ZYXW", "zyxw", true},
	} {
		token, ok, err := db.fold.fold(ctx, tt.word)
		if err != nil || token != tt.token || ok != tt.ok {
			t.Errorf("fold(%q) = %q, %v, %v; want %q, %v", tt.word, token, ok, err, tt.token, tt.ok)
		}
		// Folded a character at a time (SearchHits), the word makes the
		// same tokens: unicode61 folds code points one by one.
		folds, err := db.fold.runeFolds(ctx, []rune(tt.word))
		if err != nil {
			t.Fatal(err)
		}
		m := searchMatcher{folds: folds}
		var tokens []string
		m.tokens(tt.word, func(_, _ int, tok []byte) { tokens = append(tokens, string(tok)) })
		if ok := len(tokens) == 1; ok != tt.ok || ok && tokens[0] != tt.token {
			t.Errorf("runeFolds: %q makes %q; want %q, one token %v", tt.word, tokens, tt.token, tt.ok)
		}
		if err := db.ReleaseMemory(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
