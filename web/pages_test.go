package web

import (
	"html/template"
	"io/fs"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"kith/ap/aptest"
	"kith/static"
	"kith/templates"
)

// TestPagesRenderWithLayout renders every page, for the owner and for a
// visitor, and checks each has the layout around it: title, navigation,
// footer, the metadata other sites read, and forms that carry the CSRF
// token.
func TestPagesRenderWithLayout(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	id := k.publish("A #tagged post", "public")
	gone := k.publish("Soon deleted", "public")
	k.post("/delete/"+gone, nil)
	visitor := k.visitor()

	tests := []struct {
		path   string
		status int
		public bool // a public page: ActivityPub and OpenGraph metadata
	}{
		{"/", http.StatusOK, true},
		{"/@me", http.StatusOK, true},
		{"/@me/" + id, http.StatusOK, true},
		{"/tags/tagged", http.StatusOK, true},
		{"/@me/" + gone, http.StatusGone, false},
		{"/nowhere/at/all", http.StatusNotFound, false},
		{"/login", http.StatusOK, false},
		{"/compose", http.StatusOK, false},
		{"/edit/" + id, http.StatusOK, false},
		{"/delete/" + id, http.StatusOK, false},
		{"/settings/profile", http.StatusOK, false},
		{"/settings/deliveries", http.StatusOK, false},
	}
	for _, who := range []struct {
		name  string
		k     *kit
		owner bool
	}{{"owner", k, true}, {"visitor", visitor, false}} {
		for _, tt := range tests {
			t.Run(who.name+tt.path, func(t *testing.T) {
				rec := who.k.get(tt.path)
				if rec.Code == http.StatusSeeOther {
					// Owner pages send visitors to log in; the owner is
					// sent from the login page to compose.
					if who.owner == (tt.path == "/login") {
						return
					}
					t.Fatalf("redirect to %s", rec.Header().Get("Location"))
				}
				if rec.Code != tt.status {
					t.Fatalf("status %d; want %d", rec.Code, tt.status)
				}
				body := rec.Body.String()
				for _, want := range []string{
					"<!doctype html>", "<title>", `<meta name="viewport"`, `<link rel="stylesheet" href="/static/style.`,
					`<nav aria-label="Main">`, `<main id="main">`, `<footer class="site">`, "</html>",
				} {
					if !strings.Contains(body, want) {
						t.Errorf("page lacks %q", want)
					}
				}
				if who.owner != strings.Contains(body, ">Log out</button>") {
					t.Errorf("owner=%v but the log out button shown=%v", who.owner, !who.owner)
				}
				if forms, tokens := strings.Count(body, `method="post"`), strings.Count(body, `name="csrf"`); who.owner && forms != tokens {
					t.Errorf("%d forms but %d CSRF fields", forms, tokens)
				}
				if tt.public {
					for _, want := range []string{`<meta property="og:title"`, `<meta name="fediverse:creator" content="@me@`,
						`type="application/atom+xml"`} {
						if !strings.Contains(body, want) {
							t.Errorf("public page lacks %q", want)
						}
					}
					if tt.path != "/tags/tagged" && !strings.Contains(body, `<link rel="alternate" type="application/activity+json" href="https://`) {
						t.Error("public page lacks its ActivityPub alternate link")
					}
				}
			})
		}
	}
}

// TestNewRefusesMissingPage: a page template missing from the templates
// stops kith at start-up rather than on the first request for it.
func TestNewRefusesMissingPage(t *testing.T) {
	t.Parallel()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	for _, missing := range []string{"compose.html", "deliveries.html", "partials.html"} {
		t.Run(missing, func(t *testing.T) {
			fsys := fstest.MapFS{}
			fs.WalkDir(templates.FS, ".", func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() && p != missing {
					b, _ := fs.ReadFile(templates.FS, p)
					fsys[p] = &fstest.MapFile{Data: b}
				}
				return err
			})
			_, err := New(Config{DB: inst.DB, AP: inst.Service, Templates: fsys, Static: static.FS})
			if err == nil || !strings.Contains(err.Error(), strings.TrimSuffix(missing, ".html")) {
				t.Errorf("New without %s: %v; want an error naming it", missing, err)
			}
		})
	}
}

// TestEveryPageParses parses every page template, as start-up no longer
// does: an error in one fails here rather than on a visitor's request.
func TestEveryPageParses(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	for _, name := range pageNames {
		if tpl := mustParse(t, k.h.pages[name]); tpl.Lookup("layout") == nil {
			t.Errorf("page %s has no layout", name)
		}
	}
}

// TestPagesParseOnFirstUse: New reads no page template; the first request
// for a page parses the layout, the partials and that page, once, however
// many requests come at once; and a page that fails to parse is a clean
// 500 for that page alone.
func TestPagesParseOnFirstUse(t *testing.T) {
	t.Parallel()
	fsys := &countingFS{MapFS: fstest.MapFS{}, reads: map[string]int{}}
	fs.WalkDir(templates.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(templates.FS, p)
			fsys.MapFS[p] = &fstest.MapFile{Data: b}
		}
		return err
	})
	fsys.MapFS["search.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{.Unclosed`)}
	k := newKit(t, aptest.InstanceOptions{}, func(c *Config) {
		c.Templates = fsys
		c.Logger = slog.New(slog.DiscardHandler) // the broken page logs an error
	})
	if got := fsys.count(); len(got) != 0 {
		t.Fatalf("New read %v; want no template read before a page is asked for", got)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if rec := k.get("/@me"); rec.Code != http.StatusOK {
				t.Errorf("GET /@me: %d; want 200", rec.Code)
			}
		})
	}
	wg.Wait()
	want := map[string]int{"layout.html": 1, "partials.html": 1, "profile.html": 1}
	if got := fsys.count(); !maps.Equal(got, want) {
		t.Errorf("after four views of the profile, templates read: %v; want %v", got, want)
	}
	k.login()
	rec := k.get("/search?q=x")
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "Unclosed") {
		t.Errorf("GET /search with a broken template: %d %q; want a 500 that names nothing inside", rec.Code, rec.Body.String())
	}
	if rec := k.get("/@me"); rec.Code != http.StatusOK {
		t.Errorf("GET /@me after the broken page: %d; want 200", rec.Code)
	}
}

// countingFS counts the files read from a template file system.
type countingFS struct {
	fstest.MapFS
	mu    sync.Mutex
	reads map[string]int
}

func (c *countingFS) ReadFile(name string) ([]byte, error) {
	c.mu.Lock()
	c.reads[name]++
	c.mu.Unlock()
	return c.MapFS.ReadFile(name)
}

func (c *countingFS) count() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.reads)
}

// mustParse returns the page's parsed template.
func mustParse(tb testing.TB, pt *pageTemplate) *template.Template {
	tb.Helper()
	tpl, err := pt.parse()
	if err != nil {
		tb.Fatal(err)
	}
	return tpl
}

// TestSmallHelpers covers the wording helpers.
func TestSmallHelpers(t *testing.T) {
	t.Parallel()
	notices := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"@a@x.example"}, "@a@x.example could not be found; it stays plain text."},
		{[]string{"@a@x", "@b@y", "@c@z"}, "@a@x, @b@y and @c@z could not be found; they stay plain text."},
	}
	for _, tt := range notices {
		if got := unresolvedNotice(tt.in); got != tt.want {
			t.Errorf("unresolvedNotice(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
	mentions := []struct {
		in   string
		want bool
	}{
		{"@alice@social.example", true},
		{"@bob@127.0.0.1:8443", true},
		{"alice@social.example", false},
		{"@alice", false},
		{"@a@b <script>", false},
		{"@a@b@c", false},
	}
	for _, tt := range mentions {
		if got := mentionLike(tt.in); got != tt.want {
			t.Errorf("mentionLike(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

// TestStaticTypes: every static file kith ships is served with the media
// type the standard table gives its extension (staticType stands in for
// the table, which costs 400 KB of heap once read), never as an unknown
// type that browsers, told nosniff, would refuse.
func TestStaticTypes(t *testing.T) {
	t.Parallel()
	files, err := newStaticFiles(static.FS)
	if err != nil {
		t.Fatal(err)
	}
	if len(files.files) == 0 {
		t.Fatal("no static files")
	}
	for name, f := range files.files {
		want, _, _ := mime.ParseMediaType(mime.TypeByExtension(path.Ext(name)))
		got, _, _ := mime.ParseMediaType(f.contentType)
		if got != want || got == "" || got == "application/octet-stream" {
			t.Errorf("%s served as %q; want %q", name, f.contentType, want)
		}
	}
	for _, ext := range []string{".css", ".js", ".svg", ".png"} {
		want, _, _ := mime.ParseMediaType(mime.TypeByExtension(ext))
		if got, _, _ := mime.ParseMediaType(staticType(ext)); want != "" && got != want {
			t.Errorf("staticType(%q) = %q; want %q", ext, got, want)
		}
	}
}
