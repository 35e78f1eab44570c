package markdown

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// allowedAttrs lists, per element, every attribute Render or RenderInline may
// emit. Anything else in the output means source text escaped into markup.
var allowedAttrs = map[string][]string{
	"p": nil, "br": nil, "em": nil, "strong": nil, "del": nil, "code": {"class"}, "pre": nil,
	"h1": nil, "h2": nil, "h3": nil, "h4": nil, "h5": nil, "h6": nil, "hr": nil,
	"ul": nil, "ol": {"start"}, "li": nil, "blockquote": nil,
	"table": nil, "thead": nil, "tbody": nil, "tr": nil, "th": {"style"}, "td": {"style"},
	"input": {"checked", "disabled", "type"},
	"a":     {"href", "title", "rel", "target", "class"},
	"span":  {"class", "translate"},
	"img":   {"src", "alt", "title", "loading"},
}

// badHTML describes the first problem in out, or returns "": a script
// element, an element or attribute outside allowedAttrs (so no on…= handler),
// or a javascript:, vbscript: or data: URL, read the way a browser reads it.
func badHTML(out string) string {
	if strings.Contains(strings.ToLower(out), "<script") {
		return "contains <script"
	}
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			tok := z.Token()
			allowed, ok := allowedAttrs[tok.Data]
			if !ok {
				return "element <" + tok.Data + ">"
			}
			for _, a := range tok.Attr {
				if strings.HasPrefix(a.Key, "on") || !slices.Contains(allowed, a.Key) {
					return "attribute " + a.Key + " on <" + tok.Data + ">"
				}
				if (a.Key == "href" || a.Key == "src") && dangerousURL(a.Val) {
					return a.Key + "=" + strconv.Quote(a.Val)
				}
			}
		}
	}
}

// dangerousURL applies the WHATWG URL parser's first steps (strip leading
// C0 controls and spaces, drop tabs and newlines) before looking at the scheme.
func dangerousURL(u string) bool {
	u = strings.TrimLeft(u, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\v\f\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	u = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, u)
	u = strings.ToLower(u)
	return strings.HasPrefix(u, "javascript:") || strings.HasPrefix(u, "vbscript:") || strings.HasPrefix(u, "data:")
}

func TestCheckHTMLCatches(t *testing.T) {
	// The fuzz oracle must reject what goldmark would emit with raw HTML on.
	for _, bad := range []string{
		`<p><script>x</script></p>`, `<img src="x" onerror="y">`, `<a href=" java&#x09;script:x">`,
		`<div>`, `<a href="x" style="y">`, `<img src="DATA:text/html,x">`,
	} {
		if badHTML(bad) == "" {
			t.Errorf("badHTML(%q) = \"\"; want a problem", bad)
		}
	}
}

func FuzzRender(f *testing.F) {
	for _, group := range [][]renderCase{markdownCases, mentionCases, hashtagCases} {
		for _, tt := range group {
			f.Add(tt.in)
		}
	}
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.md"))
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("<img src=x onerror=alert(1)> [a](<javascript:x>) ![b](\x01javascript:x) <a href=\"javascript:x\">")
	r := New()
	f.Fuzz(func(t *testing.T, src string) {
		out, err := r.Render(src, testLinks())
		if err != nil {
			t.Fatalf("Render(%q): %v", src, err)
		}
		if bad := badHTML(out); bad != "" {
			t.Fatalf("Render(%q) = %q: %s", src, out, bad)
		}
		checkAgree(t, r, src)
		line := r.RenderInline(src, testLinks())
		if bad := badHTML(line); bad != "" {
			t.Fatalf("RenderInline(%q) = %q: %s", src, line, bad)
		}
		if strings.Contains(line, "<p>") || strings.Contains(line, "<img") {
			t.Fatalf("RenderInline(%q) = %q: block markup or image", src, line)
		}
	})
}
