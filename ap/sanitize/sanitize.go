// Package sanitize reduces HTML from other servers to a small allowlist
// before kith stores or shows it.
//
// The allowlist is Mastodon's strict one (protocol.md §7), so a post looks
// the same here as on Mastodon: paragraphs, line breaks, links, inline
// formatting, lists, quotes and code. Scripts, styles and embedded
// documents disappear with their content; every other element disappears
// but keeps its text. Links keep only safe schemes and always get
// rel="nofollow noopener noreferrer" and target="_blank".
//
// It works on the token stream of golang.org/x/net/html rather than a
// parsed tree: the output is exactly the allowed tags the input opened, in
// order, closed in the order they were opened, which makes sanitising
// idempotent and cheap.
package sanitize

import (
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// maxDepth bounds nesting, so hostile input cannot build output that other
// parsers choke on; deeper elements keep only their text.
const maxDepth = 100

// kept is the set of elements that survive, with the attributes each may
// carry besides lang.
func keptAttrs(tag string) (attrs []string, ok bool) {
	switch tag {
	case "p":
		return []string{"class"}, true
	case "br", "del", "s", "pre", "blockquote", "code", "b", "strong", "u", "i", "em", "ul", "ruby", "rt", "rp":
		return nil, true
	case "a":
		return []string{"href", "rel", "class", "translate"}, true
	case "span":
		return []string{"class", "translate"}, true
	case "ol":
		return []string{"start", "reversed"}, true
	case "li":
		return []string{"value"}, true
	}
	return nil, false
}

// dropsContent reports elements that vanish together with everything in
// them: code, styling and embedded documents.
func dropsContent(tag string) bool {
	switch tag {
	case "script", "style", "template", "iframe", "object", "embed", "noscript", "textarea",
		"select", "title", "head", "svg", "math", "frameset", "frame", "noembed", "noframes",
		"xmp", "plaintext", "applet", "canvas", "audio", "video", "picture", "map", "button", "form":
		return true
	}
	return false
}

// isBlock reports elements that separate lines of text; when unwrapped,
// a line break keeps their words apart.
func isBlock(tag string) bool {
	switch tag {
	case "div", "section", "article", "aside", "header", "footer", "nav", "main", "figure",
		"figcaption", "table", "thead", "tbody", "tfoot", "tr", "dl", "dt", "dd", "address",
		"hr", "details", "summary", "center", "fieldset", "caption":
		return true
	}
	return false
}

// isHeading reports h1 to h6, which become bold paragraphs.
func isHeading(tag string) bool {
	return len(tag) == 2 && tag[0] == 'h' && tag[1] >= '1' && tag[1] <= '6'
}

// allowedScheme lists the link schemes Mastodon keeps.
func allowedScheme(s string) bool {
	switch s {
	case "http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini":
		return true
	}
	return false
}

// allowedClass reports class tokens that carry meaning (microformats,
// mentions, hashtags, Mastodon's link shortening, quote fallbacks).
func allowedClass(c string) bool {
	for _, p := range []string{"h-", "p-", "u-", "dt-", "e-"} {
		if strings.HasPrefix(c, p) && len(c) > len(p) {
			return true
		}
	}
	switch c {
	case "mention", "hashtag", "ellipsis", "invisible", "quote-inline":
		return true
	}
	return false
}

// open is an element on the stack of open elements.
type open struct {
	tag   string
	close string // what to write when it closes; "" for an unwrapped element
}

// sanitizer holds the state of one run.
type sanitizer struct {
	out      strings.Builder
	stack    []open
	lastText bool // the last thing written was text, not a break or a block edge
	pending  bool // an unwrapped block ended after text: break before what follows
}

// HTML returns s reduced to the allowlist; the result is safe to put in a
// page as template.HTML.
func HTML(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	var st sanitizer
	st.out.Grow(len(s))
	walk(s, func(tt html.TokenType, tok html.Token) {
		switch tt {
		case html.TextToken:
			st.text(tok.Data)
		case html.StartTagToken, html.SelfClosingTagToken:
			st.start(tok, tt == html.SelfClosingTagToken)
		case html.EndTagToken:
			st.end(tok.Data)
		}
		// Comments and doctypes are dropped.
	})
	for len(st.stack) > 0 {
		st.pop()
	}
	return st.out.String()
}

func (st *sanitizer) text(s string) {
	if s == "" {
		return
	}
	st.flush()
	st.out.WriteString(html.EscapeString(s))
	st.lastText = true
}

// brk marks the edge of an unwrapped block. A line break is written only
// if text came before it and more inline content follows, so words of
// adjacent blocks stay apart without stray breaks at the edges.
func (st *sanitizer) brk() {
	if st.lastText {
		st.pending = true
		st.lastText = false
	}
}

// flush writes a pending break before inline content.
func (st *sanitizer) flush() {
	if st.pending {
		st.out.WriteString("<br>")
		st.pending = false
	}
}

// isBlockKept reports kept elements that start on a line of their own, so
// a pending break before them is not needed.
func isBlockKept(tag string) bool {
	switch tag {
	case "p", "pre", "blockquote", "ul", "ol", "li", "br":
		return true
	}
	return false
}

func (st *sanitizer) start(tok html.Token, selfClosing bool) {
	tag := tok.Data
	if isHeading(tag) {
		st.pending = false
		if len(st.stack) >= maxDepth {
			st.stack = append(st.stack, open{tag: tag})
			return
		}
		st.out.WriteString("<p><strong>")
		st.stack = append(st.stack, open{tag: tag, close: "</strong></p>"})
		st.lastText = false
		return
	}
	attrs, ok := keptAttrs(tag)
	if !ok {
		if isBlock(tag) {
			st.brk()
		}
		if !selfClosing && !isVoid(tag) {
			st.stack = append(st.stack, open{tag: tag})
		}
		return
	}
	if isBlockKept(tag) {
		st.pending = false
	} else {
		st.flush()
	}
	if tag == "br" {
		st.out.WriteString("<br>")
		st.lastText = false
		return
	}
	if selfClosing {
		return // <p/> and the like: nothing to show
	}
	if len(st.stack) >= maxDepth {
		st.stack = append(st.stack, open{tag: tag})
		return
	}
	var b strings.Builder
	b.WriteString("<" + tag)
	if tag == "a" {
		href, ok := safeHref(attr(tok, "href"))
		if !ok {
			// An unsafe or relative link becomes its text.
			st.stack = append(st.stack, open{tag: tag})
			return
		}
		writeAttr(&b, "href", href)
		rel := "nofollow noopener noreferrer"
		for _, r := range strings.Fields(strings.ToLower(attr(tok, "rel"))) {
			if r == "tag" || r == "me" {
				rel += " " + r
			}
		}
		writeAttr(&b, "rel", rel)
		writeAttr(&b, "target", "_blank")
	}
	for _, name := range attrs {
		v, present := attrValue(tok, name)
		if !present {
			continue
		}
		switch name {
		case "class":
			if c := classes(v); c != "" {
				writeAttr(&b, "class", c)
			}
		case "translate":
			if strings.EqualFold(strings.TrimSpace(v), "no") {
				writeAttr(&b, "translate", "no")
			}
		case "start", "value":
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				writeAttr(&b, name, strconv.Itoa(n))
			}
		case "reversed":
			b.WriteString(" reversed")
		}
	}
	if lang, present := attrValue(tok, "lang"); present && validLang(lang) {
		writeAttr(&b, "lang", lang)
	}
	b.WriteString(">")
	st.out.WriteString(b.String())
	st.stack = append(st.stack, open{tag: tag, close: "</" + tag + ">"})
	st.lastText = false
}

// end closes tag and everything opened inside it that is still open; an
// end tag that matches nothing open is ignored.
func (st *sanitizer) end(tag string) {
	if tag == "br" {
		// </br> is treated as <br> by browsers.
		st.out.WriteString("<br>")
		st.lastText = false
		return
	}
	for i := len(st.stack) - 1; i >= 0; i-- {
		if st.stack[i].tag == tag {
			for len(st.stack) > i {
				st.pop()
			}
			if isBlock(tag) {
				st.brk()
			}
			return
		}
	}
}

func (st *sanitizer) pop() {
	o := st.stack[len(st.stack)-1]
	st.stack = st.stack[:len(st.stack)-1]
	if o.close != "" {
		st.out.WriteString(o.close)
		st.lastText = false
	}
}

func isVoid(tag string) bool {
	switch tag {
	case "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr":
		return true
	}
	return false
}

// safeHref returns the URL to keep for a link, or false when the link must
// go: relative URLs, unknown schemes, and anything unparsable.
func safeHref(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" || strings.ContainsAny(raw, "\x00\t\n\r") {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || !allowedScheme(strings.ToLower(u.Scheme)) {
		return "", false
	}
	if (u.Scheme == "http" || u.Scheme == "https") && u.Host == "" {
		return "", false
	}
	return raw, true
}

// classes keeps the allowed tokens of a class attribute.
func classes(v string) string {
	var kept []string
	for _, c := range strings.Fields(v) {
		if allowedClass(c) {
			kept = append(kept, c)
		}
	}
	return strings.Join(kept, " ")
}

// validLang accepts BCP 47-looking tags only.
func validLang(s string) bool {
	if s == "" || len(s) > 35 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func attr(tok html.Token, name string) string {
	v, _ := attrValue(tok, name)
	return v
}

func attrValue(tok html.Token, name string) (string, bool) {
	for _, a := range tok.Attr {
		if a.Namespace == "" && a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

func writeAttr(b *strings.Builder, name, value string) {
	b.WriteString(" " + name + `="` + html.EscapeString(value) + `"`)
}

// walk calls fn for each token of the fragment s, except those of
// elements that vanish with their content (dropsContent), which it skips
// whole, nested ones included.
func walk(s string, fn func(html.TokenType, html.Token)) {
	z := html.NewTokenizerFragment(strings.NewReader(s), "div")
	skip, skipDepth := "", 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return
		}
		tok := z.Token()
		switch {
		case skip != "":
			switch {
			case tt == html.StartTagToken && tok.Data == skip:
				skipDepth++
			case tt == html.EndTagToken && tok.Data == skip:
				if skipDepth--; skipDepth == 0 {
					skip = ""
				}
			}
		case tt == html.StartTagToken && dropsContent(tok.Data):
			skip, skipDepth = tok.Data, 1
		case tt == html.SelfClosingTagToken && dropsContent(tok.Data):
		default:
			fn(tt, tok)
		}
	}
}

// Text returns the plain text of an HTML fragment: tags dropped, entities
// decoded, <br> as a line break and block ends as paragraph breaks. It is
// for titles, feed summaries, OpenGraph descriptions and notifications.
func Text(s string) string {
	var b strings.Builder
	walk(s, func(tt html.TokenType, tok html.Token) {
		switch tt {
		case html.TextToken:
			b.WriteString(tok.Data)
		case html.StartTagToken, html.SelfClosingTagToken:
			switch {
			case tok.Data == "br":
				b.WriteString("\n")
			case isBlock(tok.Data) || tok.Data == "p" || tok.Data == "li":
				b.WriteString("\n\n")
			}
		case html.EndTagToken:
			if isBlock(tok.Data) || isBlockKept(tok.Data) || isHeading(tok.Data) {
				b.WriteString("\n\n")
			}
		}
	})
	return tidy(b.String())
}

// tidy collapses runs of spaces within lines and of blank lines, and trims.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	var out []string
	blank := 0
	for _, l := range lines {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" {
			blank++
			continue
		}
		if len(out) > 0 {
			if blank > 1 {
				out = append(out, "")
			}
		}
		blank = 0
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// Excerpt returns Text(s) cut to at most n runes at a word boundary, with
// "…" appended when it was cut.
func Excerpt(s string, n int) string {
	t := strings.Join(strings.Fields(Text(s)), " ")
	if utf8.RuneCountInString(t) <= n {
		return t
	}
	runes := []rune(t)
	cut := string(runes[:n])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:") + "…"
}

// Flatten rewrites HTML made by kith's own Markdown renderer into the
// subset every server shows faithfully (protocol.md §7), for the content
// of what kith sends: headings become bold paragraphs, each table row a
// paragraph with its cells joined by " | ", images links labelled with
// their alt text, horizontal rules a "⁂" paragraph, task-list boxes ☐ or
// ☑. Everything else passes unchanged; kith's pages keep the full HTML.
func Flatten(s string) string {
	z := html.NewTokenizerFragment(strings.NewReader(s), "div")
	var b strings.Builder
	b.Grow(len(s))
	cell := 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return strings.TrimSpace(b.String())
		}
		raw := z.Raw()
		if tt != html.StartTagToken && tt != html.EndTagToken && tt != html.SelfClosingTagToken {
			b.Write(raw)
			continue
		}
		tok := z.Token()
		start := tt != html.EndTagToken
		switch tag := tok.Data; {
		case isHeading(tag):
			b.WriteString(map[bool]string{true: "<p><strong>", false: "</strong></p>"}[start])
		case tag == "table" || tag == "thead" || tag == "tbody" || tag == "tfoot":
		case tag == "tr":
			cell = 0
			b.WriteString(map[bool]string{true: "<p>", false: "</p>"}[start])
		case tag == "td" || tag == "th":
			if start {
				if cell > 0 {
					b.WriteString(" | ")
				}
				cell++
				if tag == "th" {
					b.WriteString("<strong>")
				}
			} else if tag == "th" {
				b.WriteString("</strong>")
			}
		case tag == "img":
			src, alt := attr(tok, "src"), attr(tok, "alt")
			if alt == "" {
				alt = "image"
			}
			if href, ok := safeHref(src); ok {
				b.WriteString(`<a href="` + html.EscapeString(href) + `">` + html.EscapeString(alt) + `</a>`)
			} else {
				b.WriteString(html.EscapeString(alt))
			}
		case tag == "hr":
			b.WriteString("<p>⁂</p>")
		case tag == "input":
			if _, checked := attrValue(tok, "checked"); checked {
				b.WriteString("☑ ")
			} else {
				b.WriteString("☐ ")
			}
		default:
			b.Write(raw)
		}
	}
}
