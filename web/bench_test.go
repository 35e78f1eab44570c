package web_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/static"
	"kith/store"
	"kith/store/storetest"
	"kith/templates"
	"kith/web"
)

// The rendering benchmarks measure design.md §10's "profile or timeline
// page, 20 posts, at 100k stored posts: p99 ≤ 5 ms", with a bare
// html/template page of 20 posts as the same-run floor (perf.md §1c):
//
//	go test -run='^$' -bench='ProfilePage|TemplateFloor' -benchtime=2000x -count=5 ./web
//
// The 100,000 posts are written once per run of BenchmarkProfilePage (a few
// seconds), in its own fresh database; its sub-benchmarks share it.

// seededPosts is the number of our posts stored before pages are measured.
const seededPosts = 100_000

// benchContent is a post's rendered HTML, about the length of a short
// note with a link and a hashtag.
const benchContent = `<p>Moved the little server to a Raspberry Pi this weekend. It idles at a few megabytes, ` +
	`the database is one file, and a backup is a single command. Notes and figures are on ` +
	`<a href="https://blog.example/pi-server" rel="nofollow noopener" target="_blank">my blog</a>.</p>` +
	`<p>Next: images with alt text, and a look at how long deliveries take to a thousand servers. ` +
	`<a href="https://kith.example/tags/selfhosting" class="mention hashtag" rel="tag">#selfhosting</a></p>`

// seed stores n of our posts, oldest first, ten thousand to a
// transaction. It writes the rows with prepared INSERTs on a connection of
// its own: store.Tx.PutPost prepares five statements per post, which would
// take 15 s for 100,000 posts instead of about 3. The rows are those PutPost
// writes for a post without attachments or mentions; the benchmark checks
// the store reads them back.
func seed(b *testing.B, path, base string, n int) (ids []string) {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	const perTx = 10_000
	for done := 0; done < n; done += perTx {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		post, err := tx.Prepare(`INSERT INTO posts (iri, local_id, author_iri, type, content_html, source,
			language, visibility, url, published, sid) VALUES (?, ?, ?, 'Note', ?, ?, 'en', ?, ?, ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		tag, err := tx.Prepare(`INSERT INTO post_tags (post_id, tag) VALUES (?, 'selfhosting')`)
		if err != nil {
			b.Fatal(err)
		}
		for i := done; i < min(done+perTx, n); i++ {
			at := start.Add(time.Duration(i) * 17 * time.Minute)
			id := store.NewID(at)
			ids = append(ids, id)
			vis := store.Public
			if i%10 == 9 {
				vis = store.Unlisted
			}
			res, err := post.Exec(base+"/users/me/statuses/"+id, id, base+"/users/me", benchContent,
				"Moved the little server… #selfhosting", vis, base+"/@me/"+id, at.UnixMilli(), id)
			if err != nil {
				b.Fatal(err)
			}
			if i%5 == 0 {
				rowID, _ := res.LastInsertId()
				if _, err := tag.Exec(rowID); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

// benchSite is an instance and its pages, for the page benchmarks.
func benchSite(b *testing.B) (*aptest.Instance, *web.Handler) {
	b.Helper()
	inst := aptest.NewInstance(b, aptest.InstanceOptions{})
	h, err := web.New(web.Config{DB: inst.DB, AP: inst.Service, Templates: templates.FS, Static: static.FS})
	if err != nil {
		b.Fatal(err)
	}
	return inst, h
}

// BenchmarkProfilePage renders /@me (the newest 20 public posts) and an
// older page of it through the real web handler and templates, on a
// database holding 100,000 of our posts. Besides ns/op and allocations it
// reports the p50 and p99 latency of the requests of each run.
func BenchmarkProfilePage(b *testing.B) {
	inst, h := benchSite(b)
	began := time.Now()
	ids := seed(b, inst.DB.Path(), inst.URLs.Base(), seededPosts)
	b.Logf("seeded %d posts in %s", len(ids), time.Since(began).Round(time.Millisecond))
	ctx := context.Background()
	newest, err := inst.DB.PostByLocalID(ctx, ids[len(ids)-1])
	if err != nil || newest.Visibility != store.Unlisted || len(newest.Tags) != 0 || newest.ContentHTML != benchContent {
		b.Fatalf("newest seeded post reads back as %+v, %v", newest, err)
	}

	for _, bc := range []struct{ name, path string }{
		{"newest", "/@me"},
		{"older", "/@me?before=" + ids[len(ids)/2]}, // a page from the middle of the history
	} {
		// Check once, untimed, that the page is what we mean to measure.
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, bc.path, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: status %d", bc.path, rec.Code)
		}
		if n := strings.Count(rec.Body.String(), "<article"); n != 20 {
			b.Fatalf("GET %s shows %d posts; want 20", bc.path, n)
		}
		size := rec.Body.Len()

		b.Run(bc.name, func(b *testing.B) { measurePage(b, h, bc.path, size) })
	}
}

// measurePage requests path b.N times and reports the p50 and p99
// latency, and the page's size.
func measurePage(b *testing.B, h http.Handler, path string, size int) {
	// A server's request context can be cancelled (the client may go):
	// database/sql and the driver then watch it, a goroutine per query.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	lat := make([]time.Duration, 0, b.N)
	var w pageWriter
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w.reset()
		t0 := time.Now()
		h.ServeHTTP(&w, req)
		lat = append(lat, time.Since(t0))
		if w.code != http.StatusOK {
			b.Fatalf("GET %s: status %d", path, w.code)
		}
	}
	b.StopTimer()
	reportLatency(b, lat)
	b.ReportMetric(float64(size), "page-bytes")
}

// pageWriter takes pages as a server's connection does: the bytes are
// copied out, into a buffer kept from one request to the next as a
// socket's is, so the measure holds no allocation of the harness's own
// (httptest.ResponseRecorder grows a new body for every request: 0.4 MB
// for a 200-post thread, counted in the page's B/op and collected with
// its garbage).
type pageWriter struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (w *pageWriter) reset() {
	if w.header == nil {
		w.header = make(http.Header)
	}
	clear(w.header)
	w.code = 0
	w.body.Reset()
}

func (w *pageWriter) Header() http.Header { return w.header }

func (w *pageWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *pageWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// postPageReplies is how many replies the measured post has, each by
// another cached actor.
const postPageReplies = 20

// seedReplies stores n remote replies by the actors in one transaction:
// the first postPageReplies answer posts[0], the rest the other posts,
// round robin.
func seedReplies(b *testing.B, path string, posts, actors []string, n int) {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	ins, err := tx.Prepare(`INSERT INTO posts (iri, author_iri, type, content_html, visibility, in_reply_to, url, published, sid)
		VALUES (?, ?, 'Note', ?, 'public', ?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		target := posts[0]
		if i >= postPageReplies {
			target = posts[1+i%(len(posts)-1)]
		}
		author := actors[i%len(actors)]
		iri := fmt.Sprintf("%s/statuses/%d", author, i)
		at := start.Add(time.Duration(i) * time.Minute)
		if _, err := ins.Exec(iri, author, "<p>A reply with a few words in it, as most replies are.</p>", target,
			iri, at.UnixMilli(), store.NewID(at)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPostPage renders one of our posts with its replies, as a
// visitor sees it, on a database seeded like a year of use: 100,000 of our
// posts, 10,000 cached actors and 20,000 remote replies spread over the
// posts, postPageReplies of them under the measured post. It reports p50
// and p99 like BenchmarkProfilePage, whose template floor applies:
//
//	go test -run='^$' -bench='PostPage|TemplateFloor' -benchtime=2000x -count=3 ./web
func BenchmarkPostPage(b *testing.B) {
	inst, h := benchSite(b)
	began := time.Now()
	ids := seed(b, inst.DB.Path(), inst.URLs.Base(), seededPosts)
	actors := storetest.SeedActors(b, inst.DB.Path(), 10_000)
	target := ids[len(ids)/2]
	posts := []string{inst.URLs.Post(target)}
	for i := 0; i < len(ids); i += 7 {
		posts = append(posts, inst.URLs.Post(ids[i]))
	}
	seedReplies(b, inst.DB.Path(), posts, actors, 20_000)
	b.Logf("seeded %d posts, %d actors and 20,000 replies in %s", len(ids), len(actors), time.Since(began).Round(time.Millisecond))

	path := "/@me/" + target
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		b.Fatalf("GET %s: status %d", path, rec.Code)
	}
	if n := strings.Count(rec.Body.String(), "<article"); n != postPageReplies+1 {
		b.Fatalf("GET %s shows %d posts; want the post and %d replies", path, n, postPageReplies)
	}
	if !strings.Contains(rec.Body.String(), "@u1@r1.example") {
		b.Fatal("the replies' authors are not named by handle")
	}
	measurePage(b, h, path, rec.Body.Len())
}

// BenchmarkProfileQueries times, on the same kind of database as
// BenchmarkProfilePage, the store calls the profile page makes, so that a
// slow page can be traced to its query.
func BenchmarkProfileQueries(b *testing.B) {
	inst := aptest.NewInstance(b, aptest.InstanceOptions{})
	seed(b, inst.DB.Path(), inst.URLs.Base(), seededPosts)
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		run  func() error
	}{
		{"LocalPosts", func() error {
			posts, err := inst.DB.LocalPosts(ctx, store.PostQuery{Visibilities: []string{store.Public}, Limit: 20})
			if err == nil && len(posts) != 20 {
				err = fmt.Errorf("%d posts; want 20", len(posts))
			}
			return err
		}},
		{"CountLocalPosts", func() error {
			n, err := inst.DB.CountLocalPosts(ctx, store.Public, store.Unlisted)
			if err == nil && n != seededPosts {
				err = fmt.Errorf("counted %d posts; want %d", n, seededPosts)
			}
			return err
		}},
		{"Account", func() error { _, err := inst.DB.Account(ctx); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if err := bc.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportLatency adds the median and 99th percentile of lat.
func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) }
	b.ReportMetric(pct(0.50), "p50-ns")
	b.ReportMetric(pct(0.99), "p99-ns")
}

// floorPage is a minimal page of 20 posts: what any server-rendered
// timeline must at least do with html/template (perf.md §1c: 609 µs).
const floorPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<link rel="stylesheet" href="/static/style.css"></head><body><main>
<h1>{{.Title}}</h1>
{{range .Posts}}<article class="post" id="post-{{.ID}}">
<header><img class="avatar" src="{{.Avatar}}" alt="" width="40" height="40"><a href="{{.AuthorURL}}">{{.Author}}</a> <span>{{.Handle}}</span></header>
<div class="content">{{.Content}}</div>
<footer><a href="{{.URL}}"><time datetime="{{.Published.Format "2006-01-02T15:04:05Z07:00"}}">{{.Published.Format "2 Jan 2006 15:04"}}</time></a>
{{range .Tags}}<a class="hashtag" href="{{.URL}}" rel="tag">#{{.Name}}</a>{{end}}</footer>
</article>
{{end}}</main></body></html>`

// BenchmarkTemplateFloor renders floorPage with 20 posts like the seeded
// ones into a buffer: no database, no routing, no sessions.
func BenchmarkTemplateFloor(b *testing.B) {
	t := template.Must(template.New("page").Parse(floorPage))
	type tag struct{ Name, URL string }
	type post struct {
		ID, Avatar, AuthorURL, Author, Handle, URL string
		Content                                    template.HTML
		Published                                  time.Time
		Tags                                       []tag
	}
	data := struct {
		Title string
		Posts []post
	}{Title: "Me (@me@kith.example)"}
	for i := range 20 {
		id := fmt.Sprintf("01jc%022d", i)
		data.Posts = append(data.Posts, post{
			ID: id, Avatar: "/static/avatar.svg", AuthorURL: "https://kith.example/@me", Author: "Me",
			Handle: "@me@kith.example", URL: "https://kith.example/@me/" + id, Content: benchContent,
			Published: time.Date(2026, 11, 2, 10, i, 0, 0, time.UTC),
			Tags:      []tag{{"selfhosting", "https://kith.example/tags/selfhosting"}},
		})
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		b.Fatal(err)
	}
	size := buf.Len()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		buf.Reset()
		if err := t.Execute(&buf, data); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, lat)
	b.ReportMetric(float64(size), "page-bytes")
}
