package markdown

import "testing"

// benchPost is a 500-character post with a link, a mention and two hashtags
// (perf.md T11: at most 50 µs per render).
const benchPost = "Spent the weekend moving my blog to a **single Go binary** with one SQLite file, and it was " +
	"far less painful than I feared. Thanks to @alice@social.example for the nudge and for the notes on " +
	"WAL mode. The write-up, with numbers, is [on my site](https://kith.example/notes/2024-moving).\n" +
	"Short version: start-up takes 40 ms, memory stays under 30 MB, and backups are one `cp` away. " +
	"Next up: federation tests against real servers and a proper Atom feed. Questions welcome! #golang #selfhosting"

func BenchmarkRender(b *testing.B) {
	if n := len([]rune(benchPost)); n < 480 || n > 520 {
		b.Fatalf("benchPost has %d characters; want about 500", n)
	}
	r := New()
	links := testLinks()
	out, err := r.Render(benchPost, links)
	if err != nil {
		b.Fatal(err)
	}
	checkAgree(b, r, benchPost)
	if m, tags := r.Scan(benchPost); len(m) != 1 || len(tags) != 2 {
		b.Fatalf("Scan: got %v %q; want 1 mention and 2 tags\n%s", m, tags, out)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Render(benchPost, links); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScan(b *testing.B) {
	r := New()
	b.ReportAllocs()
	for b.Loop() {
		r.Scan(benchPost)
	}
}
