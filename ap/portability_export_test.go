package ap_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
	"kith/store/archive"
)

// TestExportArchiveRoundTrip: the archive one kith exports, imported by a
// second kith, gives the same follows, blocks and posts (content, dates,
// and images with their alt text), and a Mastodon-layout archive:
// actor.json, outbox.json and the image under media_attachments/ inside.
func TestExportArchiveRoundTrip(t *testing.T) {
	e := newReadEnv(t) // follows alice
	ctx := context.Background()
	if _, err := e.inst.Service.Block(ctx, e.mallory.IRI); err != nil {
		t.Fatal(err)
	}
	first := e.publish("the first post")
	// A second apart: two posts of the same second have no order the
	// importing side must keep.
	e.clock.Advance(time.Second)
	m, err := e.inst.Service.StoreUpload(ctx, bytes.NewReader(mediaFile(t, "video-001.progressive.jpeg")))
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.inst.Service.Publish(ctx, ap.Draft{Source: "the second post", Media: []ap.DraftMedia{{ID: m.ID, Description: "a still of a video"}}})
	if err != nil {
		t.Fatal(err)
	}
	second := p.Post

	var buf bytes.Buffer
	if err := e.inst.Service.ExportArchive(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "export.zip")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := archive.Open(path, archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if len(a.Media) != 1 {
		t.Errorf("media in the archive: %v; want the one image", a.Media)
	}
	for _, doc := range []string{"actor.json", "outbox.json", "likes.json", "bookmarks.json", ap.ImportFollowing} {
		if !a.Has(doc) {
			t.Errorf("the export lacks %s", doc)
		}
	}

	other := aptest.NewInstance(t, aptest.InstanceOptions{Now: e.clock.Now})
	res, err := other.Service.ImportArchive(ctx, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Posts != 2 || res.Media != 1 || res.MediaSkipped != 0 {
		t.Errorf("imported %+v; want 2 posts and 1 media file", res)
	}
	if _, err := other.DB.Following(ctx, e.alice.IRI); err != nil {
		t.Errorf("alice is not followed after the import: %v", err)
	}
	if blocked, _ := other.DB.IsBlocked(ctx, e.mallory.IRI); !blocked {
		t.Error("mallory is not blocked after the import")
	}
	posts, err := other.DB.LocalPosts(ctx, store.PostQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(posts) != 2 {
		t.Fatalf("%d posts after the import; want 2", len(posts))
	}
	for i, want := range []*store.Post{second, first} { // newest first
		got := posts[i]
		if got.ContentHTML != want.ContentHTML || !got.Published.Equal(want.Published) {
			t.Errorf("post %d = %q of %v; want %q of %v", i, got.ContentHTML, got.Published, want.ContentHTML, want.Published)
		}
		if len(got.Attachments) != len(want.Attachments) {
			t.Fatalf("post %d has %d attachments; want %d", i, len(got.Attachments), len(want.Attachments))
		}
		for j, wa := range want.Attachments {
			ga := got.Attachments[j]
			if ga.MediaID == "" || ga.MediaType != wa.MediaType || ga.Description != wa.Description ||
				ga.Width != wa.Width || ga.Height != wa.Height || ga.Blurhash != wa.Blurhash {
				t.Errorf("post %d attachment %d = %+v; want %+v stored here", i, j, ga, wa)
			}
			if _, _, err := other.DB.MediaData(ctx, ga.MediaID, false); err != nil {
				t.Errorf("the imported image is not stored: %v", err)
			}
		}
	}
}
