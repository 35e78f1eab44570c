package ap_test

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
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

// TestImportArchiveThreads: a reply to one of the owner's own posts
// stays a reply after the import, whether its start went in with the
// same batch of posts or an earlier one; 250 posts span three batches,
// and progress counts every item.
func TestImportArchiveThreads(t *testing.T) {
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	var note map[string]any
	if err := json.Unmarshal(fixture(t, "mastodon-note-attachment-mention.json"), &note); err != nil {
		t.Fatal(err)
	}
	delete(note, "attachment")
	const base = "https://floss.social/users/kde/statuses/"
	var items []string
	for i := range 250 {
		note["id"] = fmt.Sprint(base, i)
		note["published"] = time.Date(2021, 3, 3, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute).Format(time.RFC3339)
		switch i {
		case 5, 120: // replies to post 4 (same batch) and post 50 (an earlier one)
			note["inReplyTo"] = fmt.Sprint(base, map[int]int{5: 4, 120: 50}[i])
		default:
			delete(note, "inReplyTo")
		}
		b, _ := json.Marshal(note)
		items = append(items, `{"type":"Create","object":`+string(b)+`}`)
	}
	path := writeArchive(t, [][2]string{{"outbox.json", `{"type":"OrderedCollection","orderedItems":[` + strings.Join(items, ",") + `]}`}})
	a, err := archive.Open(path, archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var last ap.ArchiveProgress
	res, err := inst.Service.ImportArchive(context.Background(), a, func(p ap.ArchiveProgress) { last = p })
	if err != nil || res.Posts != 250 {
		t.Fatalf("import: %+v, %v; want 250 posts", res, err)
	}
	if last.Phase != "posts" || last.Done != 250 || last.Total != 250 {
		t.Errorf("last progress %+v; want posts 250 of 250", last)
	}
	ctx := context.Background()
	for _, pair := range [][2]int{{5, 4}, {120, 50}} {
		var reply, parent string
		err := inst.DB.Update(ctx, func(tx *store.Tx) error {
			var err error
			if reply, err = tx.ImportedAs(ctx, fmt.Sprint(base, pair[0])); err != nil {
				return err
			}
			parent, err = tx.ImportedAs(ctx, fmt.Sprint(base, pair[1]))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		p, err := inst.DB.PostByIRI(ctx, reply)
		if err != nil || p.InReplyTo != parent || parent == "" {
			t.Errorf("post %d answers %q (%v); want post %d here, %q", pair[0], p.InReplyTo, err, pair[1], parent)
		}
	}
}
