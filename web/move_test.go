package web

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"kith/ap/aptest"
)

// TestMovingPage: the owner adds an old account by its address, which
// shows on the page and as alsoKnownAs on the actor document; moving to an
// account that does not list this one is refused with the reason; once it
// does, the profile says where the owner went and the actor has movedTo.
func TestMovingPage(t *testing.T) {
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	remote := aptest.NewRemote(t, true)
	old := remote.AddActor("old", aptest.Key(t, "remote"))
	next := remote.AddActor("next", aptest.Key(t, "remote2"))

	rec := k.post("/settings/moving", url.Values{"action": {"alias"}, "target": {"@old@" + remote.Host}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("adding an alias: %d\n%s", rec.Code, rec.Body)
	}
	if body := k.get("/settings/moving").Body.String(); !strings.Contains(body, "@old@"+remote.Host) || !strings.Contains(body, "still to be read") {
		t.Errorf("the moving page does not list the old account, its followers still to read:\n%s", body)
	}
	// The old server serves no followers collection: nothing is listed.
	if _, err := k.inst.Service.ReadAliasFollowers(context.Background()); err != nil {
		t.Fatal(err)
	}
	if body := k.get("/settings/moving").Body.String(); !strings.Contains(body, "hides its followers") {
		t.Errorf("the moving page does not say the old account's followers are hidden:\n%s", body)
	}
	_, doc := k.fedGET(k.inst.URLs.Actor())
	if aka, _ := doc["alsoKnownAs"].([]any); !slices.Contains(aka, any(old.IRI)) {
		t.Errorf("alsoKnownAs = %v; want %s", doc["alsoKnownAs"], old.IRI)
	}

	rec = k.post("/settings/moving", url.Values{"action": {"moved"}, "target": {next.IRI}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "alsoKnownAs") {
		t.Errorf("moving to an account without the alias: %d; want 400 naming alsoKnownAs\n%s", rec.Code, rec.Body)
	}
	nd := next.Document()
	nd["alsoKnownAs"] = []string{k.inst.URLs.Actor()}
	remote.SetDocument("/users/next", nd)
	if rec = k.post("/settings/moving", url.Values{"action": {"moved"}, "target": {next.IRI}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("moving out: %d\n%s", rec.Code, rec.Body)
	}
	if _, doc = k.fedGET(k.inst.URLs.Actor()); doc["movedTo"] != next.IRI {
		t.Errorf("movedTo = %v; want %s", doc["movedTo"], next.IRI)
	}
	if body := k.visitor().get(k.h.localPath(k.inst.URLs.Profile())).Body.String(); !strings.Contains(body, "@next@"+remote.Host) {
		t.Errorf("the profile does not say where the owner went:\n%s", body)
	}
}

// TestImportExportPages: a CSV export uploaded on the moving page is
// applied and counted, the same upload again counts it in place, the
// download gives it back in Mastodon's layout, and an unknown file or
// export is refused.
func TestImportExportPages(t *testing.T) {
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	csv := []byte("spam.example\nbad.example\n")
	rec := k.postMultipart("/settings/import", nil, file{"file", "blocked_domains.csv", csv})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "2 rows; 2 applied") {
		t.Fatalf("import: %d\n%s", rec.Code, rec.Body)
	}
	rec = k.postMultipart("/settings/import", nil, file{"file", "blocked_domains.csv", csv})
	if !strings.Contains(rec.Body.String(), "0 applied, 2 already in place") {
		t.Errorf("second import:\n%s", rec.Body)
	}
	rec = k.get("/settings/export/blocked_domains.csv")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8" || len(strings.Fields(rec.Body.String())) != 2 {
		t.Errorf("export: %d %s\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	if rec = k.get("/settings/export/passwords.csv"); rec.Code != http.StatusNotFound {
		t.Errorf("an unknown export: %d; want 404", rec.Code)
	}
	rec = k.postMultipart("/settings/import", nil, file{"file", "notes.csv", []byte("a,b\n")})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "not one of Mastodon") {
		t.Errorf("an unknown file: %d\n%s", rec.Code, rec.Body)
	}
}

// TestArchiveDownload: the moving page offers the whole account as a zip
// archive in Mastodon's layout.
func TestArchiveDownload(t *testing.T) {
	dir := t.TempDir()
	k := newKit(t, aptest.InstanceOptions{}, func(c *Config) { c.DataDir = dir })
	k.login()
	postIDFrom(t, k.postMultipart("/compose", url.Values{"text": {"kept in the archive"}, "visibility": {"public"},
		"alt-new-1": {"A red square"}, "action": {"publish"}}, file{"file-1", "red.png", pngImage(t, 8, 8, red)}))
	rec := k.get("/settings/export/archive.zip")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/zip" || !strings.HasPrefix(rec.Body.String(), "PK") {
		t.Fatalf("archive: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	zr, err := zip.NewReader(bytes.NewReader(rec.Body.Bytes()), int64(rec.Body.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var images int
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, "media_attachments/files/") && strings.HasSuffix(f.Name, ".png") {
			images++
		}
	}
	if images != 1 || rec.Header().Get("Content-Length") != strconv.Itoa(rec.Body.Len()) {
		t.Errorf("%d images in the archive, Content-Length %q of %d bytes; want the post's image and the length",
			images, rec.Header().Get("Content-Length"), rec.Body.Len())
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("the export left %v in the data directory", left)
	}
	if !strings.Contains(k.get("/settings/moving").Body.String(), "/settings/export/archive.zip") {
		t.Error("the moving page does not link the archive")
	}
}
