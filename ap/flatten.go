package ap

import (
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// flatten rewrites HTML made by kith's own Markdown renderer into the
// subset every server shows faithfully (protocol.md §7), for the content
// of what kith sends: headings become bold paragraphs, each table row a
// paragraph with its cells joined by " | ", images links labelled with
// their alt text, horizontal rules a "⁂" paragraph, task-list boxes ☐ or
// ☑. Everything else passes unchanged; kith's pages keep the full HTML.
func flatten(s string) string {
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
			if href, ok := flatHref(src); ok {
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

// flatHref keeps absolute http(s) image URLs; anything else is shown as
// its alt text only.
func flatHref(raw string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", false
	}
	return u.String(), true
}

// isHeading reports h1 to h6.
func isHeading(tag string) bool {
	return len(tag) == 2 && tag[0] == 'h' && tag[1] >= '1' && tag[1] <= '6'
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
