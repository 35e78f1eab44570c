package web

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
	"kith/store/archive"
)

// mastodonArchive is a .zip in the layout of Mastodon's archive, made of
// real files: the actor and a post of theirs (ap's fixtures) with a real
// JPEG, where BackupService puts it, and the actor's avatar as
// BackupService writes it: avatar.png at the root, named by icon.url.
func mastodonArchive(t testing.TB) []byte {
	t.Helper()
	read := func(parts ...string) []byte {
		b, err := os.ReadFile(filepath.Join(append([]string{"..", "ap", "testdata"}, parts...)...))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var actor map[string]any
	if err := json.Unmarshal(read("fixtures", "mastodon-actor-person.json"), &actor); err != nil {
		t.Fatal(err)
	}
	actor["icon"].(map[string]any)["url"] = "avatar.png" // 'avatar' + the extension of the URL
	actorJSON, _ := json.Marshal(actor)
	var avatar bytes.Buffer
	if err := png.Encode(&avatar, image.NewGray(image.Rect(0, 0, 16, 16))); err != nil {
		t.Fatal(err)
	}
	var note map[string]any
	if err := json.Unmarshal(read("fixtures", "mastodon-note-attachment-mention.json"), &note); err != nil {
		t.Fatal(err)
	}
	const file = "media_attachments/files/113/306/826/682/985/891/original/c8d906a2f2ab2334.jpg"
	delete(note, "inReplyTo")
	note["attributedTo"] = "https://masto.qa.urbanwildlife.biz/users/mastodon" // the actor's, as in a real archive
	note["attachment"].([]any)[0].(map[string]any)["url"] = "/floss/" + file
	obj, _ := json.Marshal(note)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct {
		name string
		body []byte
	}{
		{"outbox.json", []byte(`{"id":"outbox.json","type":"OrderedCollection","orderedItems":[{"type":"Create","object":` + string(obj) + `}]}`)},
		{"actor.json", actorJSON},
		{file, read("media", "video-001.progressive.jpeg")},
		{"avatar.png", avatar.Bytes()},
	} {
		w, _ := zw.Create(e.name)
		w.Write(e.body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestImportedPostLabelled: an imported post says on the profile and on
// its page where it came from and when it was first published, and its
// ActivityPub object keeps that date.
func TestImportedPostLabelled(t *testing.T) {
	k := newKit(t, aptest.InstanceOptions{})
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "archive.zip")
	if err := os.WriteFile(path, mastodonArchive(t), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := archive.Open(path, archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if res, err := k.inst.Service.ImportArchive(ctx, a, nil); err != nil || res.Posts != 1 || res.Media != 2 || res.Avatar != ap.ImageSet {
		t.Fatalf("import: %+v, %v", res, err)
	}
	posts, err := k.inst.DB.LocalPosts(ctx, store.PostQuery{})
	if err != nil || len(posts) != 1 {
		t.Fatalf("%d posts, %v", len(posts), err)
	}
	const label = "Imported from @mastodon@masto.qa.urbanwildlife.biz, first published 14 October 2024"
	for _, path := range []string{k.inst.URLs.Profile(), k.inst.URLs.PostPage(posts[0].LocalID)} {
		rec := k.visitor().get(strings.TrimPrefix(path, k.inst.URLs.Base()))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), label) {
			t.Errorf("GET %s: status %d, label missing:\n%s", path, rec.Code, rec.Body)
		}
		if !strings.Contains(rec.Body.String(), `alt="The KDE dragons Katie and Konqi`) {
			t.Errorf("GET %s: the image's alt text is missing", path)
		}
	}
	if _, doc := k.fedGET(posts[0].IRI); doc["published"] != "2024-10-14T16:57:15Z" {
		t.Errorf("the Note's published = %v; want the original date", doc["published"])
	}
	// A post written here has no label.
	k.login()
	id := k.publish("written here", "public")
	if body := k.visitor().get(strings.TrimPrefix(k.inst.URLs.PostPage(id), k.inst.URLs.Base())).Body.String(); strings.Contains(body, "Imported from") {
		t.Error("a post written here is labelled imported")
	}
}
