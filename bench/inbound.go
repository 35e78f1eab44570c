package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"kith/store/storetest"
)

// inboundDomain is the domain kith serves in the inbound benchmark. It is
// not a local name, so kith accepts to serve it over TLS; the senders reach
// it on loopback and name it in the Host header.
const inboundDomain = "kith.example"

// inboundOptions are the flags of go run ./bench inbound.
type inboundOptions struct {
	n, senders, actors, seed, rounds int
	drain                            time.Duration
}

// remoteActor is one fake remote account: its document is served by the
// benchmark's TLS server, and it signs the activities it sends.
type remoteActor struct {
	iri, keyID, name string
	key              *rsa.PrivateKey
	pubPEM           string
}

// inboundTarget is a server under inbound load: kith or the floor.
type inboundTarget struct {
	name    string
	bin     string
	args    func(listen, dir string) []string
	env     []string
	health  string                                      // path answered 200 once up
	prepare func(ctx context.Context, dir string) error // before the measured start, with the data made
	stored  func(ctx context.Context, dir string) (stored, pending, failed int, err error)
}

// inboundRun is one target's figures in one round.
type inboundRun struct {
	wall     time.Duration // first request sent until the last answer
	drained  time.Duration // first request sent until every activity was stored
	lat      []float64     // seconds, one per timed request
	non2xx   int
	firstBad string
	stored   int
	want     int
	failed   int
	hwm, rss int64
}

// inbound measures design.md §10's inbox throughput and peak RSS under
// load: signed Create{Note} activities from concurrent TLS senders to the
// shared inbox of the real kith binary, served over TLS on loopback, with
// its signers' actors on a fake remote server that kith fetches their keys
// from. The floor is bench/floorserver's minimal inbox under the same load
// in the same run.
func inbound(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("inbound", flag.ContinueOnError)
	var o inboundOptions
	fs.IntVar(&o.n, "n", 5000, "timed activities per server and round")
	fs.IntVar(&o.senders, "senders", 32, "concurrent TLS senders (one kept-alive HTTP/1.1 connection each)")
	fs.IntVar(&o.actors, "actors", 16, "remote actors signing the activities (kith fetches at most 20 unknown keys per host at once)")
	fs.IntVar(&o.seed, "seed", 10_000, "remote actors stored in kith's database beforehand, as after a year of use")
	fs.IntVar(&o.rounds, "rounds", 1, "rounds, each on fresh databases, floor then kith")
	fs.DurationVar(&o.drain, "drain", 2*time.Minute, "how long kith's queue may take to store everything after the load")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.n < 1 || o.senders < 1 || o.actors < 1 || o.rounds < 1 {
		return errors.New("-n, -senders, -actors and -rounds must be positive")
	}
	root, tmp, err := benchDir(ctx, "inbound", stdout)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	kithBin, floorBin := filepath.Join(tmp, "kith"), filepath.Join(tmp, "floorserver")
	if err := buildStatic(ctx, root, ".", kithBin, runtime.GOARCH); err != nil {
		return err
	}
	if err := buildStatic(ctx, root, "./bench/floorserver", floorBin, runtime.GOARCH); err != nil {
		return err
	}

	pki, err := newPKI()
	if err != nil {
		return err
	}
	files := map[string][]byte{"ca.pem": pki.CAPEM, "cert.pem": pki.CertPEM, "key.pem": pki.KeyPEM}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o600); err != nil {
			return err
		}
	}
	tlsCfg, err := pki.serverConfig()
	if err != nil {
		return err
	}

	// The signers' home server, which kith fetches their keys from.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	remoteBase := "https://" + ln.Addr().String()
	actors, err := newRemoteActors(remoteBase, o.actors)
	if err != nil {
		return err
	}
	remote := &http.Server{Handler: actorDocuments(actors), TLSConfig: tlsCfg, ErrorLog: log.New(io.Discard, "", 0),
		ReadHeaderTimeout: 10 * time.Second}
	go remote.ServeTLS(ln, "", "")
	defer remote.Close()

	keysFile := filepath.Join(tmp, "keys.json")
	keys := map[string]string{}
	for _, a := range actors {
		keys[a.keyID] = a.pubPEM
	}
	b, _ := json.Marshal(keys)
	if err := os.WriteFile(keysFile, b, 0o600); err != nil {
		return err
	}

	tlsArgs := []string{"--tls-cert", filepath.Join(tmp, "cert.pem"), "--tls-key", filepath.Join(tmp, "key.pem")}
	kith := inboundTarget{
		name: "kith", bin: kithBin, health: "/.well-known/nodeinfo",
		args: func(listen, dir string) []string {
			return append([]string{"serve", "--domain", inboundDomain, "--listen", listen, "--data", dir, "--allow-private-networks"}, tlsArgs...)
		},
		env: []string{"SSL_CERT_FILE=" + filepath.Join(tmp, "ca.pem")},
		prepare: func(ctx context.Context, dir string) error {
			if o.seed == 0 {
				return nil
			}
			return seed(func(tb testing.TB) { storetest.SeedActors(tb, filepath.Join(dir, "kith.db"), o.seed) })
		},
		stored: func(ctx context.Context, dir string) (int, int, int, error) {
			return kithStored(ctx, filepath.Join(dir, "kith.db"), remoteBase+"/")
		},
	}
	floor := inboundTarget{
		name: "floor", bin: floorBin, health: "/healthz",
		args: func(listen, dir string) []string {
			return []string{"-listen", listen, "-data", dir, "-keys", keysFile,
				"-tls-cert", filepath.Join(tmp, "cert.pem"), "-tls-key", filepath.Join(tmp, "key.pem")}
		},
		stored: func(ctx context.Context, dir string) (int, int, int, error) {
			n, err := countRows(ctx, filepath.Join(dir, "floor.db"), `SELECT count(*) FROM inbox`)
			return n, 0, 0, err
		},
	}

	runs := map[string][]*inboundRun{}
	for round := range o.rounds {
		for _, t := range []inboundTarget{floor, kith} {
			r, err := inboundRound(ctx, o, t, pki, actors, filepath.Join(tmp, fmt.Sprintf("data-%s-%d", t.name, round)))
			if err != nil {
				return fmt.Errorf("%s, round %d: %w", t.name, round+1, err)
			}
			runs[t.name] = append(runs[t.name], r)
			fmt.Fprintf(stdout, "  round %d %-5s %s\n", round+1, t.name, r.line(o.n))
		}
	}

	k, f := runs["kith"], runs["floor"]
	rate := func(rs []*inboundRun) summary {
		var xs []float64
		for _, r := range rs {
			xs = append(xs, float64(o.n)/r.wall.Seconds())
		}
		return summarize(xs)
	}
	kr, fr := rate(k), rate(f)
	fmt.Fprintf(stdout, "\ninbound: %d signed Create{Note} (%d actors, RSA-2048, draft-cavage with Digest) from %d TLS senders to the shared inbox; kith's database holds %d other actors:\n",
		o.n, o.actors, o.senders, o.seed)
	fmt.Fprintf(stdout, "  kith  %s\n  floor %s\n  kith/floor %s  target ≥ 2,500/s: %s\n",
		kr.format(1, "activities/s", 0), fr.format(1, "activities/s", 0), ratio(kr.median, fr.median), atLeast(kr.median, 2500))
	worst := k[0]
	for _, r := range k {
		if r.stored < r.want || r.non2xx > 0 || r.hwm > worst.hwm {
			worst = r
		}
	}
	fmt.Fprintf(stdout, "  peak RSS of kith (VmHWM) %.1f MB, floor %.1f MB; target ≤ 48 MB: %s\n",
		mb(worst.hwm), mb(f[len(f)-1].hwm), verdict(mb(worst.hwm), 48))
	for _, r := range append(slices.Clone(k), f...) {
		if r.non2xx > 0 {
			return fmt.Errorf("%d answers were not 2xx (first: %s)", r.non2xx, r.firstBad)
		}
		if r.stored < r.want {
			return fmt.Errorf("only %d of %d activities were stored", r.stored, r.want)
		}
	}
	fmt.Fprintln(stdout, "  every answer 2xx and every activity stored, in every round")
	return nil
}

// atLeast says whether got meets a target (larger is better).
func atLeast(got, target float64) string { return verdict(-got, -target) }

func (r *inboundRun) line(n int) string {
	p50, p99 := percentile(r.lat, 0.50), percentile(r.lat, 0.99)
	s := fmt.Sprintf("%5.0f/s (%d in %.2f s), latency p50 %.1f ms p99 %.1f ms, non-2xx %d, stored %d/%d",
		float64(n)/r.wall.Seconds(), n, r.wall.Seconds(), p50*1e3, p99*1e3, r.non2xx, r.stored, r.want)
	if r.failed > 0 {
		s += fmt.Sprintf(" (%d failed in the queue)", r.failed)
	}
	return s + fmt.Sprintf(", all stored after %.2f s, VmHWM %.1f MB, VmRSS after %.1f MB", r.drained.Seconds(), mb(r.hwm), mb(r.rss))
}

// percentile is the p-quantile of xs (nearest rank).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// inboundRound starts t on a fresh data directory, warms it up with one
// activity per actor (so kith fetches each key once, as it would over
// days), sends the timed load, waits until everything is stored and stops
// the server.
func inboundRound(ctx context.Context, o inboundOptions, t inboundTarget, pki *testPKI, actors []*remoteActor, dir string) (*inboundRun, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	base := "https://" + listen
	check := senderClient(pki)
	if t.prepare != nil {
		// A first start makes the data; then the seed goes in while the
		// server is stopped.
		s, err := startServer(t.bin, t.args(listen, dir), t.env)
		if err != nil {
			return nil, err
		}
		if err := waitHTTPS(ctx, check, base+t.health, time.Minute, s.exited); err != nil {
			s.kill()
			return nil, fmt.Errorf("first start: %w\n%s", err, s.out.String())
		}
		if _, err := s.stop(10 * time.Second); err != nil {
			return nil, err
		}
		if err := t.prepare(ctx, dir); err != nil {
			return nil, err
		}
	}
	s, err := startServer(t.bin, t.args(listen, dir), t.env)
	if err != nil {
		return nil, err
	}
	defer s.kill()
	if err := waitHTTPS(ctx, check, base+t.health, time.Minute, s.exited); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, s.out.String())
	}
	owner := "https://" + inboundDomain + "/users/me"

	warm, err := signActivities(actors, base, owner, "warm", len(actors))
	if err != nil {
		return nil, err
	}
	for i, req := range warm {
		status, err := send(check, req)
		if err != nil || status/100 != 2 {
			return nil, fmt.Errorf("warm-up POST %d: status %d, %v\n%s", i, status, err, s.out.String())
		}
	}
	reqs, err := signActivities(actors, base, owner, "load", o.n)
	if err != nil {
		return nil, err
	}

	r := &inboundRun{want: len(warm) + len(reqs), lat: make([]float64, len(reqs))}
	statuses := make([]int, len(reqs))
	errs := make([]error, len(reqs))
	next := make(chan int)
	var wg sync.WaitGroup
	t0 := time.Now()
	for range o.senders {
		c := senderClient(pki)
		wg.Go(func() {
			for i := range next {
				s0 := time.Now()
				statuses[i], errs[i] = send(c, reqs[i])
				r.lat[i] = time.Since(s0).Seconds()
			}
		})
	}
	for i := range reqs {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	r.wall = time.Since(t0)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	for i, st := range statuses {
		if errs[i] != nil || st/100 != 2 {
			if r.non2xx == 0 {
				r.firstBad = fmt.Sprintf("status %d, %v", st, errs[i])
			}
			r.non2xx++
		}
	}

	deadline := time.Now().Add(o.drain)
	for {
		stored, pending, failed, err := t.stored(ctx, dir)
		if err != nil {
			return nil, err
		}
		r.stored, r.failed = stored, failed
		if pending == 0 && stored+failed >= r.want || time.Now().After(deadline) {
			break
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	r.drained = time.Since(t0)
	if r.rss, r.hwm, err = procStatus(s.cmd.Process.Pid); err != nil {
		return nil, err
	}
	if _, err := s.stop(10 * time.Second); err != nil {
		return nil, err
	}
	return r, nil
}

// newRemoteActors makes n actors on the server at base, each with an
// RSA-2048 key as Mastodon's.
func newRemoteActors(base string, n int) ([]*remoteActor, error) {
	actors := make([]*remoteActor, n)
	for i := range actors {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			return nil, err
		}
		name := "sender" + strconv.Itoa(i)
		iri := base + "/users/" + name
		actors[i] = &remoteActor{iri: iri, keyID: iri + "#main-key", name: name, key: key,
			pubPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}
	}
	return actors, nil
}

// actorDocuments serves each actor's document, Mastodon-shaped, with its
// key.
func actorDocuments(actors []*remoteActor) http.Handler {
	mux := http.NewServeMux()
	for _, a := range actors {
		doc, _ := json.Marshal(map[string]any{
			"@context":          []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
			"id":                a.iri,
			"type":              "Person",
			"preferredUsername": a.name,
			"name":              "Sender " + a.name,
			"inbox":             a.iri + "/inbox",
			"outbox":            a.iri + "/outbox",
			"followers":         a.iri + "/followers",
			"following":         a.iri + "/following",
			"url":               a.iri,
			"endpoints":         map[string]string{"sharedInbox": a.iri[:len(a.iri)-len("/users/"+a.name)] + "/inbox"},
			"publicKey":         map[string]string{"id": a.keyID, "owner": a.iri, "publicKeyPem": a.pubPEM},
		})
		mux.HandleFunc("GET /users/"+a.name, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/activity+json")
			w.Write(doc)
		})
	}
	return mux
}

// inboundActivity is a Mastodon-shaped public Create{Note} of about
// 2.4 KB that mentions the owner, so kith stores it without following its
// author.
func inboundActivity(actor, id, owner string, published time.Time) []byte {
	content := `<p><span class="h-card"><a href="https://` + inboundDomain + `/@me" class="u-url mention">@<span>me</span></a></span> ` +
		`Moved my little server to a Raspberry Pi 4 this weekend; it idles at a few megabytes. ` +
		`<a href="https://remote.example/tags/selfhosting" class="mention hashtag" rel="tag">#<span>selfhosting</span></a></p>` +
		`<p>You asked about SD cards: the WAL file stays small.</p>`
	at := published.UTC().Format(time.RFC3339)
	note := map[string]any{
		"id":           id + "/object",
		"type":         "Note",
		"summary":      nil,
		"inReplyTo":    nil,
		"published":    at,
		"url":          id + "/object",
		"attributedTo": actor,
		"to":           []string{"https://www.w3.org/ns/activitystreams#Public"},
		"cc":           []string{actor + "/followers", owner},
		"sensitive":    false,
		"atomUri":      id + "/object",
		"conversation": "tag:remote.example,2026-11-02:objectId=123456:objectType=Conversation",
		"content":      content,
		"contentMap":   map[string]string{"en": content},
		"attachment":   []any{},
		"tag": []any{
			map[string]any{"type": "Mention", "href": owner, "name": "@me@" + inboundDomain},
			map[string]any{"type": "Hashtag", "href": "https://remote.example/tags/selfhosting", "name": "#selfhosting"},
		},
		"replies": map[string]any{"id": id + "/object/replies", "type": "Collection"},
	}
	b, _ := json.Marshal(map[string]any{
		"@context":  []any{"https://www.w3.org/ns/activitystreams", map[string]any{"ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri", "conversation": "ostatus:conversation", "sensitive": "as:sensitive"}},
		"id":        id,
		"type":      "Create",
		"actor":     actor,
		"published": at,
		"to":        []string{"https://www.w3.org/ns/activitystreams#Public"},
		"cc":        []string{actor + "/followers", owner},
		"object":    note,
	})
	return b
}

// signedPost is a POST signed ahead: signing is the sender's work (about
// 1 ms of RSA-2048 each), done on the sender's machine in real life, so it
// is kept out of the timed load.
type signedPost struct {
	url    string
	header http.Header
	body   []byte
}

// signActivities signs n activities to base's shared inbox, spread over
// the actors, in parallel.
func signActivities(actors []*remoteActor, base, owner, label string, n int) ([]*signedPost, error) {
	posts := make([]*signedPost, n)
	errs := make([]error, n)
	now := time.Now()
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				a := actors[i%len(actors)]
				body := inboundActivity(a.iri, a.iri+"/statuses/"+label+strconv.Itoa(i)+"/activity", owner, now)
				req, err := http.NewRequest(http.MethodPost, base+"/inbox", nil)
				if err != nil {
					errs[i] = err
					continue
				}
				req.Host = inboundDomain
				req.Header.Set("Content-Type", "application/activity+json")
				errs[i] = signBare(req, body, a.key, a.keyID)
				posts[i] = &signedPost{url: req.URL.String(), header: req.Header, body: body}
			}
		})
	}
	wg.Wait()
	return posts, errors.Join(errs...)
}

// send POSTs p and reads the whole answer.
func send(c *http.Client, p *signedPost) (int, error) {
	req, err := http.NewRequest(http.MethodPost, p.url, bytes.NewReader(p.body))
	if err != nil {
		return 0, err
	}
	req.Host = inboundDomain
	req.Header = p.header.Clone()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// senderClient is one sender: a kept-alive HTTP/1.1 connection over TLS,
// as Mastodon's delivery workers use, trusting the run's CA.
func senderClient(pki *testPKI) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			TLSClientConfig:     &tls.Config{RootCAs: pki.pool()},
			MaxIdleConnsPerHost: 1,
		},
	}
}

// waitHTTPS polls url (over TLS, Host inboundDomain) until it answers 200.
func waitHTTPS(ctx context.Context, c *http.Client, url string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Host = inboundDomain
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer 200 within %s: %v", url, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return fmt.Errorf("the server exited before answering %s", url)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// kithStored counts, in kith's database, the posts by the remote actors
// (under prefix) and the inbox rows still waiting or given up on.
func kithStored(ctx context.Context, path, prefix string) (stored, pending, failed int, err error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, 0, 0, err
	}
	defer db.Close()
	err = db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE processed_at IS NULL),
		count(*) FILTER (WHERE processed_at IS NOT NULL AND last_error != '') FROM inbox`).Scan(&pending, &failed)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("count kith's inbox: %w", err)
	}
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM posts WHERE author_iri >= ? AND author_iri < ?`,
		prefix, prefix+"\xff").Scan(&stored)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("count kith's posts: %w", err)
	}
	return stored, pending, failed, nil
}

// countRows runs a count query on the SQLite file at path.
func countRows(ctx context.Context, path, query string) (int, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, query).Scan(&n)
	return n, err
}

// seedTB lets storetest's seeders, written for benchmarks, fill a data
// directory here: their Fatal becomes a panic that seed turns back into an
// error. They call nothing else of testing.TB.
type seedTB struct{ testing.TB }

type seedFailure string

func (seedTB) Helper()                   {}
func (seedTB) Fatal(args ...any)         { panic(seedFailure(fmt.Sprint(args...))) }
func (seedTB) Fatalf(f string, a ...any) { panic(seedFailure(fmt.Sprintf(f, a...))) }

// seed runs fn with a seedTB.
func seed(fn func(tb testing.TB)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(seedFailure)
			if !ok {
				panic(r)
			}
			err = errors.New(string(f))
		}
	}()
	fn(seedTB{})
	return nil
}
