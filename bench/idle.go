package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"kith/ap"
	"kith/store"
	"kith/store/storetest"
)

// idleOptions are the flags of go run ./bench idle.
type idleOptions struct {
	loads            []string
	posts, actors    int
	waits            []time.Duration
	workers, rounds  int // burst
	n, senders       int // inbound
	servers, follows int // fanout
	streams          int
}

// idleLoads are the loads idle knows, in the order it runs them.
var idleLoads = []string{"burst", "inbound", "fanout", "streams"}

// idleAfter measures the idle-RSS targets: issue 7 item 21 (≤ 20 MB once
// idle after traffic), issue 8 (≤ 20 MB with 100,000 remote posts) and
// issue 9 (≤ 22 MB with 10 open WebSocket streams). It builds kith,
// creates its data and seeds the posts, then, for each load, starts kith
// on a copy of that data (TLS on loopback, as a real instance), reads its
// memory 1 s after the first answer and a GET /@me, applies the load, and
// reads it again right after and after each idle wait. The loads:
//
//	burst    page GETs and 10 KB inbox POSTs refused at the signature
//	inbound  signed Create{Note}s from concurrent TLS senders, all stored
//	fanout   kith post to followers on fake TLS instances, each receiving it
//	streams  WebSocket streams (stream=user, owner token) held open
//
// The load's clients close their kept-alive connections when it ends, as
// peers' and browsers' idle connections close, so the readings after it
// are of kith alone; the streams stay open until the last reading.
//
// Each reading gives VmRSS with its two parts, RssAnon (heap, stacks,
// SQLite's caches) and RssFile (the binary's mapped pages), and VmHWM.
func idleAfter(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	var o idleOptions
	loads := fs.String("load", strings.Join(idleLoads, ","), "loads to measure, comma-separated: "+strings.Join(idleLoads, ", "))
	waits := fs.String("waits", "10s,60s", "idle waits after the load, each followed by a reading")
	fs.IntVar(&o.posts, "posts", 100_000, "remote posts in the database, as issue 8's targets assume")
	fs.IntVar(&o.actors, "actors", 10_000, "remote actors writing those posts")
	fs.IntVar(&o.workers, "workers", 8, "burst: concurrent clients")
	fs.IntVar(&o.rounds, "rounds", 500, "burst: rounds per client; each GETs three pages and POSTs one 10 KB activity")
	fs.IntVar(&o.n, "n", 5000, "inbound: signed activities")
	fs.IntVar(&o.senders, "senders", 32, "inbound: concurrent TLS senders")
	fs.IntVar(&o.servers, "servers", 500, "fanout: fake instances, one shared inbox each")
	fs.IntVar(&o.follows, "followers", 10_000, "fanout: followers spread over those instances")
	fs.IntVar(&o.streams, "streams", 10, "streams: open WebSocket streams")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, l := range strings.Split(*loads, ",") {
		if l = strings.TrimSpace(l); !slices.Contains(idleLoads, l) {
			return fmt.Errorf("-load: unknown load %q; want some of %s", l, strings.Join(idleLoads, ", "))
		}
		o.loads = append(o.loads, strings.TrimSpace(l))
	}
	for _, w := range strings.Split(*waits, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(w))
		if err != nil {
			return fmt.Errorf("-waits: %w", err)
		}
		o.waits = append(o.waits, d)
	}
	root, tmp, err := benchDir(ctx, "idle", stdout)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	env, err := newIdleEnv(ctx, root, tmp, o)
	if err != nil {
		return err
	}
	defer env.close()
	fmt.Fprintf(stdout, "database: %d remote posts by %d actors; for fanout, %d followers on %d fake instances too; kith serves TLS on loopback\n",
		o.posts, o.actors, o.follows, o.servers)
	fmt.Fprintln(stdout, "targets: ≤ 20 MB idle (issue 7 item 21, issue 8); ≤ 22 MB with 10 open streams (issue 9)")
	for _, load := range o.loads {
		if err := env.measure(ctx, load, stdout); err != nil {
			return fmt.Errorf("%s: %w", load, err)
		}
	}
	return nil
}

// idleEnv is what every load's run shares: the binary, the seeded data,
// the run's CA, the inbound senders' home server and the fake instances.
type idleEnv struct {
	o        idleOptions
	tmp, bin string
	data     string // the seeded data, copied for each run
	password string // the owner's, printed at the first start
	pki      *testPKI
	tlsArgs  []string
	caFile   string
	actors   []*remoteActor // inbound's signers
	remote   string         // their server's base URL
	stopRem  func()
	fake     *child // the fake instances, when fanout runs
}

// newIdleEnv builds kith, makes and seeds its data, and starts the
// servers the loads need.
func newIdleEnv(ctx context.Context, root, tmp string, o idleOptions) (*idleEnv, error) {
	e := &idleEnv{o: o, tmp: tmp, bin: filepath.Join(tmp, "kith"), data: filepath.Join(tmp, "data")}
	if err := buildStatic(ctx, root, ".", e.bin, runtime.GOARCH); err != nil {
		return nil, err
	}
	pki, err := newPKI()
	if err != nil {
		return nil, err
	}
	e.pki = pki
	e.caFile = filepath.Join(tmp, "ca.pem")
	files := map[string][]byte{"ca.pem": pki.CAPEM, "cert.pem": pki.CertPEM, "key.pem": pki.KeyPEM}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	e.tlsArgs = []string{"--tls-cert", filepath.Join(tmp, "cert.pem"), "--tls-key", filepath.Join(tmp, "key.pem")}

	// First start: the account, its keys and the database.
	s, base, err := e.start(e.data)
	if err != nil {
		return nil, err
	}
	m := regexp.MustCompile(`owner password \(shown only now[^)]*\): (\S+)`).FindStringSubmatch(s.out.String())
	if _, err := s.stop(10 * time.Second); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("no owner password printed by %s's first start:\n%s", base, s.out.String())
	}
	e.password = m[1]
	dbPath := filepath.Join(e.data, "kith.db")
	if o.posts > 0 {
		err := seed(func(tb testing.TB) {
			storetest.SeedHome(tb, dbPath, storetest.SeedActors(tb, dbPath, max(1, o.actors)), o.posts, seedContent)
		})
		if err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
	}

	tlsCfg, err := pki.serverConfig()
	if err != nil {
		return nil, err
	}
	if slices.Contains(o.loads, "inbound") {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		e.remote = "https://" + ln.Addr().String()
		if e.actors, err = newRemoteActors(e.remote, 16); err != nil {
			ln.Close()
			return nil, err
		}
		srv := &http.Server{Handler: actorDocuments(e.actors), TLSConfig: tlsCfg, ErrorLog: log.New(io.Discard, "", 0),
			ReadHeaderTimeout: 10 * time.Second}
		go srv.ServeTLS(ln, "", "")
		e.stopRem = func() { srv.Close() }
	}
	if slices.Contains(o.loads, "fanout") {
		db, err := store.Open(ctx, dbPath)
		if err != nil {
			return nil, err
		}
		acct, err := db.Account(ctx)
		db.Close()
		if err == nil {
			e.fake, err = startChild(ctx, fanoutOptions{servers: o.servers}, pki, acct.PublicKeyPEM,
				ap.NewURLs(acct.Domain, acct.Username).KeyID())
		}
		if err != nil {
			e.close()
			return nil, err
		}
	}
	return e, nil
}

func (e *idleEnv) close() {
	if e.stopRem != nil {
		e.stopRem()
	}
	if e.fake != nil {
		e.fake.close()
	}
}

// seedFollowers stores the fan-out's followers, spread over the fake
// instances, in the stopped kith's database at path.
func (e *idleEnv) seedFollowers(ctx context.Context, path string) error {
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	return seedFollowers(ctx, db, e.fake.ports, e.o.follows)
}

// start starts kith serve on dir and waits until it answers.
func (e *idleEnv) start(dir string) (*server, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	args := append([]string{"serve", "--domain", inboundDomain, "--listen", listen, "--data", dir,
		"--allow-private-networks", "--retention", "400d"}, e.tlsArgs...)
	s, err := startServer(e.bin, args, []string{"SSL_CERT_FILE=" + e.caFile})
	if err != nil {
		return nil, "", err
	}
	base := "https://" + listen
	if err := waitHTTPS(context.Background(), senderClient(e.pki), base+"/.well-known/nodeinfo", time.Minute, s.exited); err != nil {
		s.kill()
		return nil, "", fmt.Errorf("%w\n%s", err, s.out.String())
	}
	return s, base, nil
}

// memReading is one reading of a process's memory, in bytes.
type memReading struct {
	rss, anon, file, hwm int64
}

func (m memReading) String() string {
	return fmt.Sprintf("VmRSS %5.1f MB (RssAnon %4.1f + RssFile %4.1f)  VmHWM %5.1f MB", mb(m.rss), mb(m.anon), mb(m.file), mb(m.hwm))
}

// measure runs one load on a fresh copy of the data and prints the
// readings.
func (e *idleEnv) measure(ctx context.Context, load string, stdout io.Writer) error {
	dir := filepath.Join(e.tmp, "run-"+load)
	if err := copyDir(e.data, dir); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if load == "fanout" {
		// Only this run has the followers: a post in another (the
		// streams') would fan out too.
		if err := e.seedFollowers(ctx, filepath.Join(dir, "kith.db")); err != nil {
			return err
		}
	}
	s, base, err := e.start(dir)
	if err != nil {
		return err
	}
	defer s.kill()
	client := senderClient(e.pki)
	if err := getHost(ctx, client, base+"/@me"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%s:\n", load)
	reading := func(when string) error {
		m, err := procMemory(s.cmd.Process.Pid)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  %-30s %s\n", when, m)
		return nil
	}
	if err := sleepCtx(ctx, time.Second); err != nil {
		return err
	}
	if err := reading("fresh (1 s after GET /@me)"); err != nil {
		return err
	}
	t0 := time.Now()
	var what string
	var hold func() // ends what the load keeps open (streams)
	switch load {
	case "burst":
		what, err = e.burst(ctx, client, base)
	case "inbound":
		what, err = e.inbound(ctx, base, dir)
	case "fanout":
		what, err = e.fanout(ctx, dir)
	case "streams":
		what, hold, err = e.openStreams(ctx, client, base)
	}
	if err != nil {
		return fmt.Errorf("%w\nkith said:\n%s", err, s.out.String())
	}
	if hold != nil {
		defer hold()
	}
	fmt.Fprintf(stdout, "  load: %s, in %s\n", what, time.Since(t0).Round(time.Millisecond))
	if err := reading("right after"); err != nil {
		return err
	}
	done := time.Now()
	for _, d := range e.o.waits {
		if err := sleepCtx(ctx, time.Until(done.Add(d))); err != nil {
			return err
		}
		if err := reading(fmt.Sprintf("idle %s after", d)); err != nil {
			return err
		}
	}
	if hold != nil {
		hold()
		hold = nil
	}
	_, err = s.stop(10 * time.Second)
	return err
}

// burst is issue 7 item 21's first load: page views and inbox POSTs that
// kith refuses at the signature (nothing on loopback can be asked for
// the key), so reading, capping and checking bodies, not processing.
func (e *idleEnv) burst(ctx context.Context, _ *http.Client, base string) (string, error) {
	body := bytes.Repeat([]byte(`{"type":"Note","content":"a line of text, repeated"},`), 200)
	var wg sync.WaitGroup
	for range e.o.workers {
		c := senderClient(e.pki)
		defer c.CloseIdleConnections()
		wg.Go(func() {
			for range e.o.rounds {
				for _, p := range []string{"/@me", "/@me/feed.atom", "/.well-known/nodeinfo"} {
					getHost(ctx, c, base+p)
				}
				send(c, &signedPost{url: base + "/inbox", body: body, header: http.Header{
					"Content-Type": {"application/activity+json"},
					"Signature":    {`keyId="https://x.example/k",headers="(request-target) host date digest",signature="AAAA"`},
				}})
			}
		})
	}
	wg.Wait()
	return fmt.Sprintf("%d clients × %d rounds of 3 page GETs and one %d-byte inbox POST", e.o.workers, e.o.rounds, len(body)), ctx.Err()
}

// inbound is bench inbound's load: each actor's first activity alone
// (kith fetches its key), then the signed activities from concurrent
// senders, until kith's queue has stored them all.
func (e *idleEnv) inbound(ctx context.Context, base, dir string) (string, error) {
	owner := "https://" + inboundDomain + "/users/me"
	check := senderClient(e.pki)
	defer check.CloseIdleConnections()
	warm, err := signActivities(e.actors, base, owner, "warm", len(e.actors))
	if err != nil {
		return "", err
	}
	for i, p := range warm {
		if st, err := send(check, p); err != nil || st/100 != 2 {
			return "", fmt.Errorf("warm-up POST %d: status %d, %v", i, st, err)
		}
	}
	reqs, err := signActivities(e.actors, base, owner, "load", e.o.n)
	if err != nil {
		return "", err
	}
	next := make(chan *signedPost)
	var bad sync.Map
	var wg sync.WaitGroup
	for range e.o.senders {
		c := senderClient(e.pki)
		defer c.CloseIdleConnections()
		wg.Go(func() {
			for p := range next {
				if st, err := send(c, p); err != nil || st/100 != 2 {
					bad.Store(p.url, fmt.Sprintf("status %d, %v", st, err))
				}
			}
		})
	}
	for _, p := range reqs {
		next <- p
	}
	close(next)
	wg.Wait()
	bad.Range(func(_, v any) bool { err = fmt.Errorf("an inbox POST failed: %s", v); return false })
	if err != nil {
		return "", err
	}
	want := len(warm) + len(reqs)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		stored, pending, failed, err := kithStored(ctx, filepath.Join(dir, "kith.db"), e.remote+"/")
		if err != nil {
			return "", err
		}
		if pending == 0 && stored+failed >= want {
			if stored < want {
				return "", fmt.Errorf("only %d of %d activities stored", stored, want)
			}
			break
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%d of %d stored after 2 minutes", stored, want)
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%d signed Create{Note} from %d TLS senders (%d actors), all stored", want, e.o.senders, len(e.actors)), nil
}

// fanout posts with kith post, as the owner would, and waits until every
// fake instance has received the Create from the running kith.
func (e *idleEnv) fanout(ctx context.Context, dir string) (string, error) {
	if err := e.fake.newRound(ctx, 0); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, e.bin, "post", "--data", dir, "--allow-private-networks")
	cmd.Stdin = strings.NewReader(fanoutPost)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("kith post: %v\n%s", err, out)
	}
	if err := e.fake.waitAll(ctx, 2*time.Minute); err != nil {
		return "", err
	}
	st, err := e.fake.stats(ctx)
	if err == nil {
		err = checkStats(st, e.o.servers)
	}
	return fmt.Sprintf("one post to %d followers on %d instances, each received it once, signature checked", e.o.follows, e.o.servers), err
}

// openStreams gets an owner token through the client API (an app, then
// the password grant), opens the WebSocket streams and checks that each
// delivers the update of a post. They stay open until hold is called.
func (e *idleEnv) openStreams(ctx context.Context, c *http.Client, base string) (string, func(), error) {
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := postJSON(ctx, c, base+"/api/v1/apps", url.Values{
		"client_name": {"bench"}, "redirect_uris": {"urn:ietf:wg:oauth:2.0:oob"}, "scopes": {"read write"},
	}, &app); err != nil {
		return "", nil, err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := postJSON(ctx, c, base+"/oauth/token", url.Values{
		"grant_type": {"password"}, "username": {"me"}, "password": {e.password},
		"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "scope": {"read write"},
	}, &tok); err != nil {
		return "", nil, err
	}
	if tok.AccessToken == "" {
		return "", nil, errors.New("no access token from the password grant")
	}
	wsURL := "wss" + strings.TrimPrefix(base, "https") + "/api/v1/streaming?stream=user"
	header := http.Header{"Authorization": {"Bearer " + tok.AccessToken}}
	conns := make([]*websocket.Conn, 0, e.o.streams)
	hold := func() {
		for _, ws := range conns {
			ws.Close(websocket.StatusNormalClosure, "")
		}
		conns = nil
	}
	events := make(chan string, e.o.streams)
	for range e.o.streams {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		ws, _, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{HTTPClient: c, HTTPHeader: header, Host: inboundDomain})
		cancel()
		if err != nil {
			hold()
			return "", nil, fmt.Errorf("open stream: %w", err)
		}
		conns = append(conns, ws)
		go func() {
			for {
				_, b, err := ws.Read(context.Background())
				if err != nil {
					return
				}
				var ev struct{ Event string }
				if json.Unmarshal(b, &ev) == nil && ev.Event == "update" {
					select {
					case events <- ev.Event:
					default:
					}
				}
			}
		}()
	}
	// Posted through the API: the streams hear of what this kith commits,
	// not of what kith post writes from another process.
	var status struct{ ID string }
	if err := postJSON(ctx, c, base+"/api/v1/statuses", url.Values{"status": {"A post for the open streams."}}, &status,
		"Authorization", "Bearer "+tok.AccessToken); err != nil {
		hold()
		return "", nil, err
	}
	for i := range e.o.streams {
		select {
		case <-events:
		case <-time.After(10 * time.Second):
			hold()
			return "", nil, fmt.Errorf("%d of %d streams delivered the post's update within 10 s", i, e.o.streams)
		}
	}
	return fmt.Sprintf("%d WebSocket streams (stream=user, owner token) opened, each delivered a post's update; held open", e.o.streams), hold, nil
}

// getHost GETs url as a browser of the instance would (Host kith.example)
// and reads the answer.
func getHost(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Host = inboundDomain
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return nil
}

// postJSON POSTs a form to the client API and decodes the JSON answer.
func postJSON(ctx context.Context, c *http.Client, url string, form url.Values, v any, header ...string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Host = inboundDomain
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: status %d: %s", url, resp.StatusCode, b)
	}
	return json.Unmarshal(b, v)
}

// copyDir copies the files of src (no subdirectories) into a new dst,
// private as kith makes its own.
func copyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, d := range entries {
		if d.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, d.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, d.Name()), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
