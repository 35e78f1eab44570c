package browsertest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHarness drives a form with a file upload in a real Chromium.
func TestHarness(t *testing.T) {
	path := Find(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.Method == http.MethodPost {
			f, hdr, err := r.FormFile("file")
			if err != nil {
				fmt.Fprintf(w, "<p>no file: %v</p>", err)
				return
			}
			body, _ := io.ReadAll(f)
			fmt.Fprintf(w, "<p>got %s: %s and %q</p>", hdr.Filename, body, r.FormValue("name"))
			return
		}
		fmt.Fprint(w, `<form method="post" enctype="multipart/form-data"><input name="name"><input type="file" name="file"><button type="submit">Send</button></form>`)
	}))
	defer srv.Close()

	file := filepath.Join(t.TempDir(), "hello.txt")
	os.WriteFile(file, []byte("file content"), 0o644)

	b := Start(t, path)
	b.Navigate(srv.URL)
	b.SetValue(`input[name=name]`, "Ada")
	b.SetFiles(`input[name=file]`, file)
	b.Click(`button[type=submit]`, true)
	if got, want := b.Text(), `got hello.txt: file content and "Ada"`; !strings.Contains(got, want) {
		t.Errorf("page says %q; want %q", got, want)
	}
	shot := filepath.Join(t.TempDir(), "shot.png")
	b.Screenshot(shot)
	if st, err := os.Stat(shot); err != nil || st.Size() < 100 {
		t.Errorf("screenshot: %v", err)
	}
}
