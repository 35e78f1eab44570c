package store

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// SearchHits returns, for each of texts, the byte ranges of the words that
// a search for terms (SearchTerms) matched in it, in order: a word is
// matched when the index's token for it equals the token of a term, or, for
// the last term when SearchPosts takes it as the start of words, starts
// with it; then only the part of the word that the term's letters cover is
// given ("river" in "Riverbank"). Words are cut and folded as the index
// cuts and folds them (case and diacritics: "cafe" matches "Café", "Délív"
// "delivery"), which only FTS5 knows (see wordFolder): one call to it for
// the page, none when the terms and texts are ASCII.
func (db *DB) SearchHits(ctx context.Context, terms []string, texts []string) ([][][2]int, error) {
	var wide []rune
	seen := map[rune]bool{}
	for _, list := range [][]string{texts, terms} {
		for _, s := range list {
			for _, r := range s {
				if r >= utf8.RuneSelf && !seen[r] {
					seen[r] = true
					wide = append(wide, r)
				}
			}
		}
	}
	folds, err := db.fold.runeFolds(ctx, wide)
	if err != nil {
		return nil, err
	}
	m := searchMatcher{folds: folds}
	m.setTerms(terms)
	out := make([][][2]int, len(texts))
	for i, s := range texts {
		out[i] = m.find(s)
	}
	return out, nil
}

// runeFold is what the index's tokenizer makes of one character beyond
// ASCII: a separator between words, or a letter of a word, folded to
// folded ("" when folding removes it, as it removes a combining accent).
// unicode61 tokenizes and folds one code point at a time, so a word's
// token is its characters' folds put together.
type runeFold struct {
	folded string
	sep    bool
}

// searchMatcher finds in text the words a search matched (SearchHits).
type searchMatcher struct {
	folds  map[rune]runeFold // every character beyond ASCII of the text and the terms
	words  []string          // tokens matched whole
	prefix string            // the token matched as the start of words; "" if none
}

// setTerms makes the tokens of terms as the search's FTS5 query makes them
// (ftsQuery, lastWords): each term is a quoted phrase of its tokens, all of
// them matched whole but the last term's last one, the start of words
// unless it is one or two ASCII letters or digits.
func (m *searchMatcher) setTerms(terms []string) {
	for i, t := range terms {
		var toks []string
		m.tokens(t, func(_, _ int, tok []byte) { toks = append(toks, string(tok)) })
		if len(toks) == 0 {
			continue
		}
		if i == len(terms)-1 {
			last := toks[len(toks)-1]
			if len(toks) > 1 || !plainWord(last) || len(last) >= minPrefix {
				m.prefix = last
				toks = toks[:len(toks)-1]
			}
		}
		m.words = append(m.words, toks...)
	}
}

// tokens calls fn with the byte range and the folded token of each word
// of s, as unicode61 cuts them: ASCII letters and digits, lower case, and
// the characters beyond ASCII that m.folds says belong to words. The token
// is valid during the call only: one buffer serves every word, so that a
// page's thousands of words cost no allocation each.
func (m *searchMatcher) tokens(s string, fn func(start, end int, token []byte)) {
	var b []byte
	start := -1
	flush := func(end int) {
		if start >= 0 && len(b) > 0 {
			fn(start, end, b)
		}
		start = -1
		b = b[:0]
	}
	for i, r := range s {
		folded, word := m.fold(r)
		if !word {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
		}
		b = append(b, folded...)
	}
	flush(len(s))
}

// fold returns what the tokenizer makes of r, and whether r belongs to a
// word. A character m.folds lacks is taken as a separator.
func (m *searchMatcher) fold(r rune) (string, bool) {
	switch {
	case r >= '0' && r <= '9':
		return asciiWords[r-'0' : r-'0'+1], true
	case r >= 'a' && r <= 'z':
		return asciiWords[10+r-'a' : 11+r-'a'], true
	case r >= 'A' && r <= 'Z':
		return asciiWords[10+r-'A' : 11+r-'A'], true
	case r < utf8.RuneSelf:
		return "", false
	}
	f, ok := m.folds[r]
	return f.folded, ok && !f.sep
}

// asciiWords are the ASCII characters of words as the index holds them,
// so that the fold of one is a substring of this, not a new string.
const asciiWords = "0123456789abcdefghijklmnopqrstuvwxyz"

// find returns the byte ranges of the matched words of s, in order.
func (m *searchMatcher) find(s string) [][2]int {
	if len(m.words) == 0 && m.prefix == "" {
		return nil
	}
	var out [][2]int
	m.tokens(s, func(start, end int, tok []byte) {
		for _, w := range m.words {
			if string(tok) == w {
				out = append(out, [2]int{start, end})
				return
			}
		}
		if p := m.prefix; p != "" && len(tok) >= len(p) && string(tok[:len(p)]) == p {
			out = append(out, [2]int{start, start + m.prefixLen(s[start:end])})
		}
	})
	return out
}

// prefixLen returns how many bytes of word, a word whose token starts with
// m.prefix, make that start: its characters up to the one whose fold
// completes it, and the characters folded away right after (a combining
// accent stays with its letter).
func (m *searchMatcher) prefixLen(word string) int {
	n := 0
	for i, r := range word {
		folded, _ := m.fold(r)
		if n >= len(m.prefix) && folded != "" {
			return i
		}
		n += len(folded)
	}
	return len(word)
}

// maxRuneFolds bounds the characters whose folds wordFolder keeps: a page
// of Chinese or Japanese posts asks for a few thousand.
const maxRuneFolds = 20_000

// runeFolds returns what the index's tokenizer makes of each of rs,
// characters beyond ASCII, asking FTS5 once for those it was not asked
// about before. Each is written between two q's, "qXq", all in one row:
// the row's tokens, in order, are then "q" and "q" for a separator, or
// "q" + its fold + "q" (a fold of q itself makes "qqq", never "q").
func (f *wordFolder) runeFolds(ctx context.Context, rs []rune) (map[rune]runeFold, error) {
	out := make(map[rune]runeFold, len(rs))
	f.mu.Lock()
	defer f.mu.Unlock()
	var ask []rune
	for _, r := range rs {
		if v, ok := f.runes[r]; ok {
			out[r] = v
		} else {
			ask = append(ask, r)
		}
	}
	if len(ask) == 0 {
		return out, nil
	}
	if err := f.open(ctx); err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, r := range ask {
		b.WriteString("q")
		b.WriteRune(r)
		b.WriteString("q ")
	}
	toks, err := f.rowTokens(ctx, b.String())
	if err != nil {
		return nil, err
	}
	for _, r := range ask {
		if len(toks) == 0 {
			return nil, fmt.Errorf("store: fold search text: too few tokens")
		}
		var v runeFold
		if t := toks[0]; t == "q" {
			if len(toks) < 2 || toks[1] != "q" {
				return nil, fmt.Errorf("store: fold search text: %q after a separator", toks[:min(2, len(toks))])
			}
			v.sep = true
			toks = toks[2:]
		} else {
			v.folded = strings.TrimSuffix(strings.TrimPrefix(t, "q"), "q")
			toks = toks[1:]
		}
		out[r] = v
		if len(f.runes) >= maxRuneFolds {
			clear(f.runes)
		}
		if f.runes == nil {
			f.runes = map[rune]runeFold{}
		}
		f.runes[r] = v
	}
	return out, nil
}
