package sanitize

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Gaps between pieces of text, weakest first; the strongest one seen
// between two words wins.
const (
	noGap = iota
	spaceGap
	lineGap      // "\n"
	paragraphGap // "\n\n"
)

// Excerpt returns the plain text of an HTML fragment (see text) on a
// single line, for titles, feed summaries, OpenGraph descriptions and push
// notifications, cut to at most n runes at a word boundary and followed by
// "…" when it was cut. A single word longer than n is cut inside, but not between a
// letter and the marks combined with it. For n <= 0 it returns "".
func Excerpt(s string, n int) string {
	if n <= 0 {
		return ""
	}
	t := text(s, true)
	if utf8.RuneCountInString(t) <= n {
		return t
	}
	runes := []rune(t)
	cut := n
	if runes[cut] != ' ' {
		// Back up to the last space; failing that, cut the word.
		i := cut
		for i > 0 && runes[i-1] != ' ' {
			i--
		}
		if i > 0 {
			cut = i
		} else {
			for cut > 1 && joins(runes[cut-1], runes[cut]) {
				cut--
			}
		}
	}
	head := strings.TrimRight(string(runes[:cut]), " ,;:.")
	return head + "…"
}

// joins reports whether a cut between a and b would split what is read as
// one character: a combining mark, a variation selector, an emoji skin
// tone or a zero-width joiner sequence.
func joins(a, b rune) bool {
	return unicode.In(b, unicode.Mn, unicode.Me, unicode.Mc) ||
		b == '\u200d' || a == '\u200d' ||
		'\U0001F3FB' <= b && b <= '\U0001F3FF'
}

// text returns the plain text of an HTML fragment: tags dropped (and the
// content of the elements HTML drops), entities decoded, whitespace
// collapsed as a browser would, <br> as "\n", the edges of paragraphs,
// list items, quotes, preformatted blocks and headings as "\n\n", other
// blocks (div, table rows…) as "\n", or every break a space when oneLine.
// Runs of breaks collapse to one blank line at most; the result is
// trimmed.
func text(s string, oneLine bool) string {
	var w textWriter
	w.b.Grow(len(s) / 2)
	w.oneLine = oneLine
	l := newLexer(s)
	for l.next() {
		switch l.kind {
		case textToken:
			w.text(l.text)
		case startToken, endToken:
			f := elementFlags(l.name)
			switch {
			case l.name == "br":
				w.br()
			case f&kept != 0 && f&block != 0:
				w.gap(paragraphGap)
			case f&block != 0:
				w.gap(lineGap)
			case f&cell != 0:
				w.gap(spaceGap)
			}
			if l.name == "pre" {
				if l.kind == startToken {
					w.pre++
				} else if w.pre > 0 {
					w.pre--
				}
			}
		case droppedToken:
			if elementFlags(l.name)&block != 0 {
				w.gap(lineGap)
			}
			w.text(l.text)
		}
	}
	return w.b.String()
}

// textWriter writes words and the gaps between them, so that gaps at the
// start and end never appear.
type textWriter struct {
	b       strings.Builder
	gapped  int  // the gap owed before the next word
	started bool // a word has been written
	pre     int  // open <pre> elements, where newlines are breaks
	oneLine bool
}

func (w *textWriter) gap(g int) {
	w.gapped = max(w.gapped, g)
}

// br is a line break; two in a row make a paragraph break.
func (w *textWriter) br() {
	if w.gapped >= lineGap {
		w.gapped = paragraphGap
	} else {
		w.gapped = lineGap
	}
}

func (w *textWriter) text(t []byte) {
	for len(t) > 0 {
		c := t[0]
		if isSpace(c) {
			if c == '\n' && w.pre > 0 {
				w.br()
			} else {
				w.gap(spaceGap)
			}
			t = t[1:]
			continue
		}
		i := 1
		for i < len(t) && !isSpace(t[i]) {
			i++
		}
		if w.started {
			switch {
			case w.gapped == spaceGap || w.gapped > spaceGap && w.oneLine:
				w.b.WriteByte(' ')
			case w.gapped == lineGap:
				w.b.WriteByte('\n')
			case w.gapped == paragraphGap:
				w.b.WriteString("\n\n")
			}
		}
		w.b.Write(t[:i])
		w.started, w.gapped = true, noGap
		t = t[i:]
	}
}
