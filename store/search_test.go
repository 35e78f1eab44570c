package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kith/store"
	"kith/store/storetest"
)

// searchIRIs runs SearchPosts for q and returns the IRIs found, best first.
func searchIRIs(t *testing.T, db *store.DB, q string) []string {
	t.Helper()
	posts, err := db.SearchPosts(context.Background(), store.SearchTerms(q), "https://k.example/users/me", 30)
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	var out []string
	for _, p := range posts {
		out = append(out, p.IRI)
	}
	return out
}

// putPosts stores posts with the given contents, in order, IRIs
// https://r.example/notes/<key>.
func putPosts(t *testing.T, db *store.DB, posts map[string]store.Post, order []string) {
	t.Helper()
	ctx := context.Background()
	err := db.Update(ctx, func(tx *store.Tx) error {
		for _, k := range order {
			p := posts[k]
			p.IRI, p.AuthorIRI, p.Type, p.Visibility = "https://r.example/notes/"+k, "https://r.example/users/ann", "Note", store.Public
			p.Published = time.Now()
			if err := tx.PutPost(ctx, &p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func notes(keys ...string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = "https://r.example/notes/" + k
	}
	return out
}

// TestSearchPostsLastWord: the last word typed finds the words it begins
// (the index's words, looked up by name), a word of one or two characters
// only itself, a word with diacritics as the index folds it; a search asks
// for six words at most, completions included.
func TestSearchPostsLastWord(t *testing.T) {
	db := storetest.Open(t)
	posts := map[string]store.Post{
		"delivered":  {ContentHTML: "<p>It was delivered on time</p>"},
		"deliveries": {ContentHTML: "<p>Deliveries are slow today</p>"},
		"delight":    {ContentHTML: "<p>What a delight</p>"},
		"pi":         {ContentHTML: "<p>A Raspberry Pi at home</p>"},
		"pie":        {ContentHTML: "<p>Apple pie for dinner</p>"},
		"cafe":       {ContentHTML: "<p>Café au lait</p>"},
	}
	order := []string{"delivered", "deliveries", "delight", "pi", "pie", "cafe"}
	for i := range 10 {
		k := fmt.Sprintf("pre%d", i)
		posts[k] = store.Post{ContentHTML: "<p>Word " + k + "</p>"}
		order = append(order, k)
	}
	putPosts(t, db, posts, order)

	for _, tt := range []struct {
		q    string
		want []string
	}{
		{"deliv", notes("delivered", "deliveries")},
		{"DELIVERED", notes("delivered")},
		{"on deliv", notes("delivered")},
		{"pi", notes("pi")},
		{"apple pi", nil},
		{"pie", notes("pie")},
		{"caf", notes("cafe")},
		{"café", notes("cafe")},
		{"lait caf", notes("cafe")},
		{"zyzzyva", nil},
		{"zyzzyva deliv", nil},
		// pre0 … pre9: the first six in the index's order.
		{"pre", notes("pre0", "pre1", "pre2", "pre3", "pre4", "pre5")},
		// Two words typed: the last stands for five at most.
		{"word pre", notes("pre0", "pre1", "pre2", "pre3", "pre4")},
		// Six words typed at most: the seventh, held by no post, is not asked for.
		{"word pre0 word word word word zyzzyva", notes("pre0")},
	} {
		t.Run(tt.q, func(t *testing.T) {
			got := searchIRIs(t, db, tt.q)
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("search %q found %v; want %v", tt.q, got, tt.want)
			}
		})
	}
}

// TestSearchPostsLastWordBeyondASCII: a last word with letters beyond
// ASCII is looked up by name too, as the index folds it (case and
// diacritics), never through FTS5's prefix query ("word"*, which merges
// the doclist of every word it covers), and finds what that query found:
// accented and plain forms alike. One that folds to a word of one or two
// letters stands for itself, as that word typed does.
func TestSearchPostsLastWordBeyondASCII(t *testing.T) {
	var mu sync.Mutex
	var matches []string
	db := storetest.OpenWith(t, store.Options{Trace: func(query string, args []any) {
		if strings.Contains(query, "posts_fts MATCH") && len(args) > 0 {
			mu.Lock()
			matches = append(matches, fmt.Sprint(args[0]))
			mu.Unlock()
		}
	}})
	posts := map[string]store.Post{
		"cafe":    {ContentHTML: "<p>Café au lait</p>"},
		"cafes":   {ContentHTML: "<p>Two cafes on the square</p>"},
		"ca":      {ContentHTML: "<p>Ça va</p>"},
		"cactus":  {ContentHTML: "<p>A cactus by the window</p>"},
		"strasse": {ContentHTML: "<p>Die Straßenbahn fährt</p>"},
		"nihongo": {ContentHTML: "<p>日本語のテスト</p>"},
		"naive":   {ContentHTML: "<p>A naïve question</p>"},
	}
	putPosts(t, db, posts, []string{"cafe", "cafes", "ca", "cactus", "strasse", "nihongo", "naive"})

	for _, tt := range []struct {
		q    string
		want []string
	}{
		{"café", notes("cafe", "cafes")},
		{"CAFÉ", notes("cafe", "cafes")},
		{"café", notes("cafe", "cafes")}, // a combining accent
		{"lait café", notes("cafe")},
		{"straß", notes("strasse")},
		{"STRASSENBAHN", nil}, // the index does not fold ß
		{"fähr", notes("strasse")},
		{"日本", notes("nihongo")},
		{"naï", notes("naive")},
		{"ça", notes("ca")}, // "ca", not cactus, cafe or cafes
		{"zyzzyvaé", nil},
	} {
		t.Run(tt.q, func(t *testing.T) {
			mu.Lock()
			matches = nil
			mu.Unlock()
			got := searchIRIs(t, db, tt.q)
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("search %q found %v; want %v", tt.q, got, tt.want)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, m := range matches {
				if strings.HasSuffix(m, "*") {
					t.Errorf("search %q ran FTS5's prefix query %s", tt.q, m)
				}
			}
		})
	}
}

// TestSearchPostsRanking: a hit in a title counts more than one in a
// content warning, which counts more than one in the text; a deleted post
// is never found.
func TestSearchPostsRanking(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	putPosts(t, db, map[string]store.Post{
		"text":    {ContentHTML: "<p>The garden gate is open</p>"},
		"cw":      {Summary: "garden", ContentHTML: "<p>The gate is open</p>"},
		"title":   {Title: "Garden", ContentHTML: "<p>The gate is open</p>"},
		"deleted": {Title: "Garden", ContentHTML: "<p>garden garden</p>"},
	}, []string{"text", "cw", "title", "deleted"})
	if err := db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.DeletePost(ctx, "https://r.example/notes/deleted")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got, want := searchIRIs(t, db, "garden"), notes("title", "cw", "text"); !slices.Equal(got, want) {
		t.Errorf("found %v; want %v", got, want)
	}
	if got, want := searchIRIs(t, db, "gard"), notes("title", "cw", "text"); !slices.Equal(got, want) {
		t.Errorf("prefix: found %v; want %v", got, want)
	}
}

// TestSearchPostsWindow: a search ranks the newest 2,000 posts that match
// it. An older post, however good a match, is left out once 2,000 newer
// ones match, and is found by a word only it holds; the best match among
// the newest comes first.
func TestSearchPostsWindow(t *testing.T) {
	db := storetest.Open(t)
	putPosts(t, db, map[string]store.Post{
		"old": {Title: "Harbour", ContentHTML: "<p>harbour oldword</p>"},
	}, []string{"old"})
	actors := storetest.SeedActors(t, db.Path(), 10)
	storetest.SeedHome(t, db.Path(), actors, 2000, "<p>A long walk along the harbour wall, then home for tea and a book</p>")
	putPosts(t, db, map[string]store.Post{
		"new": {Title: "Harbour", ContentHTML: "<p>harbour</p>"},
	}, []string{"new"})

	got := searchIRIs(t, db, "harbour")
	if len(got) != 30 || got[0] != notes("new")[0] {
		t.Fatalf("found %d posts, first %v; want 30, the newest title hit first", len(got), got[:min(1, len(got))])
	}
	if slices.Contains(got, notes("old")[0]) {
		t.Error("a post older than the newest 2,000 matches was ranked")
	}
	if got, want := searchIRIs(t, db, "oldword harb"), notes("old"); !slices.Equal(got, want) {
		t.Errorf("a word only the old post holds: found %v; want %v", got, want)
	}
}

// TestSearchIndexesText: the index holds a post's text, not its markup: a
// tag or attribute name is no word of the post, an entity is its
// character; an edit replaces the post's words; migration 0028 rebuilds the
// index from the posts already stored, and running it again changes
// nothing.
func TestSearchIndexesText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kith.db")
	db := storetest.OpenAt(t, path)
	post := map[string]store.Post{"link": {ContentHTML: `<p>Roses in the <a href="https://blog.example/x" rel="nofollow noopener" ` +
		`target="_blank" class="mention hashtag">#garden</a><br>and &lt;b&gt;bold&lt;/b&gt;</p><script>hidden</script>`}}
	putPosts(t, db, post, []string{"link"})
	check := func(when string) {
		t.Helper()
		for _, q := range []string{"roses", "garden", "bold", "the gard"} {
			if got := searchIRIs(t, db, q); !slices.Equal(got, notes("link")) {
				t.Errorf("%s: %q found %v; want the post", when, q, got)
			}
		}
		for _, q := range []string{"href", "target", "blank", "nofollow", "mention", "hashtag x", "class", "p", "br", "hidden"} {
			if got := searchIRIs(t, db, q); got != nil {
				t.Errorf("%s: %q found %v; want nothing", when, q, got)
			}
		}
	}
	check("stored")

	db.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`PRAGMA user_version = 27`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db = storetest.OpenAt(t, path)
	check("migrated again")

	edited := post["link"]
	edited.ContentHTML = "<p>Tulips now</p>"
	putPosts(t, db, map[string]store.Post{"link": edited}, []string{"link"})
	if got := searchIRIs(t, db, "roses"); got != nil {
		t.Errorf("after an edit the old words find %v", got)
	}
	if got := searchIRIs(t, db, "tulips"); !slices.Equal(got, notes("link")) {
		t.Errorf("after an edit the new words find %v", got)
	}
}

// TestSearchPostsHidesMutedAndBlocked: posts of a muted or blocked
// account, of a muted server and of a server under a blocked domain are
// left out, as the home timeline leaves them out, and take no place among
// the best: the limit still fills with posts that show.
func TestSearchPostsHidesMutedAndBlocked(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	authors := map[string]string{
		"shown":        "https://r.example/users/ann",
		"muted":        "https://r.example/users/mel",
		"blocked":      "https://r.example/users/bo",
		"mutedhost":    "https://quiet.example/users/q",
		"blockeddom":   "https://social.bad.example:8443/users/b",
		"shownother":   "https://ok.example/users/o",
		"shownsimilar": "https://notbad.example/users/n",
	}
	order := []string{"shown", "muted", "blocked", "mutedhost", "blockeddom", "shownother", "shownsimilar"}
	err := db.Update(ctx, func(tx *store.Tx) error {
		for _, k := range order {
			p := store.Post{IRI: "https://r.example/notes/" + k, AuthorIRI: authors[k], Type: "Note",
				Visibility: store.Public, Published: time.Now(), ContentHTML: "<p>lighthouse " + k + "</p>"}
			if err := tx.PutPost(ctx, &p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{authors["muted"], "quiet.example"} {
		if err := db.PutMute(ctx, store.Mute{ActorIRI: m, Notifications: true, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []string{authors["blocked"], "bad.example"} {
		if err := db.Block(ctx, b, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	got := searchIRIs(t, db, "lighthouse")
	slices.Sort(got)
	if want := notes("shown", "shownother", "shownsimilar"); !slices.Equal(got, want) {
		t.Errorf("found %q; want %q", got, want)
	}
	posts, err := db.SearchPosts(ctx, store.SearchTerms("lighthouse"), "https://k.example/users/me", 2)
	if err != nil || len(posts) != 2 {
		t.Errorf("limit 2: %d posts, %v; want 2 shown ones", len(posts), err)
	}
}
