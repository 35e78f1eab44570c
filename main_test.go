package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kith/store"
	"kith/web"
)

// syncBuffer is a bytes.Buffer safe to write from the server goroutine and
// read from the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// served is a kith serve started through run, as the binary would be.
type served struct {
	stdout, stderr *syncBuffer
	base           string // http://127.0.0.1:PORT
	stop           func() error
}

var listeningRE = regexp.MustCompile(`listening on (http://[0-9.:]+)\)`)

// startServe runs "kith serve" with args until the test ends or stop is
// called, and waits (bounded) until it listens.
func startServe(t *testing.T, args []string, environ map[string]string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve"}, args...), env(environ), strings.NewReader(""), s.stdout, s.stderr)
	}()
	var once sync.Once
	var runErr error
	s.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(15 * time.Second):
				runErr = context.DeadlineExceeded
			}
		})
		return runErr
	}
	t.Cleanup(func() { s.stop() })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := listeningRE.FindStringSubmatch(s.stdout.String()); m != nil {
			s.base = m[1]
			return s
		}
		select {
		case err := <-done:
			t.Fatalf("kith serve exited: %v\nstdout:\n%s\nstderr:\n%s", err, s.stdout, s.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("kith serve did not start listening within 10 s\nstdout:\n%s\nstderr:\n%s", s.stdout, s.stderr)
	return nil
}

// TestServeOnDefaults is the README's first command: a fresh data
// directory, the account created, the password printed once, the profile
// page served; a second start reuses everything.
func TestServeOnDefaults(t *testing.T) {
	data := filepath.Join(t.TempDir(), "kith-data")
	args := []string{"--listen", "127.0.0.1:0", "--data", data}
	s := startServe(t, args, nil)
	out := s.stdout.String()
	m := regexp.MustCompile(`owner password \(shown only now; change it with "kith passwd --data [^"]+"\): (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no password printed:\n%s", out)
	}
	password := m[1]
	if !strings.Contains(out, "@me@localhost:8080") {
		t.Errorf("output does not name the account @me@localhost:8080:\n%s", out)
	}

	resp, err := http.Get(s.base + "/@me")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "@me@localhost:8080") {
		t.Fatalf("GET /@me: status %d\n%s", resp.StatusCode, body)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("serve did not stop cleanly: %v", err)
	}

	db, err := store.Open(context.Background(), filepath.Join(data, "kith.db"))
	if err != nil {
		t.Fatal(err)
	}
	acct, err := db.Account(context.Background())
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !web.CheckPassword(acct.PasswordHash, password) {
		t.Error("the printed password does not match the stored hash")
	}

	again := startServe(t, args, nil)
	if strings.Contains(again.stdout.String(), "password") {
		t.Errorf("second start printed a password again:\n%s", again.stdout)
	}
}

// TestServeRefusesAnotherDomain: the database remembers its domain.
func TestServeRefusesAnotherDomain(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, []string{"--listen", "127.0.0.1:0", "--data", data}, nil)
	s.stop()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"serve", "--listen", "127.0.0.1:0", "--data", data, "--domain", "social.example.org"}, env(nil), nil, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "belongs to @me@localhost:8080") {
		t.Errorf("err = %v; want a refusal naming the account's domain", err)
	}
}

// TestServeRefusesMistakesBeforeCreating: mistakes in the command line
// are refused with a sentence that says what to do, before anything is
// written: no database is left behind.
func TestServeRefusesMistakesBeforeCreating(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"bad user", []string{"--user", "bad-name"}, "use only letters, digits and _"},
		{"TLS on a local domain", []string{"--tls-cert", "c.pem", "--tls-key", "k.pem"}, "leave out --tls-cert and --tls-key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data", data}, tt.args...)
			err := run(context.Background(), args, env(nil), nil, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v; want one saying %q", err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(data, "kith.db")); err == nil {
				t.Error("a database was created anyway")
			}
		})
	}
}

// TestHelp: kith -h and --help show the overview of commands, not only
// serve's flags.
func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "help"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{arg}, env(nil), nil, &out, io.Discard); err != nil {
			t.Fatalf("kith %s: %v", arg, err)
		}
		for _, cmd := range []string{"serve", "passwd", "post", "follow", "backup", "version"} {
			if !strings.Contains(out.String(), cmd) {
				t.Errorf("kith %s does not mention %s:\n%s", arg, cmd, out.String())
			}
		}
	}
}

// TestFlagsAndEnvironment: the environment twin sets a default, and the
// flag wins over it.
func TestFlagsAndEnvironment(t *testing.T) {
	e := env(map[string]string{"KITH_DOMAIN": "env.example", "KITH_DATA": "/from/env", "KITH_ALLOW_PRIVATE_NETWORKS": "1"})
	cfg, _, err := parseFlags("serve", serveFlags(), []string{"--domain", "flag.example"}, e, io.Discard, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.domain != "flag.example" || cfg.data != "/from/env" || !cfg.allowPrivate || cfg.listen != "127.0.0.1:8080" || cfg.user != "me" {
		t.Errorf("config = %+v", cfg)
	}
	if _, _, err := parseFlags("serve", serveFlags(), nil, env(map[string]string{"KITH_ALLOW_PRIVATE_NETWORKS": "maybe"}), io.Discard, ""); err == nil {
		t.Error("a bad boolean in the environment was accepted")
	}
	var stderr bytes.Buffer
	err = run(context.Background(), []string{"frobnicate"}, env(nil), nil, io.Discard, &stderr)
	if _, ok := err.(usageError); !ok {
		t.Errorf("unknown command: err = %v; want a usage error", err)
	}
}

// TestPasswd: a password piped in replaces the old one; a short one is
// refused and changes nothing.
func TestPasswd(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, []string{"--listen", "127.0.0.1:0", "--data", data}, nil)
	s.stop()
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"passwd", "--data", data}, env(nil), strings.NewReader("correct horse battery\n"), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"passwd", "--data", data}, env(nil), strings.NewReader("short\n"), &out, io.Discard); err == nil {
		t.Error("a 5-character password was accepted")
	}
	db, err := store.Open(ctx, filepath.Join(data, "kith.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	acct, _ := db.Account(ctx)
	if !web.CheckPassword(acct.PasswordHash, "correct horse battery") {
		t.Error("the new password does not check out")
	}
	if err := run(ctx, []string{"passwd", "--data", t.TempDir()}, env(nil), strings.NewReader("correct horse battery\n"), &out, io.Discard); err == nil || !strings.Contains(err.Error(), "kith serve") {
		t.Errorf("passwd without a database: err = %v; want advice to start kith serve", err)
	}
}

// TestBackup writes a consistent copy that opens as a kith database.
func TestBackup(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, []string{"--listen", "127.0.0.1:0", "--data", data}, nil)
	defer s.stop()
	dst := filepath.Join(t.TempDir(), "copy.db")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"backup", "--data", data, dst}, env(nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), dst)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if acct, err := db.Account(context.Background()); err != nil || acct.Username != "me" {
		t.Errorf("backup account = %+v, %v", acct, err)
	}
	if err := run(context.Background(), []string{"backup", "--data", data, dst}, env(nil), nil, &out, io.Discard); err == nil {
		t.Error("backup overwrote an existing file")
	}
	// It holds the private key and the password hash.
	if fi, err := os.Stat(dst); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

// TestProfileNegotiation: the profile and post page URLs point ActivityPub
// clients at the ActivityPub ids.
func TestProfileNegotiation(t *testing.T) {
	s := startServe(t, []string{"--listen", "127.0.0.1:0", "--data", t.TempDir()}, nil)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]string{
		"/@me":      "http://localhost:8080/users/me",
		"/@me/0123": "http://localhost:8080/users/me/statuses/0123",
	} {
		req, _ := http.NewRequest("GET", s.base+path, nil)
		req.Header.Set("Accept", "application/activity+json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Errorf("%s: %d → %q; want 302 → %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("%s redirect: Access-Control-Allow-Origin %q; want *", path, got)
		}
	}
	// Browsers get the page, and a browser asking for the actor is sent
	// there; other origins may read both (protocol.md 1.1).
	for path, status := range map[string]int{"/@me": http.StatusOK, "/users/me": http.StatusFound} {
		resp, err := client.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s for a browser: %d, Access-Control-Allow-Origin %q; want %d and *", path, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), status)
		}
	}
}

// TestVersion prints the version and schema.
func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, env(nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "kith "+version) || !strings.Contains(out.String(), "schema version") {
		t.Errorf("version output %q", out.String())
	}
}

// TestDependencies keeps the binary's imports to the design's list: the
// standard library, modernc.org/sqlite (with its runtime), go-fed/httpsig,
// goldmark, golang.org/x and coder/websocket (the agreed library for
// streaming). Test helpers must not leak into it.
func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go tool")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}|{{if .Module}}{{.Module.Path}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := regexp.MustCompile(`^(kith|modernc\.org/.*|github\.com/go-fed/httpsig|github\.com/yuin/goldmark|golang\.org/x/.*|github\.com/coder/websocket|` +
		// modernc.org/sqlite's own runtime dependencies
		`github\.com/dustin/go-humanize|github\.com/google/uuid|github\.com/mattn/go-isatty|github\.com/ncruces/go-strftime|github\.com/remyoudompheng/bigfft)$`)
	for _, line := range strings.Fields(string(out)) {
		pkg, module, _ := strings.Cut(line, "|")
		switch {
		case pkg == "testing" || strings.HasPrefix(pkg, "testing/") || pkg == "net/http/httptest":
			t.Errorf("the binary imports %s", pkg)
		case strings.HasSuffix(pkg, "/aptest") || strings.HasSuffix(pkg, "/storetest"):
			t.Errorf("the binary imports the test kit %s", pkg)
		case module != "" && !allowed.MatchString(module):
			t.Errorf("the binary depends on module %s, which the design does not allow", module)
		}
	}
}

// TestPostCommand publishes from standard input and from a file through
// the same pipeline as the web form.
func TestPostCommand(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, []string{"--listen", "127.0.0.1:0", "--data", data}, nil)
	s.stop()
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"post", "--data", data, "--cw", "long", "--visibility", "unlisted", "-"}, env(nil), strings.NewReader("Hello *world* #kith"), &out, &errOut); err != nil {
		t.Fatalf("post from stdin: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "published http://localhost:8080/@me/") {
		t.Errorf("output %q does not name the post's page", out.String())
	}
	file := filepath.Join(t.TempDir(), "essay.md")
	os.WriteFile(file, []byte("# An essay\n\nWith a paragraph."), 0o644)
	out.Reset()
	if err := run(ctx, []string{"post", "--data", data, "--title", "An essay", file}, env(nil), nil, &out, &errOut); err != nil {
		t.Fatalf("post from a file: %v", err)
	}
	if err := run(ctx, []string{"post", "--data", data, "--visibility", "everyone"}, env(nil), strings.NewReader("x"), &out, &errOut); err == nil {
		t.Error("a bad visibility was accepted")
	}
	if err := run(ctx, []string{"post", "--data", data}, env(nil), strings.NewReader("   "), &out, &errOut); err == nil {
		t.Error("an empty post was accepted")
	}
	// A direct post reaches only whom it mentions: with nobody, it is
	// refused with a sentence saying so.
	err := run(ctx, []string{"post", "--data", data, "--visibility", "direct"}, env(nil), strings.NewReader("just for me"), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "a direct post goes only to the people it mentions, and this one mentions nobody") {
		t.Errorf("a direct post without a mention: %v; want it refused as reaching nobody", err)
	}

	db, err := store.Open(ctx, filepath.Join(data, "kith.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := db.CountLocalPosts(ctx, store.Direct); err != nil || n != 0 {
		t.Errorf("%d direct posts stored, %v; want none", n, err)
	}
	posts, err := db.LocalPosts(ctx, store.PostQuery{Visibilities: []string{store.Public, store.Unlisted}})
	if err != nil || len(posts) != 2 {
		t.Fatalf("posts = %d, %v; want 2", len(posts), err)
	}
	essay, note := posts[0], posts[1]
	if essay.Type != "Article" || essay.Title != "An essay" {
		t.Errorf("the titled post = %s %q; want an Article", essay.Type, essay.Title)
	}
	if note.Visibility != store.Unlisted || note.Summary != "long" || !strings.Contains(note.ContentHTML, "<em>world</em>") || len(note.Tags) != 1 {
		t.Errorf("the note = %+v", note)
	}
}

// TestTagCollection: a tag page is a page for browsers and, at the same
// URL, a collection of our public posts with the tag for ActivityPub
// clients; the page points to it.
func TestTagCollection(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	s := startServe(t, []string{"--listen", "127.0.0.1:0", "--data", data}, nil)
	defer s.stop()
	for _, post := range []struct{ text, vis string }{{"One #kith", "public"}, {"Two #Kith", "public"}, {"Quiet #kith", "unlisted"}, {"Other #go", "public"}} {
		if err := run(ctx, []string{"post", "--data", data, "--visibility", post.vis, "-"}, env(nil), strings.NewReader(post.text), io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	req, _ := http.NewRequest("GET", s.base+"/tags/kith", nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		ID           string
		Type         string
		TotalItems   int
		OrderedItems []string
	}
	err = json.NewDecoder(resp.Body).Decode(&c)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || c.Type != "OrderedCollection" || c.ID != "http://localhost:8080/tags/kith" {
		t.Fatalf("tag as ActivityPub: status %d, %+v, %v", resp.StatusCode, c, err)
	}
	if c.TotalItems != 2 || len(c.OrderedItems) != 2 || !strings.HasPrefix(c.OrderedItems[0], "http://localhost:8080/users/me/statuses/") {
		t.Errorf("collection holds %d of %d items %v; want the 2 public posts tagged kith", len(c.OrderedItems), c.TotalItems, c.OrderedItems)
	}
	resp, err = http.Get(s.base + "/tags/kith")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `<link rel="alternate" type="application/activity+json" href="http://localhost:8080/tags/kith">`) {
		t.Errorf("the tag page does not link its collection:\n%.600s", body)
	}
}

// TestServeWarnsWhenDataIsReadable: started on a data directory made
// beforehand with mode 0755 (by a package, by hand), kith creates its
// database private anyway and tells the admin the chmod for the directory;
// a database left readable by others (an older kith) gets its own chmod.
func TestServeWarnsWhenDataIsReadable(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	data := filepath.Join(t.TempDir(), "var-lib-kith")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"--listen", "127.0.0.1:0", "--data", data}
	s := startServe(t, args, nil)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	logs := s.stdout.String() + s.stderr.String()
	if !strings.Contains(logs, "run chmod 700 "+data) {
		t.Errorf("no warning about the 0755 data directory:\n%s", logs)
	}
	if strings.Contains(logs, "chmod 600") {
		t.Errorf("warned about a database kith just created private:\n%s", logs)
	}
	db := filepath.Join(data, "kith.db")
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("kith.db: %v, %v; want mode 0600", fi.Mode(), err)
	}

	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o700); err != nil {
		t.Fatal(err)
	}
	again := startServe(t, args, nil)
	again.stop()
	logs = again.stdout.String() + again.stderr.String()
	if !strings.Contains(logs, "run chmod 600 "+db) {
		t.Errorf("no warning about the 0644 database:\n%s", logs)
	}
	if strings.Contains(logs, "chmod 700") {
		t.Errorf("warned about a private data directory:\n%s", logs)
	}
}
