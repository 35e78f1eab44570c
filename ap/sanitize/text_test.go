package sanitize

import "testing"

func TestText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"inline markup", `<p>Hello <b>world</b>, <a href="https://a.example/">link</a></p>`, "Hello world, link"},
		{"paragraphs", `<p>one</p><p>two</p>`, "one\n\ntwo"},
		{"br", `line<br>break<br/>again`, "line\nbreak\nagain"},
		{"two br make a paragraph break", `a<br><br>b`, "a\n\nb"},
		{"breaks collapse", `<p>a<br><br><br><br></p><p></p><br><p>b</p>`, "a\n\nb"},
		{"spaces around breaks go", `a <br> b`, "a\nb"},
		{"entities", `a &amp; b &lt;c&gt; &#x263A; &quot;q&quot; caf&eacute;`, `a & b <c> ☺ "q" café`},
		{"whitespace collapses", "  spaced \t out\nacross\r\nlines  ", "spaced out across lines"},
		{"no-break space kept", `a&nbsp;b`, "a\u00a0b"},
		{"dropped content", `<p>x<script>bad()</script><style>p{}</style>y</p>`, "xy"},
		{"math as TeX", `x <math><annotation encoding="application/x-tex">a+b</annotation></math> y`, "x $a+b$ y"},
		{"list items", `<ul><li>one</li><li>two</li></ul>after`, "one\n\ntwo\n\nafter"},
		{"blockquote", `said<blockquote>quoted</blockquote>then`, "said\n\nquoted\n\nthen"},
		{"headings", `<h1>Title</h1>body`, "Title\n\nbody"},
		{"pre keeps lines", "<pre>a\n  b\n\n\nc</pre>d", "a\nb\n\nc\n\nd"},
		{"divs are lines", `<div>one</div><div>two</div>`, "one\ntwo"},
		{"table cells", `<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>`, "a b\nc"},
		{"mention", `<span class="h-card"><a href="https://m.example/@a" class="u-url mention">@<span>a</span></a></span> hi`, "@a hi"},
		{"trimmed", `<p> </p><br>  x  <br><p> </p>`, "x"},
		{"empty", ``, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := text(tt.in, false); got != tt.want {
				t.Errorf("Text(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"short enough", `<p>short</p>`, 20, "short"},
		{"exactly n", `<p>12345</p>`, 5, "12345"},
		{"cut at a word boundary", `<p>The quick brown fox jumps over the lazy dog</p>`, 20, "The quick brown fox…"},
		{"cut right before a space", `<p>The quick brown fox jumps</p>`, 19, "The quick brown fox…"},
		{"cut inside a word backs up", `<p>The quick brown fox jumps</p>`, 18, "The quick brown…"},
		{"punctuation before the cut goes", `<p>First, second; third</p>`, 8, "First…"},
		{"multibyte runes", `<p>Ünïcödé wörds everywhere here</p>`, 14, "Ünïcödé wörds…"},
		{"CJK without spaces", `<p>日本語のテキストです</p>`, 4, "日本語の…"},
		{"emoji", `<p>🎉🎉 party 🎉🎉🎉</p>`, 9, "🎉🎉 party…"},
		{"long word cut", `<p>averyveryverylongwordwithoutspaces</p>`, 10, "averyveryv…"},
		{"combining mark not split", "<p>abcde\u0301fgh</p>", 5, "abcd…"},
		{"one line", `<p>one</p><p>two<br>three</p>`, 50, "one two three"},
		{"entities count as one rune", `<p>a &amp; b &amp; c</p>`, 4, "a &…"},
		{"zero", `<p>text</p>`, 0, ""},
		{"empty", ``, 10, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Excerpt(tt.in, tt.n); got != tt.want {
				t.Errorf("Excerpt(%q, %d) = %q; want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}
