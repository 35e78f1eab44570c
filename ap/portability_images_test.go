package ap_test

import (
	"context"
	"encoding/json"
	"image/color"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"kith/ap"
	"kith/ap/aptest"
)

// mastodonActor is the fixture's actor.json (a Mastodon 4.2 actor) as
// Mastodon's BackupService writes it into an archive: icon and image point
// at files at the archive's root. A string sets the url, a map replaces
// the whole key, nil removes it.
func mastodonActor(tb testing.TB, icon, image any) string {
	tb.Helper()
	var actor map[string]any
	if err := json.Unmarshal(fixture(tb, "mastodon-actor-service.json"), &actor); err != nil {
		tb.Fatal(err)
	}
	for key, v := range map[string]any{"icon": icon, "image": image} {
		switch v := v.(type) {
		case nil:
			delete(actor, key)
		case string:
			actor[key].(map[string]any)["url"] = v
		default:
			actor[key] = v
		}
	}
	b, err := json.Marshal(actor)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// TestImportArchiveProfileImages: an archive's avatar and header become
// the owner's when the owner has none; importing it again changes
// nothing; an avatar the owner set stays, and the summary says so.
func TestImportArchiveProfileImages(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	// The fixture's icon is a PNG and its image a JPEG: BackupService
	// names them avatar.png and header.jpeg after their URLs.
	path := writeArchive(t, [][2]string{
		{"actor.json", mastodonActor(t, "avatar.png", "header.jpeg")},
		{"avatar.png", string(squarePNG(t, color.NRGBA{0xc0, 0x20, 0x20, 0xff}))},
		{"header.jpeg", string(mediaFile(t, "video-001.progressive.jpeg"))},
	})

	res := importFile(t, inst, path)
	if res.Avatar != ap.ImageSet || res.Header != ap.ImageSet || res.Media != 2 || res.MediaSkipped != 0 {
		t.Fatalf("first import: %+v; want the avatar and header set", res)
	}
	if got, want := res.ImagesLine(), "Avatar set from the archive; header set from the archive"; got != want {
		t.Errorf("summary %q; want %q", got, want)
	}
	acct, err := inst.DB.Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{acct.AvatarMediaID: "image/png", acct.HeaderMediaID: "image/jpeg"} {
		m, err := inst.DB.MediaByID(ctx, id)
		if err != nil || m.MediaType != want {
			t.Errorf("stored image %q: %+v, %v; want a %s", id, m, err, want)
		}
	}
	media, _ := inst.DB.CountMedia(ctx)

	again := importFile(t, inst, path)
	if again.Avatar != ap.ImageUnchanged || again.Header != ap.ImageUnchanged || again.Media != 0 || again.MediaSkipped != 0 {
		t.Errorf("second import: %+v; want both unchanged", again)
	}
	after, err := inst.DB.Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.AvatarMediaID != acct.AvatarMediaID || after.HeaderMediaID != acct.HeaderMediaID || !after.UpdatedAt.Equal(acct.UpdatedAt) {
		t.Errorf("the second import changed the account: %+v", after)
	}
	if n, _ := inst.DB.CountMedia(ctx); n != media {
		t.Errorf("%d media after the second import; want %d", n, media)
	}

	// The owner chooses another avatar and removes the header.
	own, _ := setProfileImages(t, inst, squarePNG(t, color.NRGBA{0x20, 0x20, 0xc0, 0xff}), nil)
	third := importFile(t, inst, path)
	if third.Avatar != ap.ImageKept || third.Header != ap.ImageSet {
		t.Errorf("third import: %+v; want the owner's avatar kept and the header set", third)
	}
	if got, want := third.ImagesLine(), "Avatar kept as you set it (the archive's is not used); header set from the archive"; got != want {
		t.Errorf("summary %q; want %q", got, want)
	}
	if acct, err := inst.DB.Account(ctx); err != nil || acct.AvatarMediaID != own || acct.HeaderMediaID == "" {
		t.Errorf("account after the third import: %+v, %v; want the owner's avatar %s and a header", acct, err, own)
	}
}

// TestImportArchiveHostileProfileImages: what actor.json names is read
// only from the archive's root and only as an upload would be taken; a
// file that is no image, one over the cap, a path leading elsewhere, a
// URL (never fetched) or a type that lies is refused and counted, and the
// owner's profile stays without images.
func TestImportArchiveHostileProfileImages(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	defer srv.Close()
	png := string(squarePNG(t, color.NRGBA{0x20, 0xc0, 0x20, 0xff}))
	big := png + strings.Repeat("\x00", ap.MaxUploadBytes)
	tests := []struct {
		name         string
		icon, image  any
		files        [][2]string
		avatar, want string // avatar: "avatar" or "header", the one refused
	}{
		{"HTML named header.png", nil, "header.png", [][2]string{{"header.png", "<html><script>alert(1)</script></html>"}}, "header", "not an image kith takes"},
		{"oversized", "avatar.png", nil, [][2]string{{"avatar.png", big}}, "avatar", "larger than 10 MB"},
		{"parent path", "../x", nil, [][2]string{{"x", png}}, "avatar", `"../x" is not a file at the archive's root`},
		{"absolute URL", srv.URL + "/avatar.png", nil, [][2]string{{"avatar.png", png}}, "avatar", "is not a file at the archive's root"},
		{"absolute path", "/avatar.png", nil, [][2]string{{"avatar.png", png}}, "avatar", "is not a file at the archive's root"},
		{"not in the archive", "avatar.png", nil, nil, "avatar", "is not a file at the archive's root"},
		{"lying type", map[string]any{"type": "Image", "mediaType": "image/jpeg", "url": "avatar.jpg"}, nil, [][2]string{{"avatar.jpg", png}}, "avatar", "claims to be image/jpeg but is image/png"},
		{"list of URLs", []any{srv.URL + "/a.png"}, nil, nil, "avatar", "names no file of the archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			inst := aptest.NewInstance(t, aptest.InstanceOptions{})
			path := writeArchive(t, append([][2]string{{"actor.json", mastodonActor(t, tt.icon, tt.image)}}, tt.files...))
			res := importFile(t, inst, path)
			refused, other := res.Avatar, res.Header
			if tt.avatar == "header" {
				refused, other = res.Header, res.Avatar
			}
			if refused != ap.ImageLeftOut || other != ap.ImageNone || res.MediaSkipped != 1 || res.Media != 0 {
				t.Fatalf("import: %+v; want the %s left out and counted", res, tt.avatar)
			}
			if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], tt.want) || !strings.Contains(res.Warnings[0], "the "+tt.avatar) {
				t.Errorf("warnings %q; want the %s and %q", res.Warnings, tt.avatar, tt.want)
			}
			if !strings.Contains(res.ImagesLine(), "archive's "+tt.avatar+" left out") {
				t.Errorf("summary %q; want the %s left out", res.ImagesLine(), tt.avatar)
			}
			acct, err := inst.DB.Account(ctx)
			if err != nil || acct.AvatarMediaID != "" || acct.HeaderMediaID != "" {
				t.Errorf("account %+v, %v; want no images", acct, err)
			}
			if n, _ := inst.DB.CountMedia(ctx); n != 0 {
				t.Errorf("%d media stored; want none", n)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server of the URLs was asked %d times; want never", n)
	}
}
