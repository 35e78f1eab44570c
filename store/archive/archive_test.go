package archive_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kith/store/archive"
)

// entry is one file of a test archive.
type entry struct {
	name string
	body []byte
	size int64 // the size a header claims, when not len(body)
}

// realEntries is an archive in Mastodon's layout made of real documents.
func realEntries(t *testing.T) []entry {
	t.Helper()
	actor, err := os.ReadFile(filepath.Join("testdata", "mastodon-actor-person.json"))
	if err != nil {
		t.Fatal(err)
	}
	note, err := os.ReadFile(filepath.Join("testdata", "mastodon-note-attachment-mention.json"))
	if err != nil {
		t.Fatal(err)
	}
	outbox := `{"@context":"https://www.w3.org/ns/activitystreams","id":"outbox.json","type":"OrderedCollection","totalItems":1,` +
		`"orderedItems":[{"type":"Create","actor":"https://floss.social/users/kde","object":` + string(note) + `}]}`
	return []entry{
		{name: "actor.json", body: actor},
		{name: "outbox.json", body: []byte(outbox)},
		{name: "following_accounts.csv", body: []byte("Account address,Show boosts,Notify on new posts,Languages\nkde@floss.social,true,false,\n")},
		{name: "media_attachments/files/113/306/original/a.png", body: []byte("\x89PNG fake")},
	}
}

func writeZip(t *testing.T, es []entry) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "archive.zip")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range es {
		if e.size != 0 {
			// A header that claims more than the data holds.
			w, err := zw.CreateRaw(&zip.FileHeader{Name: e.name, Method: zip.Store, CompressedSize64: uint64(len(e.body)), UncompressedSize64: uint64(e.size)})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(e.body)
			continue
		}
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeTarGz(t *testing.T, es []entry) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "archive.tar.gz")
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range es {
		size := int64(len(e.body))
		if e.size != 0 {
			size = e.size
		}
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o600, Size: size, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.body)
		if e.size != 0 {
			break // the rest of the claimed size never comes
		}
	}
	tw.Flush()
	gz.Close()
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOpenRealArchive: a .zip and a .tar.gz in Mastodon's layout open
// with their documents and media.
func TestOpenRealArchive(t *testing.T) {
	for name, write := range map[string]func(*testing.T, []entry) string{"zip": writeZip, "tar.gz": writeTarGz} {
		t.Run(name, func(t *testing.T) {
			a, err := archive.Open(write(t, realEntries(t)), archive.DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			for _, doc := range []string{"actor.json", "outbox.json", "following_accounts.csv"} {
				if !a.Has(doc) {
					t.Errorf("%s missing", doc)
				}
			}
			f, err := a.OpenMedia("media_attachments/files/113/306/original/a.png")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(f)
			f.Close()
			if string(b) != "\x89PNG fake" {
				t.Errorf("media = %q", b)
			}
			if _, err := a.OpenMedia("../../etc/passwd"); err == nil {
				t.Error("OpenMedia opened a name outside the archive")
			}
		})
	}
}

// TestOpenRefusesHostileArchives: a zip bomb, a path with .., an entry
// claiming 2 GB, bad JSON and something that is no archive are refused
// with a message saying which, and leave nothing behind.
func TestOpenRefusesHostileArchives(t *testing.T) {
	lim := archive.DefaultLimits
	lim.Slack = 1 << 20                    // the bomb below stays small, and fast to make
	bomb := bytes.Repeat([]byte{0}, 8<<20) // compresses about a thousandfold
	tests := []struct {
		name    string
		entries []entry
		want    string
	}{
		{"zip bomb", append(realEntries(t), entry{name: "media_attachments/zeros.bin", body: bomb}), "zip bomb"},
		{"dot-dot", append(realEntries(t), entry{name: "media_attachments/../../evil.sh", body: []byte("x")}), "outside the archive"},
		{"absolute", append(realEntries(t), entry{name: "/etc/evil", body: []byte("x")}), "unsafe name"},
		{"2 GB entry", append(realEntries(t), entry{name: "media_attachments/big.mp4", body: []byte("x"), size: 2 << 30}), "at most 512 MB per file"},
		{"bad JSON", []entry{{name: "outbox.json", body: []byte(`{"orderedItems": [`)}}, "outbox.json is not valid JSON"},
		{"bad likes.json", append(realEntries(t), entry{name: "likes.json", body: []byte(`{"orderedItems": ["a",]}`)}), "likes.json is not valid JSON"},
		{"outbox not a collection", []entry{{name: "outbox.json", body: []byte(`{"orderedItems": {}}`)}}, "outbox.json is not a collection"},
		{"not an account", []entry{{name: "notes.txt", body: []byte("hi")}}, "not an account archive"},
	}
	for _, tt := range tests {
		for kind, write := range map[string]func(*testing.T, []entry) string{"zip": writeZip, "tar.gz": writeTarGz} {
			t.Run(tt.name+"/"+kind, func(t *testing.T) {
				tmp := t.TempDir()
				t.Setenv("TMPDIR", tmp)
				a, err := archive.Open(write(t, tt.entries), lim)
				if err == nil {
					a.Close()
					t.Fatal("opened; want a refusal")
				}
				if !errors.Is(err, archive.ErrRefused) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("err = %v; want a refusal saying %q", err, tt.want)
				}
				if left, _ := os.ReadDir(tmp); len(left) != 0 {
					t.Errorf("left behind: %v", left)
				}
			})
		}
	}
	junk := filepath.Join(t.TempDir(), "x.zip")
	os.WriteFile(junk, []byte("hello, not an archive"), 0o600)
	if _, err := archive.Open(junk, lim); !errors.Is(err, archive.ErrRefused) {
		t.Errorf("a text file: %v; want a refusal", err)
	}
}
