package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// staticFiles serves the embedded static files under names that carry a
// hash of their content (style.3f2a9c.css), so they can be cached forever
// and still change with each release.
type staticFiles struct {
	byName map[string]string // style.css -> /static/style.3f2a9c1b.css
	files  map[string]staticFile
}

type staticFile struct {
	body        []byte
	contentType string
}

func newStaticFiles(fsys fs.FS) (*staticFiles, error) {
	s := &staticFiles{byName: map[string]string{}, files: map[string]staticFile{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".go") {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(p)
		hashed := strings.TrimSuffix(p, ext) + "." + hex.EncodeToString(sum[:])[:10] + ext
		ct := staticType(ext)
		s.byName[p] = "/static/" + hashed
		s.files[hashed] = staticFile{body: body, contentType: ct}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// staticType is the media type of a static file kith ships, by its
// extension. The standard mime table would do, but its first use reads
// the system's shared-mime-info database into 400 KB of heap that an idle
// kith then kept for good. TestStaticTypes checks every shipped file.
func staticType(ext string) string {
	switch ext {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	}
	return "application/octet-stream"
}

// URL returns the hashed URL of a static file; a missing name is a bug in a
// template, reported at start-up by parsePages.
func (s *staticFiles) URL(name string) (string, error) {
	u, ok := s.byName[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return u, nil
}

func (s *staticFiles) serve(w http.ResponseWriter, r *http.Request) {
	f, ok := s.files[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(f.body)
}
