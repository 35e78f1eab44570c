// Package archive reads and writes account archives in Mastodon's layout
// ("Request your archive"): actor.json, outbox.json, likes.json,
// bookmarks.json, the CSV exports and media_attachments/…, as a .zip or a
// .tar.gz.
//
// An archive comes from elsewhere and may be hostile. Open checks all of
// it before anything is imported: every name must stay inside the archive,
// every entry and the whole must fit the limits, counted on the bytes
// actually read rather than on what the headers claim, and the JSON
// documents must parse. Media and outbox.json go to a temporary
// directory, so that a large archive is never held in memory: outbox.json
// is read item by item (Outbox), as it was checked.
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
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Limits of what Open accepts.
type Limits struct {
	Entry   int64 // bytes of one entry, uncompressed
	Total   int64 // bytes of all entries, uncompressed
	Ratio   int64 // uncompressed bytes per compressed byte of the archive
	Entries int   // entries, directories included
	Doc     int64 // bytes of one document held in memory: actor.json, a CSV export
	// Collection is the bytes of outbox.json, likes.json or
	// bookmarks.json, which wait on disk and are read item by item.
	Collection int64
	// Slack is what any archive may expand to whatever Ratio says: JSON
	// alone compresses far better than media, and a small text-only
	// archive must not pass for a bomb.
	Slack int64
}

// DefaultLimits fit the archive of an account with years of posts and
// media, and refuse a zip bomb: real archives compress media little,
// while a bomb expands a thousandfold.
// A CSV export larger than Doc is refused by the import anyway (16 MB).
var DefaultLimits = Limits{Entry: 512 << 20, Total: 4 << 30, Ratio: 50, Entries: 200_000, Doc: 16 << 20, Collection: 256 << 20, Slack: 256 << 20}

// ErrRefused is wrapped by every error about the archive itself; its
// message says what is wrong, for the owner.
var ErrRefused = errors.New("archive refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// Archive is an opened, checked archive.
type Archive struct {
	// Docs holds the JSON and CSV documents at the top of the archive, by
	// name (actor.json, following_accounts.csv), except the collections
	// (outbox.json, likes.json, bookmarks.json), which stay on disk.
	Docs map[string][]byte
	// Media lists the other files, by their name in the archive.
	Media map[string]bool
	// OutboxItems counts the items of outbox.json's orderedItems: the
	// total an import's progress counts towards.
	OutboxItems int
	collections map[string]bool // the collections in the archive (in dir)
	dir         string
}

// outboxName is outbox.json's name in the archive and in its directory.
const outboxName = "outbox.json"

// isCollection tells the documents that may be large and are read from
// disk item by item.
func isCollection(name string) bool {
	return name == outboxName || name == "likes.json" || name == "bookmarks.json"
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
	a := &Archive{Docs: map[string][]byte{}, Media: map[string]bool{}, collections: map[string]bool{}, dir: dir}
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

// Has reports whether the archive holds the document name at its top:
// one of Docs, or a collection (outbox.json, likes.json, bookmarks.json).
func (a *Archive) Has(name string) bool {
	_, ok := a.Docs[name]
	return ok || a.collections[name]
}

// Outbox calls fn with each item of outbox.json's orderedItems, in order,
// reading the file as it goes: only one item is in memory at a time.
func (a *Archive) Outbox(fn func(item json.RawMessage) error) error {
	return a.items(outboxName, fn)
}

// items reads one of the collections item by item; nothing when the
// archive has none of that name.
func (a *Archive) items(name string, fn func(item json.RawMessage) error) error {
	if !a.collections[name] {
		return nil
	}
	f, err := os.Open(filepath.Join(a.dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	return Items(bufio.NewReaderSize(f, 64<<10), fn)
}

// ErrNotCollection is returned by Items for JSON that is no object with a
// list of orderedItems.
var ErrNotCollection = errors.New("not a collection with orderedItems")

// Items reads an ActivityStreams collection from r and calls fn with each
// element of its orderedItems, token by token through the document, so
// that memory holds one item at a time however long the list. The other
// members are read and dropped; the document must be well-formed to its
// end. An error of fn stops it and is returned as is.
func Items(r io.Reader, fn func(item json.RawMessage) error) error {
	dec := json.NewDecoder(r)
	if t, err := dec.Token(); err != nil {
		return err
	} else if t != json.Delim('{') {
		return ErrNotCollection
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return err
		}
		if key != "orderedItems" {
			if err := skipValue(dec); err != nil {
				return err
			}
			continue
		}
		if t, err := dec.Token(); err != nil {
			return err
		} else if t != json.Delim('[') {
			return ErrNotCollection
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			if err := fn(raw); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // ]
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the end of the document")
	}
	return nil
}

// skipValue reads one value, of any size, token by token: a member other
// than orderedItems is never held whole.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// MediaFor returns the name in the archive of the file an attachment's url
// in outbox.json points at. Mastodon writes the path its files had under
// /system/ (media_attachments/files/…/original/x.jpg); a server behind a
// CDN leaves the CDN's path prefix in (/floss/media_attachments/…), so the
// part from media_attachments/ on is tried too.
func (a *Archive) MediaFor(ref string) (string, bool) {
	if u, err := url.Parse(ref); err == nil && u.Scheme != "" {
		ref = u.Path
	}
	name := strings.TrimPrefix(path.Clean("/"+ref), "/")
	if a.Media[name] {
		return name, true
	}
	if rest, ok := strings.CutPrefix(name, "system/"); ok && a.Media[rest] {
		return rest, true
	}
	if i := strings.Index(name, "/media_attachments/"); i >= 0 && a.Media[name[i+1:]] {
		return name[i+1:], true
	}
	return "", false
}

// checkDocs makes sure the JSON documents parse, reading each collection
// through once, item by item, and counting outbox.json's items.
func (a *Archive) checkDocs() error {
	for _, name := range JSONDocs {
		if b, ok := a.Docs[name]; ok && !json.Valid(b) {
			var v any
			err := json.Unmarshal(b, &v)
			return refuse("%s is not valid JSON: %v", name, err)
		}
		n := 0
		err := a.items(name, func(json.RawMessage) error { n++; return nil })
		switch {
		case errors.Is(err, ErrNotCollection):
			return refuse("%s is %v", name, err)
		case err != nil:
			return refuse("%s is not valid JSON: %v", name, err)
		}
		if name == outboxName {
			a.OutboxItems = n
		}
	}
	if !a.Has(outboxName) {
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
	if !isCollection(name) && !strings.Contains(name, "/") && (strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".csv")) {
		var b []byte
		b, err = io.ReadAll(io.LimitReader(lr, x.lim.Doc+1))
		n = int64(len(b))
		if err == nil && n > x.lim.Doc {
			return refuse("%s is larger than %d MB", name, x.lim.Doc>>20)
		}
		x.a.Docs[name] = b
	} else {
		if isCollection(name) {
			// On disk, and read an item at a time.
			lr.N = min(lr.N, x.lim.Collection+1)
		}
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
		if isCollection(name) {
			if n > x.lim.Collection {
				return refuse("%s is larger than %d MB", name, x.lim.Collection>>20)
			}
			x.a.collections[name] = true
		} else {
			x.a.Media[name] = true
		}
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

// Writer writes an archive in Mastodon's layout as a .zip, one entry
// after the other, so that an export streams rather than being built in
// memory.
type Writer struct {
	zw *zip.Writer
}

// NewWriter starts an archive on w.
func NewWriter(w io.Writer) *Writer { return &Writer{zw: zip.NewWriter(w)} }

// Create starts the entry name (outbox.json, media_attachments/…); what
// is written to the returned writer is its content, until the next Create
// or Close.
func (w *Writer) Create(name string) (io.Writer, error) { return w.zw.Create(name) }

// Add writes the entry name whole.
func (w *Writer) Add(name string, b []byte) error {
	fw, err := w.zw.Create(name)
	if err != nil {
		return err
	}
	_, err = fw.Write(b)
	return err
}

// Close finishes the archive; w's underlying writer stays open.
func (w *Writer) Close() error { return w.zw.Close() }
