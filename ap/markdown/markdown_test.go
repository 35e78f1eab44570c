package markdown

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// testLinks resolves every mention except user "ghost" to https://host/@user
// and every tag to https://kith.example/tags/tag.
func testLinks() Links {
	return Links{
		Mention: func(m Mention) (string, bool) {
			if m.Username == "ghost" {
				return "", false
			}
			return "https://" + m.Host + "/@" + m.Username, true
		},
		Tag: func(tag string) string { return "https://kith.example/tags/" + tag },
	}
}

const rel = `rel="nofollow noopener noreferrer" target="_blank"`

// hcard and hashtag are the markup Mastodon emits (protocol.md §5.2).
func hcard(user, host string) string {
	return `<span class="h-card" translate="no"><a href="https://` + host + `/@` + user +
		`" class="u-url mention">@<span>` + user + `</span></a></span>`
}

func hashtag(tag string) string {
	return `<a href="https://kith.example/tags/` + tag + `" class="mention hashtag" rel="tag">#<span>` + tag + `</span></a>`
}

type renderCase struct {
	name, in, want string
}

var markdownCases = []renderCase{
	{"paragraphs and single newline", "one\ntwo\n\nthree", "<p>one<br>\ntwo</p>\n<p>three</p>\n"},
	{"emphasis", "*em* **strong** _also_", "<p><em>em</em> <strong>strong</strong> <em>also</em></p>\n"},
	{"strikethrough", "~~gone~~ now", "<p><del>gone</del> now</p>\n"},
	{"table", "| a | b |\n|---|--:|\n| #t1 | ~~s~~ |",
		"<table>\n<thead>\n<tr>\n<th>a</th>\n<th style=\"text-align:right\">b</th>\n</tr>\n</thead>\n" +
			"<tbody>\n<tr>\n<td>" + hashtag("t1") + "</td>\n<td style=\"text-align:right\"><del>s</del></td>\n</tr>\n</tbody>\n</table>\n"},
	{"fenced code with language", "```go\n#nope @alice@host.example <b>\n```",
		"<pre><code class=\"language-go\">#nope @alice@host.example &lt;b&gt;\n</code></pre>\n"},
	{"indented code", "    #nope @alice@host.example", "<pre><code>#nope @alice@host.example\n</code></pre>\n"},
	{"inline code", "a `#nope @alice@host.example` b", "<p>a <code>#nope @alice@host.example</code> b</p>\n"},
	{"link", `[kith](https://kith.example/a "The title")`,
		`<p><a href="https://kith.example/a" title="The title" ` + rel + `>kith</a></p>` + "\n"},
	{"relative link", "[go](/tags/go)", `<p><a href="/tags/go" ` + rel + `>go</a></p>` + "\n"},
	{"bare URL with fragment", "see https://example.com/a#frag.",
		`<p>see <a href="https://example.com/a#frag" ` + rel + `>https://example.com/a#frag</a>.</p>` + "\n"},
	{"www link", "www.example.com/x", `<p><a href="http://www.example.com/x" ` + rel + `>www.example.com/x</a></p>` + "\n"},
	{"angle autolink", "<https://example.com/#x>", `<p><a href="https://example.com/#x" ` + rel + `>https://example.com/#x</a></p>` + "\n"},
	{"raw inline HTML escaped", "a <b>hi</b> b", "<p>a &lt;b&gt;hi&lt;/b&gt; b</p>\n"},
	{"raw script block escaped", "<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"},
	{"raw HTML block escaped", "<div onclick=\"x()\">\n*hi*\n</div>",
		"<p>&lt;div onclick=&quot;x()&quot;&gt;<br>\n<em>hi</em><br>\n&lt;/div&gt;</p>\n"},
	{"HTML comment escaped", "<!-- secret -->", "<p>&lt;!-- secret --&gt;</p>\n"},
	{"javascript link not linked", "[click](javascript:alert(1))", "<p>click</p>\n"},
	{"javascript link upper case", "[click](JaVaScRiPt:alert(1))", "<p>click</p>\n"},
	{"javascript link via entity", "[click](javascript&colon;alert(1))", "<p>click</p>\n"},
	{"javascript link with tab", "[click](<java\tscript:alert(1)>)", "<p>click</p>\n"},
	{"vbscript link", "[click](vbscript:msgbox)", "<p>click</p>\n"},
	{"data link", "[click](data:text/html;base64,PHNjcmlwdD4=)", "<p>click</p>\n"},
	{"javascript autolink", "<javascript:alert(1)>", "<p>javascript:alert(1)</p>\n"},
	{"empty link", "[nothing]()", "<p>nothing</p>\n"},
	{"headings, one level down", "# Title\n## Sub #tag\n###### Six", "<h2>Title</h2>\n<h3>Sub " + hashtag("tag") + "</h3>\n<h6>Six</h6>\n"},
	{"lists", "- a\n- b\n\n3. three\n4. four",
		"<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n<ol start=\"3\">\n<li>three</li>\n<li>four</li>\n</ol>\n"},
	{"task list", "- [x] done\n- [ ] todo",
		"<ul>\n<li><input checked=\"\" disabled=\"\" type=\"checkbox\"> done</li>\n<li><input disabled=\"\" type=\"checkbox\"> todo</li>\n</ul>\n"},
	{"blockquote", "> quoted\n> more", "<blockquote>\n<p>quoted<br>\nmore</p>\n</blockquote>\n"},
	{"thematic break", "a\n\n---\n\nb", "<p>a</p>\n<hr>\n<p>b</p>\n"},
	{"image", `![a *cat* @alice@host.example](https://img.example/cat.png "Cat")`,
		`<p><img src="https://img.example/cat.png" alt="a cat @alice@host.example" title="Cat" loading="lazy"></p>` + "\n"},
	{"data image not loaded", "![alt](data:image/png;base64,iVBORw0KGgo=)", "<p>alt</p>\n"},
	{"javascript image not loaded", "![alt](javascript:alert(1))", "<p>alt</p>\n"},
	{"character references", "&#x41; &amp; &lt;b&gt; &#35;nope", "<p>A &amp; &lt;b&gt; #nope</p>\n"},
	{"NUL replaced", "a\x00b", "<p>a\uFFFDb</p>\n"},
	{"invalid UTF-8 replaced", "a\xffb", "<p>a\uFFFDb</p>\n"},
	{"empty", "", ""},
}

var mentionCases = []renderCase{
	{"resolved", "hi @alice@example.com", "<p>hi " + hcard("alice", "example.com") + "</p>\n"},
	{"unresolved is text", "hi @ghost@example.com", "<p>hi @ghost@example.com</p>\n"},
	{"e-mail address", "write a@b.com", `<p>write <a href="mailto:a@b.com" ` + rel + `>a@b.com</a></p>` + "\n"},
	{"e-mail after word", "x@alice@host.example", "<p>x@alice@host.example</p>\n"},
	{"at start", "@alice@host.example hi", "<p>" + hcard("alice", "host.example") + " hi</p>\n"},
	{"after parenthesis", "(@alice@host.example)", "<p>(" + hcard("alice", "host.example") + ")</p>\n"},
	{"before comma and dot", "@alice@host.example, @bob@host.example.",
		"<p>" + hcard("alice", "host.example") + ", " + hcard("bob", "host.example") + ".</p>\n"},
	{"user with dot dash underscore", "@a.b-c_d@host.example", "<p>" + hcard("a.b-c_d", "host.example") + "</p>\n"},
	{"port", "@alice@host.example:8443/", "<p>" + hcard("alice", "host.example:8443") + "/</p>\n"},
	{"subdomain and IDN", "@alice@social.münchen.example", "<p>" + hcard("alice", "social.münchen.example") + "</p>\n"},
	{"after emphasis", "**@alice@host.example**", "<p><strong>" + hcard("alice", "host.example") + "</strong></p>\n"},
	{"at end of line keeps break", "@alice@host.example\nnext", "<p>" + hcard("alice", "host.example") + "<br>\nnext</p>\n"},
	{"localhost", "@alice@localhost", "<p>" + hcard("alice", "localhost") + "</p>\n"},
	{"single label with port", "hi @me@localhost:8080.", "<p>hi " + hcard("me", "localhost:8080") + ".</p>\n"},
	{"machine name with port", "@me@raspberrypi:8080", "<p>" + hcard("me", "raspberrypi:8080") + "</p>\n"},
	{"single label without port", "@bob@work", "<p>@bob@work</p>\n"},
	{"single label, colon without port", "@bob@work: hi", "<p>@bob@work: hi</p>\n"},
	{"local mention", "@alice hi", "<p>@alice hi</p>\n"},
	{"after slash", "a/@alice@host.example", "<p>a/@alice@host.example</p>\n"},
	{"run into word", "@alice@host.example_x", "<p>@alice@host.example_x</p>\n"},
	{"escaped", `\@alice@host.example`, "<p>@alice@host.example</p>\n"},
	{"inside code", "`@alice@host.example`", "<p><code>@alice@host.example</code></p>\n"},
	{"inside URL", "https://host.example/@alice@other.example",
		`<p><a href="https://host.example/@alice@other.example" ` + rel + `>https://host.example/@alice@other.example</a></p>` + "\n"},
	{"inside unlinked URL", `"https://host.example/?a=@alice@other.example"`,
		"<p>&quot;https://host.example/?a=@alice@other.example&quot;</p>\n"},
	{"inside link text stays text", "[@alice@host.example](https://x.example/)",
		`<p><a href="https://x.example/" ` + rel + `>@alice@host.example</a></p>` + "\n"},
	{"inside brackets that are no link", "[@alice@host.example]", "<p>[" + hcard("alice", "host.example") + "]</p>\n"},
	{"unsafe href from Links is text", "@evil@host.example", "<p>@evil@host.example</p>\n"},
}

var hashtagCases = []renderCase{
	{"tag", "#tag", "<p>" + hashtag("tag") + "</p>\n"},
	{"case kept", "#Tag", "<p>" + hashtag("Tag") + "</p>\n"},
	{"accent", "#café", "<p>" + hashtag("café") + "</p>\n"},
	{"CJK", "#日本語 text", "<p>" + hashtag("日本語") + " text</p>\n"},
	{"digits only", "#123", "<p>#123</p>\n"},
	{"digits then letters", "#2024review", "<p>" + hashtag("2024review") + "</p>\n"},
	{"underscore", "#tag_name", "<p>" + hashtag("tag_name") + "</p>\n"},
	{"after word", "x#y", "<p>x#y</p>\n"},
	{"trailing dot", "#tag.", "<p>" + hashtag("tag") + ".</p>\n"},
	{"trailing punctuation", "(#tag), #two! #three-four",
		"<p>(" + hashtag("tag") + "), " + hashtag("two") + "! " + hashtag("three") + "-four</p>\n"},
	{"double hash", "##tag", "<p>#" + hashtag("tag") + "</p>\n"},
	{"escaped", `\#tag`, "<p>#tag</p>\n"},
	{"inside code", "`#tag`", "<p><code>#tag</code></p>\n"},
	{"in bare URL", "https://example.com/page#tag",
		`<p><a href="https://example.com/page#tag" ` + rel + `>https://example.com/page#tag</a></p>` + "\n"},
	{"in unlinked URL", `"https://example.com/?#tag"`, "<p>&quot;https://example.com/?#tag&quot;</p>\n"},
	{"twice in unlinked URL", `"https://example.com/?#a.#b"`, "<p>&quot;https://example.com/?#a.#b&quot;</p>\n"},
	{"after unlinked URL", `"https://example.com/?#a" (#b`, "<p>&quot;https://example.com/?#a&quot; (" + hashtag("b") + "</p>\n"},
	{"after slash", "example.com/#tag", "<p>example.com/#tag</p>\n"},
	{"in link destination", "[x](https://example.com/#tag)", `<p><a href="https://example.com/#tag" ` + rel + `>x</a></p>` + "\n"},
	{"in link text", "[#tag](https://example.com/)", `<p><a href="https://example.com/" ` + rel + `>#tag</a></p>` + "\n"},
	{"in reference link text", "[#tag][r]\n\n[r]: https://example.com/#x", `<p><a href="https://example.com/#x" ` + rel + `>#tag</a></p>` + "\n"},
	{"character reference", "&#x23;tag &#x41;", "<p>#tag A</p>\n"},
	{"two on a line", "#one #two", "<p>" + hashtag("one") + " " + hashtag("two") + "</p>\n"},
}

func TestRender(t *testing.T) {
	r := New()
	links := testLinks()
	inner := links.Mention
	links.Mention = func(m Mention) (string, bool) {
		if m.Username == "evil" {
			return "javascript:alert(1)", true
		}
		return inner(m)
	}
	for _, group := range []struct {
		name  string
		cases []renderCase
	}{{"markdown", markdownCases}, {"mention", mentionCases}, {"hashtag", hashtagCases}} {
		for _, tt := range group.cases {
			t.Run(group.name+"/"+tt.name, func(t *testing.T) {
				got, err := r.Render(tt.in, links)
				if err != nil {
					t.Fatalf("Render(%q): %v", tt.in, err)
				}
				if got != tt.want {
					t.Errorf("Render(%q)\ngot  %q\nwant %q", tt.in, got, tt.want)
				}
			})
		}
	}
}

func TestRenderWithoutLinks(t *testing.T) {
	got, err := New().Render("@alice@host.example #tag", Links{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "<p>@alice@host.example #tag</p>\n"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

// TestRenderMakesRelativeURLsAbsolute: with a Base, relative link and
// image destinations point at the site, since the HTML is read on other
// servers and in feeds; absolute and unsafe destinations are unchanged.
func TestRenderMakesRelativeURLsAbsolute(t *testing.T) {
	base, _ := url.Parse("https://kith.example/")
	tests := []struct{ src, want string }{
		{"[tags](/tags/go)", `href="https://kith.example/tags/go"`},
		{"[post](@me/01ABC)", `href="https://kith.example/@me/01ABC"`},
		{"![a cat](/media/cat.png)", `src="https://kith.example/media/cat.png"`},
		{"[elsewhere](https://other.example/x)", `href="https://other.example/x"`},
		{"[mail](mailto:me@kith.example)", `href="mailto:me@kith.example"`},
		{"[bad](javascript:alert(1))", `<p>bad</p>`},
	}
	for _, tt := range tests {
		got, err := New().Render(tt.src, Links{Base: base})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(got, tt.want) {
			t.Errorf("Render(%q) = %q; want it to contain %q", tt.src, got, tt.want)
		}
	}
	// Without a Base, destinations stay as written.
	if got, _ := New().Render("[tags](/tags/go)", Links{}); !strings.Contains(got, `href="/tags/go"`) {
		t.Errorf("without a base: %q", got)
	}
}

func TestScan(t *testing.T) {
	r := New()
	tests := []struct {
		name     string
		in       string
		mentions []Mention
		tags     []string
	}{
		{"none", "plain text, a@b.com", nil, nil},
		{"order of first appearance", "#b @x@h.example #a @y@h.example #b @x@h.example",
			[]Mention{{"x", "h.example"}, {"y", "h.example"}}, []string{"b", "a"}},
		{"case-insensitive dedupe keeps first form", "@Alice@Host.Example @alice@host.example #Go #GO #go",
			[]Mention{{"Alice", "Host.Example"}}, []string{"go"}},
		{"unicode lower-cased", "#Café #ÉTÉ #日本語", nil, []string{"café", "été", "日本語"}},
		{"unresolved mentions are still reported", "@ghost@example.com", []Mention{{"ghost", "example.com"}}, nil},
		{"ignores code, destinations, autolinks, URLs, link text",
			"`#a @a@h.example`\n\n```\n#b\n```\n\n    #c\n\n[#d @d@h.example](https://h.example/#e) <https://h.example/#f> " +
				"https://h.example/@g@h.example#g www.h.example/#h",
			nil, nil},
		{"mentions and tags in lists and quotes", "- #one\n> @q@h.example #two",
			[]Mention{{"q", "h.example"}}, []string{"one", "two"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mentions, tags := r.Scan(tt.in)
			if !reflect.DeepEqual(mentions, tt.mentions) {
				t.Errorf("mentions: got %v; want %v", mentions, tt.mentions)
			}
			if !reflect.DeepEqual(tags, tt.tags) {
				t.Errorf("tags: got %q; want %q", tags, tt.tags)
			}
		})
	}
}

func TestMentionString(t *testing.T) {
	if got, want := (Mention{"alice", "host.example:8443"}).String(), "@alice@host.example:8443"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

// rendered renders src with links that resolve everything and returns, in
// order, what Render asked to link (mentions lower-cased, tags lower-cased),
// and how many mention and hashtag links the HTML contains.
func rendered(t testing.TB, r *Renderer, src string) (mentions, tags []string, html string) {
	links := Links{
		Mention: func(m Mention) (string, bool) {
			mentions = append(mentions, strings.ToLower(m.String()))
			return "https://m.example/" + fmt.Sprint(len(mentions)), true
		},
		Tag: func(tag string) string {
			tags = append(tags, strings.ToLower(tag))
			return "https://t.example/" + fmt.Sprint(len(tags))
		},
	}
	html, err := r.Render(src, links)
	if err != nil {
		t.Fatalf("Render(%q): %v", src, err)
	}
	return mentions, tags, html
}

// checkAgree fails unless Scan(src) reports exactly the mentions and tags that
// Render links, and the HTML holds one link per occurrence.
func checkAgree(t testing.TB, r *Renderer, src string) {
	t.Helper()
	scanMentions, scanTags := r.Scan(src)
	mentions, tags, html := rendered(t, r, src)
	var want []string
	for _, m := range scanMentions {
		want = append(want, strings.ToLower(m.String()))
	}
	if got := distinct(mentions); !slices.Equal(got, want) {
		t.Errorf("Render(%q) linked mentions %q; Scan found %q", src, got, want)
	}
	if got := distinct(tags); !slices.Equal(got, scanTags) {
		t.Errorf("Render(%q) linked tags %q; Scan found %q", src, got, scanTags)
	}
	if got, want := strings.Count(html, `class="u-url mention"`), len(mentions); got != want {
		t.Errorf("Render(%q) = %q: got %d mention links; want %d", src, html, got, want)
	}
	if got, want := strings.Count(html, `class="mention hashtag"`), len(tags); got != want {
		t.Errorf("Render(%q) = %q: got %d hashtag links; want %d", src, html, got, want)
	}
}

func distinct(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func TestScanAndRenderAgree(t *testing.T) {
	r := New()
	for _, group := range [][]renderCase{markdownCases, mentionCases, hashtagCases} {
		for _, tt := range group {
			t.Run(tt.name, func(t *testing.T) { checkAgree(t, r, tt.in) })
		}
	}
	// The check itself must notice a difference: a tag in a link text is
	// neither scanned nor rendered, so both sides are empty, while a plain one
	// appears on both.
	if m, tg := r.Scan("[#x](https://h.example/) #y"); len(m) != 0 || !slices.Equal(tg, []string{"y"}) {
		t.Errorf("Scan: got %v %q; want [] [y]", m, tg)
	}
}

func TestRenderInline(t *testing.T) {
	r := New()
	const me = `rel="me nofollow noopener noreferrer" target="_blank"`
	tests := []renderCase{
		{"URL becomes rel=me link", "https://alice.example/about",
			`<a href="https://alice.example/about" ` + me + `>https://alice.example/about</a>`},
		{"text escaped", `<b>Tom & "Jerry"</b>`, "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;"},
		{"no Markdown", `*not em* [x](https://a.example) \#raw &amp;`, `*not em* [x](<a href="https://a.example" ` + me +
			`>https://a.example</a>) \#raw &amp;amp;`},
		{"mention and hashtag", "@alice@host.example #Tag @ghost@host.example",
			hcard("alice", "host.example") + " " + hashtag("Tag") + " @ghost@host.example"},
		{"fragment in URL", "see https://a.example/#tag", `see <a href="https://a.example/#tag" ` + me + `>https://a.example/#tag</a>`},
		{"newlines become spaces", "a\nb\r\nc", "a b  c"},
		{"block syntax stays text", "# no heading", "# no heading"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.RenderInline(tt.in, testLinks())
			if got != tt.want {
				t.Errorf("RenderInline(%q)\ngot  %q\nwant %q", tt.in, got, tt.want)
			}
			if strings.Contains(got, "<p") {
				t.Errorf("RenderInline(%q) = %q: got a paragraph; want none", tt.in, got)
			}
		})
	}
}

// TestRealMarkdown renders Markdown written on other servers (testdata/SOURCES.md).
func TestRealMarkdown(t *testing.T) {
	r := New()
	tests := []struct {
		file              string
		links, paragraphs int
	}{
		// 22 bare URLs, among them ".../en#", "/@thelinuxexp/join" and "?issue=...#sitenews".
		{"peertube-video-content.md", 22, 17},
		{"lemmy-group-source.md", 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			mentions, tags := r.Scan(string(src))
			if len(mentions) != 0 || len(tags) != 0 {
				t.Errorf("Scan: got %v %q; want no mentions or tags", mentions, tags)
			}
			html, err := r.Render(string(src), testLinks())
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(html, "<a href="); got != tt.links {
				t.Errorf("got %d links; want %d\n%s", got, tt.links, html)
			}
			if got := strings.Count(html, "<p>"); got != tt.paragraphs {
				t.Errorf("got %d paragraphs; want %d\n%s", got, tt.paragraphs, html)
			}
			checkAgree(t, r, string(src))
		})
	}
}

// TestConcurrentRender renders with different Links at once: the hrefs must
// not leak between calls sharing one Renderer. Run with -race as well.
func TestConcurrentRender(t *testing.T) {
	r := New()
	const src = "@alice@host.example #tag [x](https://a.example) https://b.example"
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := range 8 {
		wg.Go(func() {
			prefix := fmt.Sprintf("https://s%d.example/", i)
			links := Links{
				Mention: func(m Mention) (string, bool) { return prefix + m.Username, true },
				Tag:     func(tag string) string { return prefix + "tags/" + tag },
			}
			want := `<p><span class="h-card" translate="no"><a href="` + prefix + `alice" class="u-url mention">@<span>alice</span></a></span> ` +
				`<a href="` + prefix + `tags/tag" class="mention hashtag" rel="tag">#<span>tag</span></a> ` +
				`<a href="https://a.example" ` + rel + `>x</a> <a href="https://b.example" ` + rel + `>https://b.example</a></p>` + "\n"
			for range 200 {
				got, err := r.Render(src, links)
				if err != nil || got != want {
					errs <- fmt.Sprintf("got %q, %v; want %q", got, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
