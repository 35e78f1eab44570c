package sanitize

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// kind is the kind of token the lexer hands out.
type kind uint8

const (
	textToken    kind = iota + 1
	startToken        // also self-closing tags: HTML ignores the slash on non-void elements
	endToken          // an end tag
	droppedToken      // a whole dropped element; text holds "$TeX$" for math that has it
	otherToken        // a comment or doctype: no output, but it is the token after <pre>
)

// lexer reads the tokens of an HTML fragment and skips the content of
// dropped elements, reporting each of them as a single droppedToken.
type lexer struct {
	z           *html.Tokenizer
	kind        kind
	name        string // tag name, lower case
	text        []byte // text, unescaped; valid until the next call to next
	selfClosing bool
	hasAttr     bool
}

func newLexer(s string) *lexer {
	return &lexer{z: html.NewTokenizer(strings.NewReader(clean(s)))}
}

// clean makes s valid UTF-8 without NUL bytes, as a browser's input stream
// would be, so nothing downstream has to think about them.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}

// next advances to the next token and reports whether there is one.
func (l *lexer) next() bool {
	tt := l.z.Next()
	switch tt {
	case html.ErrorToken:
		return false
	case html.TextToken:
		l.kind, l.text = textToken, l.z.Text()
	case html.StartTagToken, html.SelfClosingTagToken:
		name, hasAttr := l.z.TagName()
		l.name, l.hasAttr, l.selfClosing = tagName(name), hasAttr, tt == html.SelfClosingTagToken
		l.kind = startToken
		if elementFlags(l.name)&dropped != 0 {
			l.kind = droppedToken
			l.skip()
		}
	case html.EndTagToken:
		name, _ := l.z.TagName()
		l.kind, l.name = endToken, tagName(name)
	default:
		l.kind = otherToken
	}
	return true
}

// tagName returns the tag name as a string, without allocating for the
// known ones.
func tagName(b []byte) string {
	if a := atom.Lookup(b); a != 0 {
		return a.String()
	}
	return string(b)
}

// skip consumes the content of the dropped element just started, up to its
// matching end tag (or the end of input). For <math> it keeps the TeX
// source of an <annotation encoding="application/x-tex">, which Mastodon
// shows as $…$ (FEP-dc88).
func (l *lexer) skip() {
	l.text = nil
	foreign := l.name == "svg" || l.name == "math"
	if elementFlags(l.name)&void != 0 || foreign && l.selfClosing {
		// Foreign elements honour the self-closing slash; HTML ones do not.
		return
	}
	var tex []byte
	inTeX, haveTeX := false, false
	for depth := 1; depth > 0; {
		tt := l.z.Next()
		switch tt {
		case html.ErrorToken:
			depth = 0
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := l.z.TagName()
			if string(name) == l.name && !(foreign && tt == html.SelfClosingTagToken) {
				depth++
			}
			if l.name == "math" && !haveTeX && tt == html.StartTagToken && string(name) == "annotation" && hasAttr {
				inTeX = isTeX(l.z)
			}
		case html.EndTagToken:
			name, _ := l.z.TagName()
			if string(name) == l.name {
				depth--
			}
			if inTeX && string(name) == "annotation" {
				inTeX, haveTeX = false, true
			}
		case html.TextToken:
			if inTeX {
				tex = append(tex, l.z.Text()...)
			}
		}
	}
	if tex = bytes.TrimSpace(tex); len(tex) > 0 {
		l.text = append(append([]byte{'$'}, tex...), '$')
	}
}

// isTeX reports whether the current start tag has
// encoding="application/x-tex".
func isTeX(z *html.Tokenizer) bool {
	for more := true; more; {
		var k, v []byte
		k, v, more = z.TagAttr()
		if string(k) == "encoding" {
			return bytes.EqualFold(bytes.TrimSpace(v), []byte("application/x-tex"))
		}
	}
	return false
}
