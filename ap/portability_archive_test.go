package ap_test

import (
	"archive/zip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kith/store"
	"kith/store/archive"
)

// TestImportArchive: a Mastodon archive made of real documents (the
// actor, a public post of a thread, a reply to someone else, a boost, and
// following_accounts.csv) brings the public post in under its original
// date, marked imported and delivered to nobody, and follows the account
// of the CSV; a second import of the same archive changes nothing.
func TestImportArchive(t *testing.T) {
	e := newReadEnv(t)
	ctx := context.Background()
	note := fixture(t, "mastodon-note-attachment-mention.json")
	var other map[string]any
	if err := json.Unmarshal(note, &other); err != nil {
		t.Fatal(err)
	}
	other["id"] = other["id"].(string) + "0"
	other["inReplyTo"] = "https://mastodon.example/users/someone/statuses/1"
	otherJSON, _ := json.Marshal(other)
	outbox := `{"@context":"https://www.w3.org/ns/activitystreams","id":"outbox.json","type":"OrderedCollection","orderedItems":[` +
		`{"type":"Create","actor":"https://floss.social/users/kde","object":` + string(note) + `},` +
		`{"type":"Create","actor":"https://floss.social/users/kde","object":` + string(otherJSON) + `},` +
		`{"type":"Announce","actor":"https://floss.social/users/kde","object":"https://mastodon.example/users/someone/statuses/1"}]}`
	path := filepath.Join(t.TempDir(), "archive.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range map[string]string{
		"actor.json":             string(fixture(t, "mastodon-actor-person.json")),
		"outbox.json":            outbox,
		"following_accounts.csv": "Account address,Show boosts,Notify on new posts,Languages\nbob@" + e.remote.Host + ",true,false,\n",
	} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zw.Close()
	f.Close()

	pending := func() int {
		st, err := e.inst.DB.DeliveryStats(ctx, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return st.Pending
	}
	before := pending()
	for round := range 2 {
		a, err := archive.Open(path, archive.DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.inst.Service.ImportArchive(ctx, a, nil)
		a.Close()
		if err != nil {
			t.Fatal(err)
		}
		wantPosts, wantUnchanged := 1, 0
		if round == 1 {
			wantPosts, wantUnchanged = 0, 1
		}
		if res.Posts != wantPosts || res.Unchanged != wantUnchanged || res.Skipped != 2 {
			t.Errorf("round %d: %+v; want %d posts, %d unchanged, 2 skipped", round, res, wantPosts, wantUnchanged)
		}
		if len(res.CSV) != 1 || res.CSV[0].Applied+res.CSV[0].Unchanged != 1 {
			t.Errorf("round %d: CSV %+v", round, res.CSV)
		}
	}
	if n, _ := e.inst.DB.CountImported(ctx); n != 1 {
		t.Errorf("%d imported posts; want 1", n)
	}
	if got := pending() - before; got != 1 {
		t.Errorf("%d deliveries queued; want only the Follow of the CSV", got)
	}
	if f, err := e.inst.DB.Following(ctx, e.bob.IRI); err != nil || f.State != store.Pending {
		t.Errorf("following bob: %+v, %v", f, err)
	}
	posts, err := e.inst.DB.PostsOf(ctx, e.inst.URLs.Actor(), e.inst.URLs.Actor(), store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var imported *store.Post
	for _, p := range posts {
		if strings.Contains(p.Post.ContentHTML, "KDE") || p.Post.Published.Year() == 2024 {
			imported = &p.Post
		}
	}
	if imported == nil {
		t.Fatalf("the imported post is not among the owner's: %d posts", len(posts))
	}
	if want := time.Date(2024, 10, 14, 16, 57, 15, 0, time.UTC); !imported.Published.Equal(want) || !e.inst.URLs.IsLocal(imported.IRI) {
		t.Errorf("imported post %s published %v; want a local post of %v", imported.IRI, imported.Published, want)
	}
}
