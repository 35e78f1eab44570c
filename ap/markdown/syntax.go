package markdown

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// kindMention and kindHashtag identify our AST nodes. goldmark hands out node
// kinds from a global counter that is not safe to call concurrently, so they
// are taken once, at package initialisation, and never change.
var (
	kindMention = ast.NewNodeKind("Mention")
	kindHashtag = ast.NewNodeKind("Hashtag")
)

// mentionNode is an @user@host in the text. href is filled in by resolve for
// one render; empty means the mention is rendered as plain text.
type mentionNode struct {
	ast.BaseInline
	mention Mention
	segment text.Segment
	href    string
}

func (n *mentionNode) Kind() ast.NodeKind { return kindMention }

func (n *mentionNode) Dump(source []byte, level int) {
	ast.DumpHelper(n, source, level, map[string]string{"Mention": n.mention.String()}, nil)
}

// hashtagNode is a #tag in the text; tag is as written, without '#'.
type hashtagNode struct {
	ast.BaseInline
	tag     string
	segment text.Segment
	href    string
}

func (n *hashtagNode) Kind() ast.NodeKind { return kindHashtag }

func (n *hashtagNode) Dump(source []byte, level int) {
	ast.DumpHelper(n, source, level, map[string]string{"Tag": n.tag}, nil)
}

// mentionParser recognises @user@host. goldmark only calls it for an '@' that
// is not backslash-escaped and not already consumed by a code span, link
// destination, autolink or linkify URL (linkify also takes e-mail addresses).
type mentionParser struct{}

func (mentionParser) Trigger() []byte { return []byte{'@'} }

func (mentionParser) Parse(_ ast.Node, block text.Reader, pc parser.Context) ast.Node {
	line, seg := block.PeekLine()
	if seg.Padding != 0 || len(line) == 0 || line[0] != '@' ||
		!boundaryBefore(block.PrecendingCharacter()) || inURL(block.Source(), seg.Start, pc) {
		return nil
	}
	m, n := scanMention(line)
	if n == 0 {
		return nil
	}
	block.Advance(n)
	return &mentionNode{mention: m, segment: text.NewSegment(seg.Start, seg.Start+n)}
}

func (mentionParser) CloseBlock(ast.Node, parser.Context) {}

// hashtagParser recognises #tag, under the same conditions as mentionParser.
type hashtagParser struct{}

func (hashtagParser) Trigger() []byte { return []byte{'#'} }

func (hashtagParser) Parse(_ ast.Node, block text.Reader, pc parser.Context) ast.Node {
	line, seg := block.PeekLine()
	if seg.Padding != 0 || len(line) == 0 || line[0] != '#' ||
		!boundaryBefore(block.PrecendingCharacter()) || inURL(block.Source(), seg.Start, pc) {
		return nil
	}
	tag, n := scanHashtag(line)
	if n == 0 {
		return nil
	}
	block.Advance(n)
	return &hashtagNode{tag: tag, segment: text.NewSegment(seg.Start, seg.Start+n)}
}

func (hashtagParser) CloseBlock(ast.Node, parser.Context) {}

// scanMention reads "@user@host[:port]" at the start of b and returns it with
// its length in bytes, or n == 0. user is ASCII letters, digits, '_', '.' and
// '-'; host is dot-separated labels of letters and digits (IDN labels
// allowed) with inner hyphens, so a trailing '.' is not part of it: two or
// more labels, or one with a port or "localhost". A mention must not run
// straight into a word character or another '@'.
func scanMention(b []byte) (m Mention, n int) {
	i := 1
	for i < len(b) && isUserByte(b[i]) {
		i++
	}
	if i == 1 || i >= len(b) || b[i] != '@' {
		return Mention{}, 0
	}
	user := b[1:i]
	hostStart := i + 1
	end, labels := hostStart, 0
	for j := hostStart; ; {
		k := scanLabel(b, j)
		if k == j {
			break
		}
		end, labels = k, labels+1
		if k+1 < len(b) && b[k] == '.' {
			j = k + 1
			continue
		}
		break
	}
	if labels == 0 {
		return Mention{}, 0
	}
	port := false
	if end < len(b) && b[end] == ':' {
		k := end + 1
		for k < len(b) && b[k] >= '0' && b[k] <= '9' {
			k++
		}
		if digits := k - end - 1; digits >= 1 && digits <= 5 {
			end, port = k, true
		}
	}
	// A single-label host is a mention only where it cannot be prose
	// ("@bob@work"): with a port (@me@localhost:8080, @me@pi:8080, a
	// server on the LAN) or when it is localhost.
	if labels == 1 && !port && !strings.EqualFold(string(b[hostStart:end]), "localhost") {
		return Mention{}, 0
	}
	if end < len(b) {
		if r, _ := utf8.DecodeRune(b[end:]); isWordRune(r) || r == '@' {
			return Mention{}, 0
		}
	}
	return Mention{Username: string(user), Host: string(b[hostStart:end])}, end
}

func isUserByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// scanLabel returns the end of the domain label starting at b[i], or i if
// there is none. Hyphens count only between letters or digits.
func scanLabel(b []byte, i int) int {
	end := i
	for j := i; j < len(b); {
		r, size := utf8.DecodeRune(b[j:])
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			j += size
			end = j
		case r == '-' && end > i:
			j += size
		default:
			return end
		}
	}
	return end
}

// scanHashtag reads "#tag" at the start of b: letters (any script), combining
// marks, digits and '_', with at least one non-digit so "#1" stays a number.
// Anything else, such as trailing punctuation, ends the tag.
func scanHashtag(b []byte) (tag string, n int) {
	i, nonDigit := 1, false
	for i < len(b) {
		r, size := utf8.DecodeRune(b[i:])
		if !isWordRune(r) {
			break
		}
		if !unicode.IsDigit(r) {
			nonDigit = true
		}
		i += size
	}
	if !nonDigit {
		return "", 0
	}
	return string(b[1:i]), i
}

// isWordRune reports whether r is a word character, which can neither
// precede a mention or hashtag nor follow one.
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// boundaryBefore reports whether a mention or hashtag may follow r: not
// "x#y", "a/@b@c", "a@b@c". '&' is excluded as well so that character
// references such as "&#x41;" keep working.
func boundaryBefore(r rune) bool {
	return !isWordRune(r) && r != '/' && r != '@' && r != '&'
}

// urlWordKey keeps a *urlWord in the parse context. Like the node kinds it
// comes from a goldmark counter and is taken once at initialisation.
var urlWordKey = parser.NewContextKey()

// urlWord remembers the space-delimited word examined by the last inURL call
// of one parse: source[start:end] has no space, and hasScheme says whether it
// contains "://". A long word full of '#' or '@' is then read once, not once
// per character.
type urlWord struct {
	start, end int
	hasScheme  bool
}

// inURL reports whether source[pos] sits in a space-delimited word containing
// "://": a URL that linkify did not turn into a link (it only starts links
// after spaces and a few delimiters), whose "#fragment" is not a hashtag.
func inURL(source []byte, pos int, pc parser.Context) bool {
	w, _ := pc.Get(urlWordKey).(*urlWord)
	if w == nil {
		w = &urlWord{}
		pc.Set(urlWordKey, w)
	}
	if w.end > 0 && w.end <= pos && !bytes.ContainsFunc(source[w.end:pos], isSpace) {
		// Same word as last time: only the new part needs reading. No "://"
		// can span the seam, as source[w.end] is the previous '#' or '@'.
		w.hasScheme = w.hasScheme || bytes.Contains(source[w.end:pos], schemeSep)
		w.end = pos
		return w.hasScheme
	}
	start := pos
	for start > 0 && !isSpaceByte(source[start-1]) {
		start--
	}
	*w = urlWord{start: start, end: pos, hasScheme: bytes.Contains(source[start:pos], schemeSep)}
	return w.hasScheme
}

var schemeSep = []byte("://")

func isSpace(r rune) bool { return r < 0x80 && isSpaceByte(byte(r)) }

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// tidyTree runs after inline parsing and does two things.
//
// It turns mentions and hashtags inside link and image texts back into text.
// They are parsed there because goldmark only learns at the closing "](" that
// brackets form a link, and "[#tag]" on its own keeps its hashtag.
//
// It rejoins text that goldmark split where a '#' or '@' was tried and turned
// out not to start a mention or hashtag: the HTML renderer resolves character
// references per text node, so "&#x41;" split into "&" and "#x41;" would show
// literally instead of as "A".
type tidyTree struct{}

func (tidyTree) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	var inLinks []ast.Node
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Text:
			joinText(n)
		case *ast.Link, *ast.Image:
			_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
				switch c.(type) {
				case *mentionNode, *hashtagNode:
					if entering {
						inLinks = append(inLinks, c)
					}
				case *ast.Text:
					if entering {
						joinText(c.(*ast.Text))
					}
				}
				return ast.WalkContinue, nil
			})
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	for _, n := range inLinks {
		var seg text.Segment
		switch n := n.(type) {
		case *mentionNode:
			seg = n.segment
		case *hashtagNode:
			seg = n.segment
		}
		n.Parent().ReplaceChild(n.Parent(), n, ast.NewTextSegment(seg))
	}
}

// joinText merges into t the text siblings that directly continue it in the
// source on the same line. Only later siblings are removed, so it is safe
// while ast.Walk is visiting t.
func joinText(t *ast.Text) {
	for !t.SoftLineBreak() && !t.HardLineBreak() && !t.IsRaw() {
		next, ok := t.NextSibling().(*ast.Text)
		if !ok || next.IsRaw() || next.Segment.Start != t.Segment.Stop || next.Segment.Padding != 0 {
			return
		}
		t.Segment = t.Segment.WithStop(next.Segment.Stop)
		t.SetSoftLineBreak(next.SoftLineBreak())
		t.SetHardLineBreak(next.HardLineBreak())
		t.Parent().RemoveChild(t.Parent(), next)
	}
}
