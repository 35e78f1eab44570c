package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
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
		ct := mime.TypeByExtension(ext)
		if ct == "" {
			ct = "application/octet-stream"
		}
		s.byName[p] = "/static/" + hashed
		s.files[hashed] = staticFile{body: body, contentType: ct}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
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
