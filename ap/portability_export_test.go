package ap_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
	"kith/store/archive"
)

// squarePNG is a small PNG of one colour: an avatar.
func squarePNG(tb testing.TB, c color.NRGBA) []byte {
	tb.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// setProfileImages uploads avatar and header (either may be nil) and
// makes them the owner's, as the settings page does.
func setProfileImages(tb testing.TB, inst *aptest.Instance, avatar, header []byte) (avatarID, headerID string) {
	tb.Helper()
	ctx := context.Background()
	for _, img := range []struct {
		data []byte
		id   *string
	}{{avatar, &avatarID}, {header, &headerID}} {
		if img.data == nil {
			continue
		}
		m, err := inst.Service.StoreUpload(ctx, bytes.NewReader(img.data))
		if err != nil {
			tb.Fatal(err)
		}
		*img.id = m.ID
	}
	if _, err := inst.Service.UpdateProfile(ctx, ap.ProfileInput{DisplayName: "Owner", AvatarMediaID: avatarID, HeaderMediaID: headerID}); err != nil {
		tb.Fatal(err)
	}
	return avatarID, headerID
}

// archiveActor is what a test reads of an archive's actor.json.
type archiveActor struct {
	Icon  map[string]any `json:"icon"`
	Image map[string]any `json:"image"`
}

// TestExportArchiveRoundTrip: the archive one kith exports, imported by a
// second kith, gives the same follows, blocks and posts (content, dates,
// and images with their alt text), and a Mastodon-layout archive:
// actor.json with the avatar and header beside it, outbox.json and the
// image under media_attachments/ inside.
func TestExportArchiveRoundTrip(t *testing.T) {
	e := newReadEnv(t) // follows alice
	ctx := context.Background()
	avatarID, headerID := setProfileImages(t, e.inst, squarePNG(t, color.NRGBA{0x20, 0x80, 0xc0, 0xff}), mediaFile(t, "yellow_rose.lossy-with-alpha.webp"))
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

	path := exportArchive(t, e.inst)
	a, err := archive.Open(path, archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if len(a.Media) != 3 || !a.Media["avatar.png"] || !a.Media["header.webp"] {
		t.Errorf("media in the archive: %v; want the post's image, avatar.png and header.webp", a.Media)
	}
	var actor archiveActor
	if err := json.Unmarshal(a.Docs["actor.json"], &actor); err != nil {
		t.Fatal(err)
	}
	// Mastodon's BackupService names the files by their place in the archive.
	if actor.Icon["url"] != "avatar.png" || actor.Icon["mediaType"] != "image/png" ||
		actor.Image["url"] != "header.webp" || actor.Image["mediaType"] != "image/webp" {
		t.Errorf("actor.json icon %v, image %v; want avatar.png and header.webp", actor.Icon, actor.Image)
	}
	for name, id := range map[string]string{"avatar.png": avatarID, "header.webp": headerID} {
		want, _, err := e.inst.DB.MediaData(ctx, id, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := archiveFile(t, a, name); !bytes.Equal(got, want) {
			t.Errorf("%s in the archive is %d bytes; want the stored %d", name, len(got), len(want))
		}
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
	if res.Posts != 2 || res.Media != 3 || res.MediaSkipped != 0 || res.Avatar != ap.ImageSet || res.Header != ap.ImageSet {
		t.Errorf("imported %+v; want 2 posts, the avatar and header set, and 3 media files", res)
	}
	acct, err := other.DB.Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// PNG and WebP are stored as processing leaves them, so they come
	// back byte for byte; a JPEG would be encoded again, as any upload.
	for what, ids := range map[string][2]string{"avatar": {avatarID, acct.AvatarMediaID}, "header": {headerID, acct.HeaderMediaID}} {
		want, _, err := e.inst.DB.MediaData(ctx, ids[0], false)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := other.DB.MediaData(ctx, ids[1], false)
		if err != nil {
			t.Fatalf("the imported %s: %v", what, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("the imported %s is %d bytes; want the exported %d, byte for byte", what, len(got), len(want))
		}
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

// exportArchive exports inst's account to a file and returns its path.
func exportArchive(tb testing.TB, inst *aptest.Instance) string {
	tb.Helper()
	var buf bytes.Buffer
	if err := inst.Service.ExportArchive(context.Background(), &buf); err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "export.zip")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// archiveFile reads one file of an opened archive.
func archiveFile(tb testing.TB, a *archive.Archive, name string) []byte {
	tb.Helper()
	f, err := a.OpenMedia(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestExportArchiveWithoutImages: an owner with no avatar or header gets
// an actor.json without icon and image, and no such files, as Mastodon
// leaves them out.
func TestExportArchiveWithoutImages(t *testing.T) {
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	a, err := archive.Open(exportArchive(t, inst), archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var actor map[string]any
	if err := json.Unmarshal(a.Docs["actor.json"], &actor); err != nil {
		t.Fatal(err)
	}
	if _, ok := actor["icon"]; ok {
		t.Errorf("actor.json has an icon: %v", actor["icon"])
	}
	if _, ok := actor["image"]; ok {
		t.Errorf("actor.json has an image: %v", actor["image"])
	}
	if len(a.Media) != 0 {
		t.Errorf("files in the archive: %v; want none", a.Media)
	}
}
