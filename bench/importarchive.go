package main

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// importArchive measures issue 10's "import of an archive with 10,000
// posts and 2,000 follows: under a minute, ≤ 64 MB". The archive (a real
// Mastodon Note varied in id and date, every -every'th post with a real
// JPEG under media_attachments/) and the fake server the follows resolve
// on (WebFinger and actors over TLS on loopback) live in this process;
// the import is the real `kith import` binary in a process of its own, so
// that its peak RSS (getrusage of the child, and VmHWM polled from /proc)
// counts the import alone.
func importArchive(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	posts := fs.Int("posts", 10_000, "public posts in outbox.json")
	follows := fs.Int("follows", 2_000, "accounts in following_accounts.csv, each on the fake server")
	every := fs.Int("media-every", 50, "every Nth post carries a real JPEG (0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, tmp, err := benchDir(ctx, "import", stdout)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	kith := filepath.Join(tmp, "kith")
	if err := buildStatic(ctx, root, ".", kith, runtime.GOARCH); err != nil {
		return err
	}
	pki, err := newPKI()
	if err != nil {
		return err
	}
	caFile := filepath.Join(tmp, "ca.pem")
	if err := os.WriteFile(caFile, pki.CAPEM, 0o600); err != nil {
		return err
	}
	tlsCfg, err := pki.serverConfig()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	host := ln.Addr().String()
	handler, err := followable(host)
	if err != nil {
		return err
	}
	remote := &http.Server{Handler: handler, TLSConfig: tlsCfg, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 10 * time.Second}
	go remote.ServeTLS(ln, "", "")
	defer remote.Close()

	file := filepath.Join(tmp, "archive.zip")
	if err := writeBenchArchive(root, file, host, *posts, *follows, *every); err != nil {
		return err
	}
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	data := filepath.Join(tmp, "data")
	if err := createAccount(ctx, kith, data); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "archive: %d posts (%d with a JPEG), %d follows, %.1f MB zip\n", *posts, withMedia(*posts, *every), *follows, mb(st.Size()))
	for round, what := range []string{"import", "again (nothing new)"} {
		r, err := runImport(ctx, kith, data, caFile, file)
		if err != nil {
			return fmt.Errorf("round %d: %w", round+1, err)
		}
		fmt.Fprintf(stdout, "  %-20s wall %6.1f s, CPU %6.1f s, peak RSS %5.1f MB (VmHWM seen %5.1f MB), load average %s\n",
			what, r.wall.Seconds(), r.cpu.Seconds(), mb(r.maxRSS), mb(r.hwm), loadAverage())
		for _, line := range r.summary {
			fmt.Fprintf(stdout, "    %s\n", line)
		}
		if round == 0 {
			fmt.Fprintf(stdout, "  target < 60 s: %s; ≤ 64 MB: %s\n", verdict(r.wall.Seconds(), 60), verdict(mb(r.maxRSS), 64))
		}
	}
	return nil
}

// withMedia counts the posts that carry an image.
func withMedia(posts, every int) int {
	if every <= 0 {
		return 0
	}
	return (posts + every - 1) / every
}

// importRun is one `kith import` process.
type importRun struct {
	wall, cpu   time.Duration
	maxRSS, hwm int64
	summary     []string // kith's result lines
}

// runImport runs kith import and measures it.
func runImport(ctx context.Context, kith, data, caFile, file string) (*importRun, error) {
	cmd := exec.CommandContext(ctx, kith, "import", "--data", data, "--allow-private-networks", file)
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+caFile)
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = io.Discard // progress lines
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &importRun{}
	done := make(chan struct{})
	go func() {
		// The child's VmHWM, for as long as /proc has it; getrusage
		// after the exit is the figure reported.
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if _, hwm, err := procStatus(cmd.Process.Pid); err == nil && hwm > r.hwm {
					r.hwm = hwm
				}
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	r.wall = time.Since(t0)
	if err != nil {
		return nil, fmt.Errorf("kith import: %w\n%s", err, out.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss << 10
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	r.summary = strings.Split(strings.TrimSpace(out.String()), "\n")
	return r, nil
}

// createAccount makes kith's database by starting kith serve once.
func createAccount(ctx context.Context, kith, data string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	s, err := startServer(kith, []string{"serve", "--domain", "bench.example", "--listen", listen, "--data", data}, nil)
	if err != nil {
		return err
	}
	if _, err := waitHTTP(ctx, "http://"+listen+"/.well-known/nodeinfo", 20*time.Millisecond, 30*time.Second, s.exited); err != nil {
		s.kill()
		return err
	}
	_, err = s.stop(10 * time.Second)
	return err
}

// followable serves WebFinger and a Mastodon-shaped actor for any name on
// host, all with one RSA key: the accounts of following_accounts.csv.
func followable(host string) (http.Handler, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	base := "https://" + host
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
		name, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Query().Get("resource"), "acct:"), "@")
		w.Header().Set("Content-Type", "application/jrd+json")
		json.NewEncoder(w).Encode(map[string]any{
			"subject": "acct:" + name + "@" + host,
			"links":   []any{map[string]string{"rel": "self", "type": "application/activity+json", "href": base + "/users/" + name}},
		})
	})
	mux.HandleFunc("GET /users/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		iri := base + "/users/" + name
		w.Header().Set("Content-Type", "application/activity+json")
		json.NewEncoder(w).Encode(map[string]any{
			"@context": []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
			"id":       iri, "type": "Person", "preferredUsername": name, "name": "Account " + name,
			"inbox": iri + "/inbox", "outbox": iri + "/outbox", "followers": iri + "/followers", "following": iri + "/following",
			"url":       iri,
			"endpoints": map[string]string{"sharedInbox": base + "/inbox"},
			"publicKey": map[string]string{"id": iri + "#main-key", "owner": iri, "publicKeyPem": pubPEM},
		})
	})
	return mux, nil
}

// writeBenchArchive writes a Mastodon-layout zip: outbox.json streamed
// into the zip post by post, following_accounts.csv, and the JPEG of
// every every'th post.
func writeBenchArchive(root, file, host string, posts, follows, every int) error {
	note, err := os.ReadFile(filepath.Join(root, "ap", "testdata", "fixtures", "mastodon-note-attachment-mention.json"))
	if err != nil {
		return err
	}
	jpeg, err := os.ReadFile(filepath.Join(root, "ap", "testdata", "media", "video-001.progressive.jpeg"))
	if err != nil {
		return err
	}
	var n map[string]any
	if err := json.Unmarshal(note, &n); err != nil {
		return err
	}
	delete(n, "inReplyTo")
	att, ok := n["attachment"].([]any)
	if !ok || len(att) != 1 {
		return errors.New("the fixture note has no attachment")
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriter(f)
	zw := zip.NewWriter(bw)
	w, err := zw.Create("outbox.json")
	if err != nil {
		return err
	}
	io.WriteString(w, `{"@context":"https://www.w3.org/ns/activitystreams","id":"outbox.json","type":"OrderedCollection","totalItems":`+fmt.Sprint(posts)+`,"orderedItems":[`)
	var names []string
	for i := range posts {
		n["id"] = fmt.Sprintf("https://floss.social/users/kde/statuses/%d", i)
		n["published"] = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute).Format(time.RFC3339)
		if every > 0 && i%every == 0 {
			name := fmt.Sprintf("media_attachments/files/%d/original/%d.jpg", i, i)
			names = append(names, name)
			n["attachment"] = att
			att[0].(map[string]any)["url"] = name
		} else {
			delete(n, "attachment")
		}
		obj, err := json.Marshal(n)
		if err != nil {
			return err
		}
		if i > 0 {
			io.WriteString(w, ",")
		}
		fmt.Fprintf(w, `{"type":"Create","actor":"https://floss.social/users/kde","object":%s}`, obj)
	}
	io.WriteString(w, "]}")
	if w, err = zw.Create("following_accounts.csv"); err != nil {
		return err
	}
	io.WriteString(w, "Account address,Show boosts,Notify on new posts,Languages\n")
	for i := range follows {
		fmt.Fprintf(w, "u%d@%s,true,false,\n", i, host)
	}
	for _, name := range names {
		if w, err = zw.Create(name); err != nil {
			return err
		}
		w.Write(jpeg)
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// loadAverage is the 1, 5 and 15 minute load average.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
