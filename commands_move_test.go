package main

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportExportCommands: kith import applies a Mastodon CSV export
// with progress lines, a second run changes nothing, and kith export
// writes the five CSV files, the imported domain blocks among them.
func TestImportExportCommands(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, []string{"--listen", "127.0.0.1:0", "--data", data}, nil)
	s.stop()
	ctx := context.Background()
	list := filepath.Join(t.TempDir(), "blocked_domains.csv")
	if err := os.WriteFile(list, []byte("spam.example\nbad.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"import", "--data", data, list}, env(nil), nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "blocked_domains.csv: 2 rows; 2 applied") || !strings.Contains(errOut.String(), "kith: 2 of 2") {
		t.Errorf("import printed:\n%s\n%s", out.String(), errOut.String())
	}
	out.Reset()
	if err := run(ctx, []string{"import", "--data", data, list}, env(nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "0 applied, 2 already in place") {
		t.Errorf("a second import printed:\n%s", out.String())
	}
	dir := filepath.Join(t.TempDir(), "export")
	if err := run(ctx, []string{"export", "--data", data, dir}, env(nil), nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "blocked_domains.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Fields(string(got)); len(lines) != 2 {
		t.Errorf("exported blocked_domains.csv = %q; want the two servers", got)
	}
	for _, name := range []string{"following_accounts.csv", "blocked_accounts.csv", "muted_accounts.csv", "bookmarks.csv", "archive.zip"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	if err := run(ctx, []string{"import", "--data", data, filepath.Join(dir, "nope.csv")}, env(nil), nil, io.Discard, io.Discard); !os.IsNotExist(err) {
		t.Errorf("a missing file: %v; want not found", err)
	}
}

// TestImportArchiveCommand: a hostile archive is refused by kith import
// with the reason and nothing imported; a real one is imported with
// progress lines and its image.
func TestImportArchiveCommand(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, []string{"--listen", "127.0.0.1:0", "--data", data}, nil)
	s.stop()
	bad := filepath.Join(t.TempDir(), "archive.zip")
	if err := os.WriteFile(bad, []byte("PK\x03\x04 broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"import", "--data", data, bad}, env(nil), nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "archive refused") || !strings.Contains(err.Error(), "nothing was imported") {
		t.Errorf("a broken archive: %v; want a refusal", err)
	}

	// A real post and image (ap's fixtures) where Mastodon's archive has
	// them: the attachment's url is the file's path.
	read := func(parts ...string) string {
		b, err := os.ReadFile(filepath.Join(append([]string{"ap", "testdata"}, parts...)...))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	note := strings.Replace(read("fixtures", "mastodon-note-attachment-mention.json"),
		"https://cdn.masto.host/floss/media_attachments/", "media_attachments/", 1)
	note = strings.Replace(note, `"inReplyTo": "https://floss.social/users/kde/statuses/113306824627995724",`, "", 1)
	good := filepath.Join(t.TempDir(), "archive.zip")
	f, err := os.Create(good)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range map[string]string{
		"outbox.json": `{"type":"OrderedCollection","orderedItems":[{"type":"Create","object":` + note + `}]}`,
		"media_attachments/files/113/306/826/682/985/891/original/c8d906a2f2ab2334.jpg": read("media", "video-001.progressive.jpeg"),
		// The avatar as Mastodon's archive has it, beside actor.json.
		"actor.json": `{"type":"Person","id":"https://old.example/users/a","preferredUsername":"a","icon":{"type":"Image","mediaType":"image/jpeg","url":"avatar.jpg"}}`,
		"avatar.jpg": read("media", "video-001.progressive.jpeg"),
	} {
		w, _ := zw.Create(name)
		io.WriteString(w, body)
	}
	zw.Close()
	f.Close()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"import", "--data", data, good}, env(nil), nil, &stdout, &stderr); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"kith: checking\n", "kith: profile\n", "kith: posts: 0 of 1\n", "kith: posts: 1 of 1\n"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, stderr.String())
		}
	}
	for _, want := range []string{"1 posts imported", "2 media files stored", "kith: Avatar set from the archive\n"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("result lacks %q:\n%s", want, stdout.String())
		}
	}
}
