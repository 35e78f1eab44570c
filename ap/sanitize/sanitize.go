// Package sanitize reduces HTML from other servers to a small allowlist
// before kith stores or shows it, and turns such HTML into plain text.
//
// The allowlist is Mastodon's strict profile (protocol.md §7), so a post
// looks the same here as on Mastodon:
//
//   - Kept: p br span a del s pre blockquote code b strong u i em ul ol li
//     ruby rt rp. Headings h1–h6 become <p><strong>…</strong></p>.
//   - Dropped with their content: script style template iframe object embed
//     noscript textarea select title head noembed noframes plaintext xmp,
//     and svg and math with everything in them (the only ways into a
//     foreign namespace). A <math> carrying an
//     <annotation encoding="application/x-tex"> is replaced by its TeX
//     source as "$…$" text.
//   - Every other element is unwrapped: the tag goes, its text stays.
//     Where an unwrapped block (div, table row, section, hr…) separated
//     text, a <br> takes its place so words of neighbouring blocks are not
//     glued together; table cells are kept apart by a space.
//   - Attributes: lang on any element (if it looks like a language tag);
//     a: href rel class translate; span: class translate; p: class;
//     ol: start reversed; li: value. translate only as "no", start and
//     value only as integers, class only with the tokens h-*, p-*, u-*,
//     dt-*, e-*, mention, hashtag, ellipsis, invisible, quote-inline.
//   - Links: href must be absolute with one of the schemes http https dat
//     dweb ipfs ipns ssb gopher xmpp magnet gemini; otherwise the <a> is
//     replaced by its content. Kept links get
//     rel="nofollow noopener noreferrer" (plus the sender's "tag" and "me")
//     and target="_blank".
//   - Comments, doctypes and processing instructions are dropped; at most
//     100 elements are nested in the output (deeper ones keep their text).
//
// HTML works on the token stream of golang.org/x/net/html rather than on a
// parsed tree: it is linear in the input, has no nesting limit of its own
// to trip over, and writes the kept tags in input order, each closed in
// the order it was opened. It imitates the few rules of the HTML tree
// builder that matter for sloppy markup (a block start tag closes an open
// <p>, an <li> closes the previous <li>, an <a> closes an open <a>, end
// tags of ordinary elements do not close past blocks), and it never writes
// a nesting the tree builder would rearrange, so a browser builds exactly
// the tree the output spells out and sanitising the output again changes
// nothing.
package sanitize

import (
	"iter"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/html"
)

const (
	// maxDepth bounds the nesting of the output, so hostile input cannot
	// make pages that other parsers or renderers choke on.
	maxDepth = 100
	// maxOpen bounds the elements tracked while reading (kept or not).
	// Elements nested deeper are read as text, which keeps every walk of
	// the stack short whatever the input.
	maxOpen = 256
)

// element is an element open while reading the input.
type element struct {
	name   string
	flags  flags
	levels int // output elements it opened: 0 when unwrapped, 1 when kept, 2 for a heading
}

// sanitizer holds the state of one HTML call.
type sanitizer struct {
	out   strings.Builder
	stack []element
	depth int // output elements open

	// Line state, for the breaks that stand in for unwrapped blocks.
	lineEmpty bool // nothing visible since the output last began a line
	pendingBR bool // an unwrapped block ended the line: <br> before more text
	pendingSP bool // a table cell began: a space before more text

	// The HTML parser drops a newline right after <pre>. preInput says the
	// input's next token follows a <pre> start tag; preOutput says the
	// output's next write follows one, so a text starting with a newline
	// gets an extra one to survive the browser.
	preInput, preOutput bool
}

// HTML returns s reduced to the allowlist described in the package
// documentation; the result is safe to put into a page as template.HTML.
// HTML(HTML(s)) == HTML(s).
func HTML(s string) string {
	st := sanitizer{lineEmpty: true, stack: make([]element, 0, 16)}
	st.out.Grow(len(s) + len(s)/4)
	l := newLexer(s)
	for l.next() {
		afterPre := st.preInput
		st.preInput = false
		switch l.kind {
		case textToken:
			text := l.text
			if afterPre && len(text) > 0 && text[0] == '\n' {
				text = text[1:]
			}
			st.text(text)
		case startToken:
			st.start(l)
		case endToken:
			st.end(l.name)
		case droppedToken:
			f := elementFlags(l.name)
			if f&closesP != 0 {
				st.closeP()
			}
			if f&block != 0 {
				st.boundary()
			}
			st.text(l.text)
		}
	}
	for len(st.stack) > 0 {
		st.pop()
	}
	return st.out.String()
}

// write writes markup.
func (st *sanitizer) write(s string) {
	st.out.WriteString(s)
	st.preOutput = false
}

// lineStart records that the output just began a new line.
func (st *sanitizer) lineStart() {
	st.lineEmpty, st.pendingBR, st.pendingSP = true, false, false
}

// boundary records the edge of an unwrapped block. A <br> is written only
// once visible text follows on a line that already has some, so blocks at
// the edges or next to kept blocks leave no stray breaks.
func (st *sanitizer) boundary() {
	if !st.lineEmpty {
		st.pendingBR = true
	}
}

func (st *sanitizer) br() {
	st.write("<br>")
	st.lineStart()
}

func (st *sanitizer) text(t []byte) {
	if len(t) == 0 {
		return
	}
	if visible(t) {
		switch {
		case st.pendingBR:
			st.br()
		case st.pendingSP && !isSpace(t[0]):
			st.write(" ")
		}
		st.pendingSP = false
		st.lineEmpty = false
	}
	if st.preOutput && t[0] == '\n' {
		st.out.WriteByte('\n')
	}
	st.preOutput = false
	escape(&st.out, t)
}

func (st *sanitizer) start(l *lexer) {
	name := l.name
	f := elementFlags(name)
	if name == "html" || name == "body" {
		return // ignored inside a body
	}
	if f&closesP != 0 {
		st.closeP()
	}
	switch name {
	case "li":
		st.closeLI()
	case "a":
		if i := st.find("a"); i >= 0 {
			st.popTo(i)
		}
	case "rt", "rp":
		if n := len(st.stack); n > 0 && (st.stack[n-1].name == "rt" || st.stack[n-1].name == "rp") {
			st.pop()
		}
	}
	if f&void != 0 {
		switch {
		case name == "br":
			st.br()
		case f&block != 0:
			st.boundary()
		}
		return
	}
	if name == "pre" {
		st.preInput = true
	}
	if len(st.stack) >= maxOpen {
		if f&block != 0 {
			st.boundary()
		}
		return
	}
	e := element{name: name, flags: f}
	if f&kept != 0 {
		st.open(&e, l)
	}
	switch {
	case e.levels > 0 && f&block != 0:
		st.lineStart()
	case e.levels == 0 && f&block != 0:
		st.boundary()
	case f&cell != 0 && !st.lineEmpty:
		st.pendingSP = true
	}
	st.stack = append(st.stack, e)
}

// open writes the start tag of a kept element and sets e.levels, unless
// the element has to be unwrapped after all: a link without a usable href,
// nesting beyond maxDepth, or a ruby annotation outside a ruby (where a
// browser would move it).
func (st *sanitizer) open(e *element, l *lexer) {
	levels := 1
	if isHeading(e.name) {
		levels = 2
	}
	if st.depth+levels > maxDepth {
		return
	}
	if (e.name == "rt" || e.name == "rp") && st.parent() != "ruby" {
		return
	}
	a := readAttrs(l)
	var href string
	if e.name == "a" {
		var ok bool
		if href, ok = safeHref(a.href); !ok {
			return
		}
	}
	b := &st.out
	switch e.name {
	case "h1", "h2", "h3", "h4", "h5", "h6":
		b.WriteString("<p")
		writeLang(b, a)
		b.WriteString("><strong>")
	case "a":
		b.WriteString(`<a href="`)
		escapeString(b, href)
		b.WriteByte('"')
		writeClass(b, a)
		b.WriteString(` rel="nofollow noopener noreferrer`)
		writeRel(b, a.rel)
		b.WriteString(`" target="_blank"`)
		writeTranslate(b, a)
		writeLang(b, a)
		b.WriteByte('>')
	default:
		b.WriteByte('<')
		b.WriteString(e.name)
		switch e.name {
		case "span":
			writeClass(b, a)
			writeTranslate(b, a)
		case "p":
			writeClass(b, a)
		case "ol":
			writeInt(b, "start", a.start)
			if a.reversed {
				b.WriteString(" reversed")
			}
		case "li":
			writeInt(b, "value", a.value)
		}
		writeLang(b, a)
		b.WriteByte('>')
	}
	st.preOutput = e.name == "pre"
	e.levels = levels
	st.depth += levels
}

// parent returns the name of the innermost element open in the output.
func (st *sanitizer) parent() string {
	for i := len(st.stack) - 1; i >= 0; i-- {
		if st.stack[i].levels > 0 {
			return st.stack[i].name
		}
	}
	return ""
}

func (st *sanitizer) end(name string) {
	if name == "br" {
		st.br() // browsers read </br> as <br>
		return
	}
	i := -1
	switch f := elementFlags(name); {
	case name == "html" || name == "body":
	case isHeading(name):
		// Any heading's end tag closes the open heading.
		for j := len(st.stack) - 1; j >= 0; j-- {
			if isHeading(st.stack[j].name) {
				i = j
				break
			}
		}
	case name == "li":
		for j := len(st.stack) - 1; j >= 0; j-- {
			if n := st.stack[j].name; n == "li" {
				i = j
				break
			} else if n == "ul" || n == "ol" {
				break
			}
		}
	case f&(special|formatting) != 0:
		i = st.find(name)
	default:
		// An ordinary end tag closes its element unless a special one
		// (a block, say) is open inside it.
		for j := len(st.stack) - 1; j >= 0; j-- {
			if st.stack[j].name == name {
				i = j
				break
			}
			if st.stack[j].flags&special != 0 {
				break
			}
		}
	}
	if i >= 0 {
		st.popTo(i)
	}
}

// find returns the index of the innermost open element called name, or -1.
func (st *sanitizer) find(name string) int {
	for i := len(st.stack) - 1; i >= 0; i-- {
		if st.stack[i].name == name {
			return i
		}
	}
	return -1
}

// closeP closes an open paragraph (or heading, which is one in the
// output) before a block starts, as browsers do; so the output never
// nests a block inside a <p>, which a browser would take apart.
func (st *sanitizer) closeP() {
	for i := len(st.stack) - 1; i >= 0; i-- {
		if n := st.stack[i].name; n == "p" || isHeading(n) {
			st.popTo(i)
			return
		}
	}
}

// closeLI closes the list item an <li> start tag ends: the innermost one
// not inside another list, quote or preformatted block. (The HTML parser
// stops at more kinds of elements, but only these survive in the output,
// and an <li> directly inside an <li> would not survive a browser.)
func (st *sanitizer) closeLI() {
	for i := len(st.stack) - 1; i >= 0; i-- {
		switch st.stack[i].name {
		case "li":
			st.popTo(i)
			return
		case "ul", "ol", "blockquote", "pre":
			return
		}
	}
}

// popTo closes the open elements down to and including the one at i.
func (st *sanitizer) popTo(i int) {
	for len(st.stack) > i {
		st.pop()
	}
}

func (st *sanitizer) pop() {
	e := st.stack[len(st.stack)-1]
	st.stack = st.stack[:len(st.stack)-1]
	if e.levels > 0 {
		if e.levels == 2 {
			st.write("</strong></p>")
		} else {
			st.write("</")
			st.write(e.name)
			st.write(">")
		}
		st.depth -= e.levels
		if e.flags&block != 0 {
			st.lineStart()
		}
	} else if e.flags&block != 0 {
		st.boundary()
	}
}

// attrs holds the attributes HTML may keep, first occurrence winning as in
// browsers.
type attrs struct {
	href, rel, class, translate, lang, start, value string
	reversed                                        bool
	seen                                            uint8
}

func readAttrs(l *lexer) attrs {
	var a attrs
	if !l.hasAttr {
		return a
	}
	for more := true; more; {
		var k, v []byte
		k, v, more = l.z.TagAttr()
		var bit uint8
		var dst *string
		switch string(k) {
		case "href":
			bit, dst = 1, &a.href
		case "rel":
			bit, dst = 2, &a.rel
		case "class":
			bit, dst = 4, &a.class
		case "translate":
			bit, dst = 8, &a.translate
		case "lang":
			bit, dst = 16, &a.lang
		case "start":
			bit, dst = 32, &a.start
		case "value":
			bit, dst = 64, &a.value
		case "reversed":
			a.reversed = true
			continue
		default:
			continue
		}
		if a.seen&bit == 0 {
			a.seen |= bit
			*dst = string(v)
		}
	}
	return a
}

// safeHref returns the href to keep for a link, or false when the link has
// to go: relative, another scheme, or unparsable.
func safeHref(raw string) (string, bool) {
	// Browsers strip leading and trailing C0 controls and spaces and drop
	// tabs and newlines anywhere ("jav&#x09;ascript:"); a URL that needs
	// any of that is not worth keeping.
	raw = strings.TrimFunc(raw, func(r rune) bool { return r <= ' ' })
	if raw == "" {
		return "", false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] < ' ' || raw[i] == 0x7f {
			return "", false
		}
	}
	u, err := url.Parse(raw)
	if err != nil || !allowedScheme(strings.ToLower(u.Scheme)) {
		return "", false
	}
	if s := strings.ToLower(u.Scheme); (s == "http" || s == "https") && u.Host == "" {
		return "", false
	}
	return raw, true
}

// writeRel adds the sender's rel tokens worth keeping: "tag" marks
// hashtags, "me" verified profile links.
func writeRel(b *strings.Builder, rel string) {
	tag, me := false, false
	for r := range fields(rel) {
		switch {
		case strings.EqualFold(r, "tag") && !tag:
			tag = true
			b.WriteString(" tag")
		case strings.EqualFold(r, "me") && !me:
			me = true
			b.WriteString(" me")
		}
	}
}

func writeClass(b *strings.Builder, a attrs) {
	n := 0
	for c := range fields(a.class) {
		if !allowedClass(c) {
			continue
		}
		if n == 0 {
			b.WriteString(` class="`)
		} else {
			b.WriteByte(' ')
		}
		escapeString(b, c)
		n++
	}
	if n > 0 {
		b.WriteByte('"')
	}
}

func writeTranslate(b *strings.Builder, a attrs) {
	if strings.EqualFold(strings.TrimSpace(a.translate), "no") {
		b.WriteString(` translate="no"`)
	}
}

func writeInt(b *strings.Builder, name, v string) {
	if v == "" {
		return
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return
	}
	b.WriteString(" " + name + `="`)
	b.WriteString(strconv.Itoa(n))
	b.WriteByte('"')
}

// writeLang keeps lang if it looks like a BCP 47 tag.
func writeLang(b *strings.Builder, a attrs) {
	s := a.lang
	if s == "" || len(s) > 35 {
		return
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return
		}
	}
	b.WriteString(` lang="` + s + `"`)
}

// escape writes s escaped the way html.EscapeString does, without first
// copying it into a string.
func escape(b *strings.Builder, s []byte) {
	last := 0
	for i, c := range s {
		var esc string
		switch c {
		case '&':
			esc = "&amp;"
		case '\'':
			esc = "&#39;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&#34;"
		case '\r':
			esc = "&#13;"
		default:
			continue
		}
		b.Write(s[last:i])
		b.WriteString(esc)
		last = i + 1
	}
	b.Write(s[last:])
}

func escapeString(b *strings.Builder, s string) {
	b.WriteString(html.EscapeString(s))
}

// fields yields the tokens of s split at HTML's ASCII whitespace, as class
// and rel are split.
func fields(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := 0; i < len(s); {
			if isSpace(s[i]) {
				i++
				continue
			}
			j := i + 1
			for j < len(s) && !isSpace(s[j]) {
				j++
			}
			if !yield(s[i:j]) {
				return
			}
			i = j
		}
	}
}

// isSpace reports HTML's ASCII whitespace, which rendering collapses.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// visible reports whether t has anything but collapsible whitespace.
func visible(t []byte) bool {
	for _, c := range t {
		if !isSpace(c) {
			return true
		}
	}
	return false
}
