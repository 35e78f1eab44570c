// Package archive reads and writes account archives in Mastodon's layout
// ("Request your archive"): actor.json, outbox.json, likes.json,
// bookmarks.json, the CSV exports and media_attachments/…, as a .zip or a
// .tar.gz.
//
// An archive comes from elsewhere and may be hostile. Open checks all of
// it before anything is imported: every name must stay inside the archive,
// every entry and the whole must fit the limits, counted on the bytes
// actually read rather than on what the headers claim, and the JSON
// documents must parse. Media go to a temporary directory, so that a large
// archive is never held in memory.
package archive

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Limits of what Open accepts.
type Limits struct {
	Entry   int64 // bytes of one entry, uncompressed
	Total   int64 // bytes of all entries, uncompressed
	Ratio   int64 // uncompressed bytes per compressed byte of the archive
	Entries int   // entries, directories included
	Doc     int64 // bytes of one JSON or CSV document, held in memory
	// Slack is what any archive may expand to whatever Ratio says: JSON
	// alone compresses far better than media, and a small text-only
	// archive must not pass for a bomb.
	Slack int64
}

// DefaultLimits fit the archive of an account with years of posts and
// media, and refuse a zip bomb: real archives compress media little,
// while a bomb expands a thousandfold.
var DefaultLimits = Limits{Entry: 512 << 20, Total: 4 << 30, Ratio: 50, Entries: 200_000, Doc: 256 << 20, Slack: 256 << 20}

// ErrRefused is wrapped by every error about the archive itself; its
// message says what is wrong, for the owner.
var ErrRefused = errors.New("archive refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// Archive is an opened, checked archive.
type Archive struct {
	// Docs holds the JSON and CSV documents at the top of the archive, by
	// name (actor.json, outbox.json, following_accounts.csv).
	Docs map[string][]byte
	// Media lists the other files, by their name in the archive.
	Media map[string]bool
	dir   string
}

// JSONDocs are the documents that must parse when present.
var JSONDocs = []string{"actor.json", "outbox.json", "likes.json", "bookmarks.json"}

// Open reads the archive at file (a .zip, or a .tar.gz or .tgz) and
// checks it. Close removes what it extracted.
func Open(file string, lim Limits) (*Archive, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kith-archive-")
	if err != nil {
		return nil, err
	}
	a := &Archive{Docs: map[string][]byte{}, Media: map[string]bool{}, dir: dir}
	x := &extractor{a: a, lim: lim, budget: min(lim.Total, max(st.Size()*lim.Ratio, lim.Slack))}
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		a.Close()
		return nil, refuse("%s is too short to be an archive", filepath.Base(file))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		a.Close()
		return nil, err
	}
	switch {
	case bytes.Equal(magic[:], []byte("PK\x03\x04")):
		err = x.zip(f, st.Size())
	case magic[0] == 0x1f && magic[1] == 0x8b:
		err = x.tarGz(f)
	default:
		err = refuse("%s is neither a .zip nor a .tar.gz", filepath.Base(file))
	}
	if err == nil {
		err = a.checkDocs()
	}
	if err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Close removes the extracted media.
func (a *Archive) Close() error { return os.RemoveAll(a.dir) }

// OpenMedia opens an extracted media file by its name in the archive.
func (a *Archive) OpenMedia(name string) (*os.File, error) {
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	if !a.Media[name] {
		return nil, os.ErrNotExist
	}
	return os.Open(filepath.Join(a.dir, filepath.FromSlash(name)))
}

// checkDocs makes sure the JSON documents parse.
func (a *Archive) checkDocs() error {
	for _, name := range JSONDocs {
		if b, ok := a.Docs[name]; ok && !json.Valid(b) {
			var v any
			err := json.Unmarshal(b, &v)
			return refuse("%s is not valid JSON: %v", name, err)
		}
	}
	if _, ok := a.Docs["outbox.json"]; !ok {
		if _, ok := a.Docs["actor.json"]; !ok && !a.hasCSV() {
			return refuse("no actor.json, outbox.json or CSV export inside: not an account archive")
		}
	}
	return nil
}

func (a *Archive) hasCSV() bool {
	for n := range a.Docs {
		if strings.HasSuffix(n, ".csv") {
			return true
		}
	}
	return false
}

// extractor reads entries under the limits.
type extractor struct {
	a       *Archive
	lim     Limits
	budget  int64 // uncompressed bytes left
	entries int
}

func (x *extractor) zip(f *os.File, size int64) error {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return refuse("the .zip cannot be read: %v", err)
	}
	for _, zf := range zr.File {
		if zf.FileInfo().IsDir() {
			if err := x.count(zf.Name); err != nil {
				return err
			}
			continue
		}
		if !zf.Mode().IsRegular() {
			return refuse("%s is not a plain file", zf.Name)
		}
		if zf.UncompressedSize64 > uint64(x.lim.Entry) {
			return refuse("%s is %d MB uncompressed; at most %d MB per file", zf.Name, zf.UncompressedSize64>>20, x.lim.Entry>>20)
		}
		rc, err := zf.Open()
		if err != nil {
			return refuse("%s cannot be read: %v", zf.Name, err)
		}
		err = x.entry(zf.Name, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (x *extractor) tarGz(f *os.File) error {
	gz, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return refuse("the .tar.gz cannot be read: %v", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return refuse("the .tar.gz cannot be read: %v", err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := x.count(h.Name); err != nil {
				return err
			}
			continue
		case tar.TypeReg:
		default:
			return refuse("%s is not a plain file", h.Name)
		}
		if h.Size > x.lim.Entry {
			return refuse("%s is %d MB uncompressed; at most %d MB per file", h.Name, h.Size>>20, x.lim.Entry>>20)
		}
		if err := x.entry(h.Name, tr); err != nil {
			return err
		}
	}
}

// count checks an entry's name and the number of entries.
func (x *extractor) count(name string) error {
	x.entries++
	if x.entries > x.lim.Entries {
		return refuse("more than %d entries", x.lim.Entries)
	}
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, `\`) || strings.Contains(name, "\x00") {
		return refuse("the entry %q has an unsafe name", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return refuse("the entry %q leads outside the archive", name)
		}
	}
	return nil
}

// entry reads one file: a top-level document into memory, anything else
// to the temporary directory. The bytes are counted as they come, so a
// header that lies about the size changes nothing.
func (x *extractor) entry(name string, r io.Reader) error {
	if err := x.count(name); err != nil {
		return err
	}
	name = strings.TrimPrefix(path.Clean(name), "./")
	limit := min(x.lim.Entry, x.budget)
	lr := &io.LimitedReader{R: r, N: limit + 1}
	var n int64
	var err error
	if !strings.Contains(name, "/") && (strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".csv")) {
		var b []byte
		b, err = io.ReadAll(io.LimitReader(lr, x.lim.Doc+1))
		n = int64(len(b))
		if err == nil && n > x.lim.Doc {
			return refuse("%s is larger than %d MB", name, x.lim.Doc>>20)
		}
		x.a.Docs[name] = b
	} else {
		dst := filepath.Join(x.a.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		var out *os.File
		if out, err = os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return err
		}
		n, err = io.Copy(out, lr)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		x.a.Media[name] = true
	}
	if err != nil {
		return refuse("%s cannot be read: %v", name, err)
	}
	if n > limit {
		if limit == x.lim.Entry {
			return refuse("%s is larger than %d MB uncompressed", name, x.lim.Entry>>20)
		}
		return refuse("it expands to more than %d times its size (or %d MB): a zip bomb, or larger than kith takes", x.lim.Ratio, x.lim.Total>>20)
	}
	x.budget -= n
	return nil
}

// Write writes docs (name → content: actor.json, outbox.json, the CSV
// exports) as a .zip in Mastodon's layout, in name order so the same
// account gives the same archive.
func Write(w io.Writer, docs map[string][]byte) error {
	names := make([]string, 0, len(docs))
	for n := range docs {
		names = append(names, n)
	}
	slices.Sort(names)
	zw := zip.NewWriter(w)
	for _, n := range names {
		fw, err := zw.Create(n)
		if err != nil {
			return err
		}
		if _, err := fw.Write(docs[n]); err != nil {
			return err
		}
	}
	return zw.Close()
}
