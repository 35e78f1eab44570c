package ap_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
	"kith/store/archive"
)

// mediaFile reads a real image from testdata/media.
func mediaFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "media", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// writeArchive writes a .zip of the entries, in the order given.
func writeArchive(tb testing.TB, entries [][2]string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "archive.zip")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e[0])
		if err != nil {
			tb.Fatal(err)
		}
		w.Write([]byte(e[1]))
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// importFile opens an archive and imports it into inst.
func importFile(tb testing.TB, inst *aptest.Instance, path string) ap.ArchiveResult {
	tb.Helper()
	a, err := archive.Open(path, archive.DefaultLimits)
	if err != nil {
		tb.Fatal(err)
	}
	defer a.Close()
	res, err := inst.Service.ImportArchive(context.Background(), a, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// TestImportArchiveMedia: a post of a Mastodon archive keeps its image,
// read from media_attachments/ where the attachment's url (a CDN's path,
// as Mastodon writes it) points, stored as an upload would be, with its
// alt text, blurhash and focal point, and labelled with the old account.
// A second post's attachments that are missing, over the upload cap, not
// an image or an image of another type than claimed are left out with a
// warning each. A second import stores nothing more.
func TestImportArchiveMedia(t *testing.T) {
	e := newReadEnv(t)
	ctx := context.Background()
	const cdn = "https://cdn.masto.host/floss/media_attachments/files/113/306/826/682/985/891/original/c8d906a2f2ab2334.jpg"
	const file = "media_attachments/files/113/306/826/682/985/891/original/c8d906a2f2ab2334.jpg"
	var note map[string]any
	if err := json.Unmarshal(fixture(t, "mastodon-note-attachment-mention.json"), &note); err != nil {
		t.Fatal(err)
	}
	delete(note, "inReplyTo")
	// Its author is the account of actor.json, as in a real archive.
	note["attributedTo"] = "https://masto.qa.urbanwildlife.biz/users/mastodon"
	att := note["attachment"].([]any)[0].(map[string]any)
	if att["url"] != cdn {
		t.Fatalf("the fixture's attachment is %v", att["url"])
	}
	// What BackupService writes: the URL's path, /system/ removed.
	att["url"] = "/floss/" + file
	att["focalPoint"] = []float64{0.25, -0.5}
	first, _ := json.Marshal(note)

	note["id"] = note["id"].(string) + "1"
	note["published"] = "2024-10-15T10:00:00Z"
	doc := func(url, mediaType string) map[string]any {
		return map[string]any{"type": "Document", "mediaType": mediaType, "url": url, "name": "alt"}
	}
	note["attachment"] = []any{
		doc("media_attachments/files/1/original/missing.jpg", "image/jpeg"),
		doc("media_attachments/files/2/original/big.jpg", "image/jpeg"),
		doc("media_attachments/files/3/original/page.jpg", "image/jpeg"),
		doc("media_attachments/files/4/original/rose.jpg", "image/jpeg"), // a WebP
	}
	second, _ := json.Marshal(note)
	outbox := `{"id":"outbox.json","type":"OrderedCollection","orderedItems":[` +
		`{"type":"Create","object":` + string(first) + `},{"type":"Create","object":` + string(second) + `}]}`
	big := append(mediaFile(t, "video-001.progressive.jpeg"), bytes.Repeat([]byte{0}, ap.MaxUploadBytes)...)
	path := writeArchive(t, [][2]string{
		{"outbox.json", outbox},
		{"actor.json", string(fixture(t, "mastodon-actor-person.json"))},
		{file, string(mediaFile(t, "video-001.progressive.jpeg"))},
		{"media_attachments/files/2/original/big.jpg", string(big)},
		{"media_attachments/files/3/original/page.jpg", "<html><script>alert(1)</script></html>"},
		{"media_attachments/files/4/original/rose.jpg", string(mediaFile(t, "yellow_rose.lossy-with-alpha.webp"))},
	})
	before := pendingDeliveries(t, e)

	res := importFile(t, e.inst, path)
	// The fixture's actor names its avatar by URL, not by a file of the
	// archive as Mastodon's archive does: it is left out too.
	if res.Posts != 2 || res.Media != 1 || res.MediaSkipped != 5 || len(res.Warnings) != 5 {
		t.Fatalf("first import: %+v; want 2 posts, 1 media file, 5 left out", res)
	}
	for i, want := range []string{"the avatar: \"https://masto.qa.urbanwildlife.biz/", "not in the archive", "larger than 10 MB", "not an image kith takes", "claims to be image/jpeg but is image/webp"} {
		if !strings.Contains(res.Warnings[i], want) {
			t.Errorf("warning %d = %q; want it to say %q", i, res.Warnings[i], want)
		}
	}
	posts, err := e.inst.DB.LocalPosts(ctx, store.PostQuery{})
	if err != nil || len(posts) != 2 {
		t.Fatalf("%d posts, %v", len(posts), err)
	}
	p := posts[1] // the older
	if len(p.Attachments) != 1 {
		t.Fatalf("attachments %+v; want the image", p.Attachments)
	}
	a := p.Attachments[0]
	if a.MediaID == "" || a.MediaType != "image/jpeg" || a.Width != 150 || a.Height != 103 ||
		a.Description != att["name"] || a.Blurhash != att["blurhash"] || a.FocusX != 0.25 || a.FocusY != -0.5 {
		t.Errorf("attachment %+v; want a stored 150x103 JPEG with the archive's alt text, blurhash and focal point", a)
	}
	data, mt, err := e.inst.DB.MediaData(ctx, a.MediaID, false)
	if err != nil || mt != "image/jpeg" || int64(len(data)) != res.MediaBytes {
		t.Errorf("stored %d bytes of %s (%v); the import counted %d", len(data), mt, err, res.MediaBytes)
	}
	if p.ImportedFrom != "@mastodon@masto.qa.urbanwildlife.biz" {
		t.Errorf("imported from %q; want the archive actor's address", p.ImportedFrom)
	}
	if len(posts[0].Attachments) != 0 {
		t.Errorf("the second post kept %+v; want none", posts[0].Attachments)
	}
	if got := pendingDeliveries(t, e) - before; got != 0 {
		t.Errorf("%d deliveries queued; imported posts are not sent", got)
	}
	n, _ := e.inst.DB.CountMedia(ctx)

	again := importFile(t, e.inst, path)
	if again.Posts != 0 || again.Unchanged != 2 || again.Media != 0 || again.MediaSkipped != 1 {
		t.Errorf("second import: %+v; want nothing new, no media read, the avatar left out again", again)
	}
	if m, _ := e.inst.DB.CountMedia(ctx); m != n {
		t.Errorf("%d media after the second import; want %d", m, n)
	}
}

// pendingDeliveries counts the queued deliveries.
func pendingDeliveries(tb testing.TB, e *readEnv) int {
	tb.Helper()
	st, err := e.inst.DB.DeliveryStats(context.Background(), e.clock.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return st.Pending
}
