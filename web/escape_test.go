package web

import (
	"html/template"
	"strings"
	"testing"
)

// escapeContexts are the places htmlWriter writes values into, each as
// html/template would write them.
var escapeContexts = []struct {
	name  string
	tmpl  *template.Template
	write func(w *htmlWriter, s string)
}{
	{"text", template.Must(template.New("").Parse(`<p>{{.}}</p>`)), (*htmlWriter).text},
	{"attribute", template.Must(template.New("").Parse(`<p title="{{.}}"></p>`)), (*htmlWriter).text},
	{"href", template.Must(template.New("").Parse(`<a href="{{.}}"></a>`)), (*htmlWriter).url},
	{"src", template.Must(template.New("").Parse(`<img src="{{.}}">`)), (*htmlWriter).url},
	{"query value", template.Must(template.New("").Parse(`<a href="/compose?in_reply_to={{.}}"></a>`)), (*htmlWriter).queryValue},
}

// wrap puts the written value where escapeContexts' templates put it.
func wrap(ctx, s string) string {
	switch ctx {
	case "text":
		return "<p>" + s + "</p>"
	case "attribute":
		return `<p title="` + s + `"></p>`
	case "href":
		return `<a href="` + s + `"></a>`
	case "src":
		return `<img src="` + s + `">`
	}
	return `<a href="/compose?in_reply_to=` + s + `"></a>`
}

// checkEscape fails when htmlWriter writes s otherwise than html/template.
func checkEscape(t *testing.T, s string) {
	t.Helper()
	for _, c := range escapeContexts {
		var want strings.Builder
		if err := c.tmpl.Execute(&want, s); err != nil {
			t.Fatal(err)
		}
		var w htmlWriter
		c.write(&w, s)
		if got := wrap(c.name, w.String()); got != want.String() {
			t.Errorf("%s of %q: htmlWriter %s; html/template %s", c.name, s, got, want.String())
		}
	}
}

// TestEscapeMatchesTemplate: what the card writes in Go is escaped byte
// for byte as html/template escapes it, hostile values included.
func TestEscapeMatchesTemplate(t *testing.T) {
	for _, s := range escapeSeeds {
		checkEscape(t, s)
	}
	for _, s := range []string{"", "plain", `a"b'c<d>e+f&g`, "nul\x00"} {
		if got, want := attrEscape(s), func() string { var w htmlWriter; w.text(s); return w.String() }(); got != want {
			t.Errorf("attrEscape(%q) = %q; want %q", s, got, want)
		}
	}
}

// FuzzEscapeMatchesTemplate looks for a value that htmlWriter escapes
// otherwise than html/template.
func FuzzEscapeMatchesTemplate(f *testing.F) {
	for _, s := range escapeSeeds {
		f.Add(s)
	}
	f.Fuzz(checkEscape)
}

var escapeSeeds = []string{
	"", "01JABCDEF", "Ann \u202eevil", "@ann@remote.example", `a"b'c<d>e+f&g`, "nul\x00", "bad\xffutf8 é", "\ufdd0\uffff",
	"https://remote.example/@ann", "/thread?iri=https%3A%2F%2Fa.example%2F1&x=1", "/people?actor=https%3A%2F%2Fa.example%2Fu+a",
	"javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:x", "data:text/html,x", "mailto:a@b.example", "HTTPS://A.EXAMPLE/",
	"/a:b", "a/b:c", "//evil.example/x", "https://a.example/p a?q=\"x\"&y='z'#<frag>", "100%", "%zz%4", "%41%4a%", "%%41",
	"https://a.example/ünïcode/路径", "tel:+123", "#ZgotmplZ", "?q=a+b", "\t\n\r", "(x)", "a`b", "1 May 2026 10:30 UTC",
}
