package web

import "strings"

// The post card writes its most repeated parts (byline, footer, buttons)
// in Go rather than through template actions: html/template evaluates each
// {{…}} by reflection and runs each escaper as a reflected call, and a
// 200-post thread has about ten thousand of them. The functions below
// escape exactly as html/template does for the contexts they name, so the
// markup made here equals what the template made; TestEscapeMatchesTemplate
// and FuzzEscapeMatchesTemplate hold them to it byte for byte.

// htmlWriter builds a fragment of trusted markup from literal tags and
// escaped values.
type htmlWriter struct {
	strings.Builder
}

// text writes s as element text or a quoted attribute's value: html/template's
// htmlEscaper and attrEscaper, which share one table.
func (w *htmlWriter) text(s string) {
	// Every byte replaced is ASCII, and no byte of a multi-byte UTF-8
	// sequence (or of an invalid one, which html/template passes through)
	// is below 0x80, so a byte loop escapes as the rune loop of
	// html/template does.
	written := 0
	for i := 0; i < len(s); i++ {
		var repl string
		switch s[i] {
		case 0:
			repl = "\uFFFD"
		case '"':
			repl = "&#34;"
		case '&':
			repl = "&amp;"
		case '\'':
			repl = "&#39;"
		case '+':
			repl = "&#43;"
		case '<':
			repl = "&lt;"
		case '>':
			repl = "&gt;"
		default:
			continue
		}
		w.WriteString(s[written:i])
		w.WriteString(repl)
		written = i + 1
	}
	w.WriteString(s[written:])
}

// url writes s as the whole value of a quoted URL attribute (href, src):
// a scheme other than http, https or mailto becomes "#ZgotmplZ", as
// html/template's urlFilter makes it, then the URL is normalized
// (urlNormalizer) and escaped for the attribute.
func (w *htmlWriter) url(s string) {
	if i := strings.IndexByte(s, ':'); i >= 0 && !strings.Contains(s[:i], "/") {
		if p := strings.ToLower(s[:i]); p != "http" && p != "https" && p != "mailto" {
			s = "#ZgotmplZ"
		}
	}
	w.urlPart(s, true)
}

// queryValue writes s as a value inside a URL's query in a quoted
// attribute, percent-encoding what is not unreserved (html/template's
// urlEscaper, then attrEscaper).
func (w *htmlWriter) queryValue(s string) { w.urlPart(s, false) }

// urlPart is html/template's URL processor: with norm, it only encodes what
// may not appear in a URL and keeps reserved characters and escapes as
// they are. The result has no quote or angle bracket, only '&' and '+'
// that the attribute needs escaped.
func (w *htmlWriter) urlPart(s string, norm bool) {
	const hex = "0123456789abcdef"
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue // most of any URL, tested first
		}
		switch c {
		case '!', '#', '$', '*', ',', '/', ':', ';', '=', '?', '@', '[', ']':
			if norm {
				continue
			}
		case '%':
			// Normalizing keeps what is already an escape.
			if norm && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				continue
			}
		case '&', '+':
			if norm {
				w.WriteString(s[written:i])
				if c == '&' {
					w.WriteString("&amp;")
				} else {
					w.WriteString("&#43;")
				}
				written = i + 1
				continue
			}
		case '-', '.', '_', '~':
			continue
		}
		w.WriteString(s[written:i])
		w.WriteByte('%')
		w.WriteByte(hex[c>>4])
		w.WriteByte(hex[c&15])
		written = i + 1
	}
	w.WriteString(s[written:])
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// attrEscape escapes s for a quoted HTML attribute exactly as html/template
// does for a string.
func attrEscape(s string) string {
	if !strings.ContainsAny(s, "\x00\"&'+<>") {
		return s
	}
	var w htmlWriter
	w.text(s)
	return w.String()
}
