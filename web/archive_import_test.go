package web

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store/archive"
)

// uploadKit is a kit whose archive uploads wait in dir, with a small
// upload cap so that going over it is cheap.
func uploadKit(t *testing.T, dir string, limit int64) *kit {
	t.Helper()
	k := newKit(t, aptest.InstanceOptions{}, func(c *Config) {
		c.DataDir, c.ArchiveUploadLimit = dir, limit
	})
	k.login()
	return k
}

// runImports starts the import worker until the test ends.
func runImports(t *testing.T, k *kit) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		k.h.RunImports(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// waitImported reloads the import page until the import is over, as the
// page's own refresh would, and returns the last page.
func waitImported(t *testing.T, k *kit) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		body := k.get("/settings/archive").Body.String()
		if !strings.Contains(body, `http-equiv="refresh"`) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import did not finish:\n%s", body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// uploads lists the uploads waiting in dir.
func uploads(t *testing.T, dir string) []string {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(dir, uploadPattern))
	if err != nil {
		t.Fatal(err)
	}
	return left
}

// TestArchiveUploadPage: the owner uploads a Mastodon archive on the
// settings page; while it waits or runs the page says how far it is and
// reloads itself; afterwards it shows the result, the posts are in with
// their image, and the upload is gone. A second upload of the same
// archive changes nothing. One import runs at a time.
func TestArchiveUploadPage(t *testing.T) {
	dir := t.TempDir()
	k := uploadKit(t, dir, 1<<20)
	zip := mastodonArchive(t)
	form := k.get("/settings/archive").Body.String()
	if i, j := strings.Index(form, `name="csrf"`), strings.Index(form, `type="file"`); i < 0 || j < 0 || i > j {
		t.Fatalf("the form must carry the CSRF token before the file:\n%s", form)
	}

	rec := k.postMultipart("/settings/archive", nil, file{"file", "archive-20241015.zip", zip})
	if rec.Code != http.StatusSeeOther || location(t, rec) != "/settings/archive" {
		t.Fatalf("upload: status %d\n%s", rec.Code, rec.Body)
	}
	left := uploads(t, dir)
	if len(left) != 1 {
		t.Fatalf("uploads waiting: %v; want the one", left)
	}
	if fi, err := os.Stat(left[0]); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != int64(len(zip)) {
		t.Errorf("the upload: %v, %v; want all %d bytes, mode 0600", fi, err, len(zip))
	}
	// Not started yet: the page says so and reloads itself, and a second
	// upload is refused.
	waiting := k.get("/settings/archive").Body.String()
	for _, want := range []string{`<meta http-equiv="refresh" content="2">`, "Importing archive-20241015.zip", "waiting to start"} {
		if !strings.Contains(waiting, want) {
			t.Errorf("the page while waiting lacks %q:\n%s", want, waiting)
		}
	}
	if rec := k.postMultipart("/settings/archive", nil, file{"file", "again.zip", zip}); rec.Code != http.StatusConflict {
		t.Errorf("a second upload while one waits: status %d; want 409", rec.Code)
	}

	runImports(t, k)
	done := waitImported(t, k)
	for _, want := range []string{"Imported archive-20241015.zip", "1 post imported, 0 imported before", "2 media files stored", "<li>Avatar set from the archive</li>"} {
		if !strings.Contains(done, want) {
			t.Errorf("the result lacks %q:\n%s", want, done)
		}
	}
	if left := uploads(t, dir); len(left) != 0 {
		t.Errorf("uploads left after the import: %v", left)
	}
	posts, media := k.counts()
	if posts != 1 || media != 2 {
		t.Fatalf("%d posts, %d media after the import; want 1 and 2 (the image and the avatar)", posts, media)
	}

	if rec := k.postMultipart("/settings/archive", nil, file{"file", "archive-20241015.zip", zip}); rec.Code != http.StatusSeeOther {
		t.Fatalf("second upload: status %d", rec.Code)
	}
	again := waitImported(t, k)
	if !strings.Contains(again, "0 posts imported, 1 imported before") || !strings.Contains(again, "0 media files stored") ||
		!strings.Contains(again, "Avatar already the archive&#39;s") {
		t.Errorf("the second import changed something:\n%s", again)
	}
	if p, m := k.counts(); p != posts || m != media {
		t.Errorf("%d posts, %d media after the second import; want %d and %d", p, m, posts, media)
	}
}

// TestArchiveUploadRefused: an upload without the session's CSRF token,
// without a session, over the cap (by Content-Length or as it streams)
// or that is no archive never starts an import and leaves no file.
func TestArchiveUploadRefused(t *testing.T) {
	if DefaultArchiveUploadLimit != archive.DefaultLimits.Total+1<<20 {
		t.Errorf("the upload cap %d does not follow kith import's limit %d", DefaultArchiveUploadLimit, archive.DefaultLimits.Total)
	}
	dir := t.TempDir()
	const limit = 64 << 10
	k := uploadKit(t, dir, limit)
	zip := mastodonArchive(t)
	send := func(k *kit, fields url.Values, body []byte, length int64) int {
		t.Helper()
		b, ct := multipartForm(t, fields, file{"file", "archive.zip", body})
		req := httptest.NewRequest(http.MethodPost, "/settings/archive", b)
		req.Header.Set("Content-Type", ct)
		req.ContentLength = length
		if length == 0 {
			req.ContentLength = int64(b.Len())
		}
		return k.do(req).Code
	}
	tests := []struct {
		name   string
		k      *kit
		fields url.Values
		body   []byte
		length int64
		want   int
	}{
		{"no token", k, nil, zip, 0, http.StatusForbidden},
		{"wrong token", k, url.Values{"csrf": {"not-the-token"}}, zip, 0, http.StatusForbidden},
		{"no session", k.visitor(), url.Values{"csrf": {k.csrf}}, zip, 0, http.StatusUnauthorized},
		{"Content-Length over the cap", k, url.Values{"csrf": {k.csrf}}, zip, limit + 1, http.StatusRequestEntityTooLarge},
		{"streamed over the cap", k, url.Values{"csrf": {k.csrf}}, bytes.Repeat([]byte("x"), limit), -1, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := send(tt.k, tt.fields, tt.body, tt.length); got != tt.want {
				t.Errorf("status %d; want %d", got, tt.want)
			}
			if left := uploads(t, dir); len(left) != 0 {
				t.Errorf("files left: %v", left)
			}
			if k.h.imports.busy() {
				t.Fatal("an import was queued")
			}
		})
	}
	// An upload a crash left behind goes when the worker starts.
	if err := os.WriteFile(filepath.Join(dir, "kith-import-1.upload"), zip, 0o600); err != nil {
		t.Fatal(err)
	}
	// No archive at all: taken, then refused by the check with the
	// reason, and nothing imported.
	runImports(t, k)
	if got := send(k, url.Values{"csrf": {k.csrf}}, []byte("hello, not an archive"), 0); got != http.StatusSeeOther {
		t.Fatalf("upload: %d", got)
	}
	page := waitImported(t, k)
	if !strings.Contains(page, "archive refused") || !strings.Contains(page, "nothing was imported") {
		t.Errorf("the page does not say the archive was refused:\n%s", page)
	}
	if left := uploads(t, dir); len(left) != 0 {
		t.Errorf("files left: %v", left)
	}
	if posts, media := k.counts(); posts != 0 || media != 0 {
		t.Errorf("%d posts, %d media; want nothing imported", posts, media)
	}
}

// TestArchiveProgressShown: while an import runs, its page names the
// phase, the counts done and in all, and the images left out so far,
// and reloads itself; a CSV phase is named by its file.
func TestArchiveProgressShown(t *testing.T) {
	k := uploadKit(t, t.TempDir(), 0)
	for _, tt := range []struct {
		progress ap.ArchiveProgress
		want     []string
	}{
		{ap.ArchiveProgress{Phase: "posts", Done: 100, Total: 10000, Warnings: 2},
			[]string{"posts, 100 of 10000.", "2 images left out so far.", `<progress max="10000" value="100">`}},
		{ap.ArchiveProgress{Phase: "following_accounts.csv", Done: 5, Total: 2000},
			[]string{"applying following_accounts.csv, 5 of 2000."}},
		{ap.ArchiveProgress{Phase: "checking"}, []string{"checking the archive."}},
		{ap.ArchiveProgress{Phase: "profile"}, []string{"avatar and header."}},
	} {
		k.h.imports.mu.Lock()
		k.h.imports.state = importState{File: "archive.zip", Running: true, Progress: tt.progress}
		k.h.imports.mu.Unlock()
		body := k.get("/settings/archive").Body.String()
		for _, want := range append(tt.want, `<meta http-equiv="refresh" content="2">`, "Importing archive.zip") {
			if !strings.Contains(body, want) {
				t.Errorf("%+v: the page lacks %q", tt.progress, want)
			}
		}
		if strings.Contains(body, `type="file"`) {
			t.Errorf("%+v: the upload form shows while an import runs", tt.progress)
		}
	}
}
