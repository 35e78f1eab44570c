// Package aptest helps test kith's federation: fixed RSA keys, a fake
// remote server that checks kith's signatures with its own code, and a kith
// instance on a fresh database behind a loopback TLS server.
//
// Everything runs on loopback; nothing here reaches the internet.
package aptest

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/safenet"
	"kith/ap/sig"
	"kith/store"
	"kith/store/storetest"
)

//go:embed testdata/*.pem
var keyFiles embed.FS

// Key returns the fixed test key name ("kith", "kith-instance", "remote",
// "remote2", "other"). Fixed keys keep signatures and golden files
// reproducible and spare each test a key generation.
func Key(tb testing.TB, name string) *rsa.PrivateKey {
	tb.Helper()
	k, err := ap.ParsePrivateKey(KeyPEM(tb, name))
	if err != nil {
		tb.Fatalf("test key %s: %v", name, err)
	}
	return k
}

// KeyPEM returns the PEM of the fixed test key name.
func KeyPEM(tb testing.TB, name string) string {
	tb.Helper()
	b, err := keyFiles.ReadFile("testdata/" + name + ".pem")
	if err != nil {
		tb.Fatalf("test key %s: %v", name, err)
	}
	return string(b)
}

// PublicPEM returns the PKIX PEM of k's public half.
func PublicPEM(tb testing.TB, k *rsa.PrivateKey) string {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// CertPool trusts the certificate every httptest TLS server uses.
func CertPool(srv *httptest.Server) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return pool
}

// Client returns kith's guarded HTTP client, allowed onto loopback and
// trusting the httptest certificate.
func Client(srv *httptest.Server) *http.Client {
	return safenet.NewClient(safenet.Options{AllowPrivate: true, RootCAs: CertPool(srv), UserAgent: "kith-test"})
}

// Instance is a kith ActivityPub service on a fresh database, served by a
// loopback TLS server at https://127.0.0.1:PORT with the account "me".
type Instance struct {
	Service *ap.Service
	DB      *store.DB
	Server  *httptest.Server
	URLs    ap.URLs

	setHandler func(http.Handler)
}

// Serve replaces what the instance's server answers with, e.g. the
// federation endpoints and the pages together, as kith serves them.
func (inst *Instance) Serve(h http.Handler) { inst.setHandler(h) }

// InstanceOptions tunes NewInstance.
type InstanceOptions struct {
	Username string // "me" by default
	Locked   bool
	Now      func() time.Time
	NewID    func(time.Time) string
	Delivery ap.DeliveryOptions
	Threads  ap.ThreadLimits
	// MediaCache caps the remote image cache (zero: ap.DefaultMediaCache).
	MediaCache int64
	// Handler wraps the service's handler, e.g. to add web pages.
	Handler func(svc *ap.Service, fed http.Handler) http.Handler
	// DBPath reopens an existing database file instead of a fresh one.
	DBPath string
	// DB opens the fresh database with these options (a Fault hook).
	DB store.Options
	// Logger replaces the test log (fuzz targets may not log through F).
	Logger *slog.Logger
}

// NewInstance starts a kith instance for the test and stops it at cleanup.
func NewInstance(tb testing.TB, o InstanceOptions) *Instance {
	tb.Helper()
	if o.Username == "" {
		o.Username = "me"
	}
	srv, setHandler := NewLateServer()
	var db *store.DB
	if o.DBPath != "" {
		db = storetest.OpenAt(tb, o.DBPath)
	} else {
		db = storetest.OpenWith(tb, o.DB)
	}
	domain := srv.Listener.Addr().String()
	ctx := context.Background()
	if acct, err := db.Account(ctx); errors.Is(err, store.ErrNotFound) {
		priv := KeyPEM(tb, "kith")
		ipriv := KeyPEM(tb, "kith-instance")
		acct := &store.Account{
			Domain:                domain,
			Username:              o.Username,
			Locked:                o.Locked,
			PrivateKeyPEM:         priv,
			PublicKeyPEM:          PublicPEM(tb, Key(tb, "kith")),
			InstancePrivateKeyPEM: ipriv,
			InstancePublicKeyPEM:  PublicPEM(tb, Key(tb, "kith-instance")),
			CreatedAt:             time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC),
		}
		if err := db.CreateAccount(ctx, acct); err != nil {
			tb.Fatal(err)
		}
	} else if err != nil {
		tb.Fatal(err)
	} else if acct.Domain != domain {
		// A reopened database from an earlier listener: keep its domain by
		// listening on the same port again.
		srv.Listener.Close()
		ln, err := netListen(acct.Domain)
		if err != nil {
			tb.Fatalf("relisten on %s: %v", acct.Domain, err)
		}
		srv.Listener = ln
		domain = acct.Domain
	}
	urls := ap.NewURLs(domain, o.Username).WithScheme("https")
	srv.StartTLS()
	tb.Cleanup(srv.Close)
	svc, err := ap.New(ctx, ap.Config{
		URLs:         urls,
		DB:           db,
		Client:       Client(srv),
		AllowPrivate: true,
		Now:          o.Now,
		NewID:        o.NewID,
		Version:      "test",
		Delivery:     o.Delivery,
		Threads:      o.Threads,
		MediaCache:   o.MediaCache,
		Logger:       cmp.Or(o.Logger, Logger(tb)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	h := svc.Handler()
	if o.Handler != nil {
		h = o.Handler(svc, h)
	}
	setHandler(h)
	return &Instance{Service: svc, DB: db, Server: srv, URLs: urls, setHandler: setHandler}
}

// NewLateServer returns an unstarted httptest server whose handler is set
// later with the returned function: a kith instance needs its address
// before its handler exists. Until then the server answers 503. The
// indirection is atomic, so setting the handler races with nothing.
func NewLateServer() (*httptest.Server, func(http.Handler)) {
	var handler atomic.Pointer[http.Handler]
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := handler.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	return srv, func(h http.Handler) { handler.Store(&h) }
}

// Received is one request a Remote's inbox got.
type Received struct {
	Path      string
	Header    http.Header
	Body      []byte
	Activity  map[string]any
	KeyID     string
	VerifyErr error // nil when the signature checked out
}

// Type is the activity's type.
func (r Received) Type() string { s, _ := r.Activity["type"].(string); return s }

// RemoteActor is an account on a Remote.
type RemoteActor struct {
	Name  string
	IRI   string
	KeyID string
	Key   *rsa.PrivateKey
	Inbox string
	// Extra holds properties added to (or replacing) those of the
	// document: icon, image, attachment, manuallyApprovesFollowers. Set
	// it before the actor is fetched.
	Extra  map[string]any
	remote *Remote
}

// Remote is a fake Mastodon-like server: WebFinger, actors with keys, a
// shared inbox (unless disabled) and personal inboxes that record every
// POST and check its signature independently of kith's code.
type Remote struct {
	Server      *httptest.Server
	Host        string
	Base        string
	SharedInbox bool
	Client      *http.Client

	mu       sync.Mutex
	actors   map[string]*RemoteActor
	received []Received
	gets     []string // paths of every GET, in order
	status   func(r *http.Request) int
	rfc9421  bool                      // takes RFC 9421 signatures; else answers them 401
	knocks   int                       // RFC 9421 POSTs refused
	header   http.Header               // added to every inbox answer
	docs     map[string]any            // path -> document served as activity+json
	keys     map[string]*rsa.PublicKey // keyId -> key, fetched once
}

// NewRemote starts a fake remote server; sharedInbox says whether its
// actors advertise a shared inbox.
func NewRemote(tb testing.TB, sharedInbox bool) *Remote {
	tb.Helper()
	r := &Remote{SharedInbox: sharedInbox, actors: map[string]*RemoteActor{}, keys: map[string]*rsa.PublicKey{}}
	r.Server = httptest.NewTLSServer(http.HandlerFunc(r.serve))
	tb.Cleanup(r.Server.Close)
	r.Host = strings.TrimPrefix(r.Server.URL, "https://")
	r.Base = r.Server.URL
	r.Client = r.Server.Client()
	return r
}

// SetInboxStatus makes the inboxes answer with f's status (202 when nil).
func (r *Remote) SetInboxStatus(f func(*http.Request) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = f
}

// AcceptRFC9421 makes the inboxes take RFC 9421 signatures (checked with
// kith's sig package) instead of answering them 401.
func (r *Remote) AcceptRFC9421(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rfc9421 = on
}

// Knocks counts the RFC 9421 POSTs the inboxes refused.
func (r *Remote) Knocks() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.knocks
}

// SetInboxHeader adds a header to every inbox answer (Retry-After, say).
func (r *Remote) SetInboxHeader(key, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set(key, value)
}

// AddActor creates an account name signing with key.
func (r *Remote) AddActor(name string, key *rsa.PrivateKey) *RemoteActor {
	a := &RemoteActor{
		Name:   name,
		IRI:    r.Base + "/users/" + name,
		KeyID:  r.Base + "/users/" + name + "#main-key",
		Key:    key,
		Inbox:  r.Base + "/users/" + name + "/inbox",
		remote: r,
	}
	r.mu.Lock()
	r.actors[name] = a
	r.mu.Unlock()
	return a
}

// Document is the actor's ActivityPub document, Mastodon style.
func (a *RemoteActor) Document() map[string]any {
	der, _ := x509.MarshalPKIXPublicKey(&a.Key.PublicKey)
	doc := map[string]any{
		"@context":          []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":                a.IRI,
		"type":              "Person",
		"preferredUsername": a.Name,
		"name":              strings.ToUpper(a.Name[:1]) + a.Name[1:],
		"summary":           "<p>Test account <script>alert(1)</script></p>",
		"url":               a.remote.Base + "/@" + a.Name,
		"inbox":             a.Inbox,
		"outbox":            a.IRI + "/outbox",
		"followers":         a.IRI + "/followers",
		"following":         a.IRI + "/following",
		"publicKey": map[string]any{
			"id":           a.KeyID,
			"owner":        a.IRI,
			"publicKeyPem": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		},
	}
	if a.remote.SharedInbox {
		doc["endpoints"] = map[string]any{"sharedInbox": a.remote.Base + "/inbox"}
	}
	for k, v := range a.Extra {
		doc[k] = v
	}
	return doc
}

// SetDocument serves doc as activity+json at path (an outbox, a
// collection, a post), ahead of the actors.
func (r *Remote) SetDocument(path string, doc any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.docs == nil {
		r.docs = map[string]any{}
	}
	r.docs[path] = doc
}

func (r *Remote) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	if req.Method == http.MethodGet {
		r.gets = append(r.gets, req.URL.Path)
	}
	doc, ok := r.docs[req.URL.Path]
	r.mu.Unlock()
	if ok && req.Method == http.MethodGet {
		w.Header().Set("Content-Type", "application/activity+json")
		json.NewEncoder(w).Encode(doc)
		return
	}
	switch {
	case req.Method == http.MethodGet && req.URL.Path == "/.well-known/webfinger":
		res := strings.TrimPrefix(req.URL.Query().Get("resource"), "acct:")
		name, _, _ := strings.Cut(res, "@")
		r.mu.Lock()
		a := r.actors[name]
		r.mu.Unlock()
		if a == nil {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "application/jrd+json")
		json.NewEncoder(w).Encode(map[string]any{
			"subject": "acct:" + name + "@" + r.Host,
			"links":   []any{map[string]any{"rel": "self", "type": "application/activity+json", "href": a.IRI}},
		})
	case req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, "/users/"):
		r.mu.Lock()
		a := r.actors[strings.TrimPrefix(req.URL.Path, "/users/")]
		r.mu.Unlock()
		if a == nil {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "application/activity+json")
		json.NewEncoder(w).Encode(a.Document())
	case req.Method == http.MethodPost && (req.URL.Path == "/inbox" || strings.HasSuffix(req.URL.Path, "/inbox")):
		body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if req.Header.Get("Signature-Input") != "" {
			// Like most servers today, a remote takes only cavage
			// signatures unless told otherwise: kith knocks again.
			r.mu.Lock()
			accept := r.rfc9421
			if !accept {
				r.knocks++
			}
			r.mu.Unlock()
			if !accept {
				http.Error(w, "unsupported signature", http.StatusUnauthorized)
				return
			}
		}
		rec := Received{Path: req.URL.Path, Header: req.Header.Clone(), Body: body}
		json.Unmarshal(body, &rec.Activity)
		rec.KeyID, rec.VerifyErr = r.verify(req, body)
		r.mu.Lock()
		r.received = append(r.received, rec)
		status := r.status
		for k, v := range r.header {
			w.Header()[k] = v
		}
		r.mu.Unlock()
		code := http.StatusAccepted
		if status != nil {
			code = status(req)
		}
		w.WriteHeader(code)
	default:
		http.NotFound(w, req)
	}
}

// Gets returns the paths of every GET the server answered so far: what
// the instance fetched.
func (r *Remote) Gets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.gets...)
}

// Received returns a copy of everything the inboxes got so far.
func (r *Remote) Received() []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Received(nil), r.received...)
}

// verify checks a request's signature the way a strict Mastodon-like peer
// would, written from the draft-cavage text and not from kith's code: the
// label must be rsa-sha256, (request-target) host date digest must be
// signed, the Digest must match, and the RSA signature must verify against
// the key fetched from the keyId URL.
func (r *Remote) verify(req *http.Request, body []byte) (string, error) {
	if req.Header.Get("Signature-Input") != "" {
		p, err := sig.Check(req, body, time.Now())
		if err != nil {
			return p.KeyID, err
		}
		pub, err := r.publicKey(p.KeyID)
		if err != nil {
			return p.KeyID, err
		}
		return p.KeyID, sig.Verify(req, p, pub)
	}
	params := map[string]string{}
	for _, part := range strings.Split(req.Header.Get("Signature"), ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return "", fmt.Errorf("malformed Signature parameter %q", part)
		}
		if strings.HasPrefix(k, " ") {
			return "", errors.New("space after a comma in the Signature header")
		}
		params[k] = strings.Trim(v, `"`)
	}
	keyID := params["keyId"]
	if params["algorithm"] != "rsa-sha256" {
		return keyID, fmt.Errorf("algorithm %q, want rsa-sha256", params["algorithm"])
	}
	headers := strings.Fields(params["headers"])
	for _, need := range []string{"(request-target)", "host", "date", "digest"} {
		if !contains(headers, need) {
			return keyID, fmt.Errorf("%s is not signed", need)
		}
	}
	sum := sha256.Sum256(body)
	if want := "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:]); req.Header.Get("Digest") != want {
		return keyID, fmt.Errorf("Digest %q, body hashes to %q", req.Header.Get("Digest"), want)
	}
	date, err := http.ParseTime(req.Header.Get("Date"))
	if err != nil || time.Since(date).Abs() > 5*time.Minute {
		return keyID, fmt.Errorf("Date %q is not within 5 minutes", req.Header.Get("Date"))
	}
	var lines []string
	for _, h := range headers {
		switch h {
		case "(request-target)":
			lines = append(lines, "(request-target): "+strings.ToLower(req.Method)+" "+req.URL.RequestURI())
		case "host":
			lines = append(lines, "host: "+req.Host)
		default:
			lines = append(lines, h+": "+req.Header.Get(h))
		}
	}
	sigBytes, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil {
		return keyID, err
	}
	pub, err := r.publicKey(keyID)
	if err != nil {
		return keyID, err
	}
	hashed := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return keyID, rsa.VerifyPKCS1v15(pub, crypto.SHA256, hashed[:], sigBytes)
}

// publicKey fetches keyId's document (kith's actor) and reads its key.
func (r *Remote) publicKey(keyID string) (*rsa.PublicKey, error) {
	r.mu.Lock()
	k := r.keys[keyID]
	r.mu.Unlock()
	if k != nil {
		return k, nil
	}
	req, _ := http.NewRequest(http.MethodGet, strings.SplitN(keyID, "#", 2)[0], nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := r.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var doc struct {
		PublicKey struct {
			ID           string `json:"id"`
			PublicKeyPem string `json:"publicKeyPem"`
		} `json:"publicKey"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, fmt.Errorf("key document %s: %w", keyID, err)
	}
	if doc.PublicKey.ID != keyID {
		return nil, fmt.Errorf("key document lists %q, not %q", doc.PublicKey.ID, keyID)
	}
	block, _ := pem.Decode([]byte(doc.PublicKey.PublicKeyPem))
	if block == nil {
		return nil, errors.New("no PEM in the key document")
	}
	pk, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := pk.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	r.mu.Lock()
	r.keys[keyID] = rk
	r.mu.Unlock()
	return rk, nil
}

// Post signs body as a and POSTs it to url, as a remote server delivering
// an activity would. client must trust url's server.
func (a *RemoteActor) Post(tb testing.TB, client *http.Client, url string, body []byte) *http.Response {
	tb.Helper()
	req := a.NewPost(tb, url, body, time.Now())
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatalf("POST %s: %v", url, err)
	}
	tb.Cleanup(func() { resp.Body.Close() })
	return resp
}

// NewPost builds the signed POST of body to url at time now.
func (a *RemoteActor) NewPost(tb testing.TB, url string, body []byte, now time.Time) *http.Request {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/activity+json")
	if err := (sig.Signer{KeyID: a.KeyID, Key: a.Key}).Sign(req, body, now); err != nil {
		tb.Fatal(err)
	}
	return req
}

// JSON encodes v for a test body.
func JSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func netListen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

// Logger writes the code's logs into the test's output, shown when a test
// fails or with -v.
func Logger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{tb: tb}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// LoggerFunc is Logger that also hands each line to f, for tests that
// check what was logged.
func LoggerFunc(tb testing.TB, f func(line string)) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{tb, f}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tbWriter struct {
	tb testing.TB
	f  func(string) // nil, or LoggerFunc's
}

func (w tbWriter) Write(p []byte) (int, error) {
	line := strings.TrimRight(string(p), "\n")
	w.tb.Log(line)
	if w.f != nil {
		w.f(line)
	}
	return len(p), nil
}

// Clock is a settable clock for tests that need time to pass without
// waiting: retries falling due, Dates going stale.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now reports the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Sequence returns an id generator giving id-1, id-2, …, for golden files.
func Sequence(prefix string) func(time.Time) string {
	var mu sync.Mutex
	n := 0
	return func(time.Time) string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("%s%d", prefix, n)
	}
}

// Close stops the instance's server and closes its database, as a
// process exit would; tests that simulate a restart call it before
// reopening the same file.
func (inst *Instance) Close() {
	inst.Server.Close()
	inst.DB.Close()
}

// Golden compares got, a JSON document, with testdata/golden/name after
// replacing each old string in replace (old, new pairs) and indenting it.
// With update set it rewrites the file instead.
func Golden(tb testing.TB, update bool, name string, got []byte, replace ...string) {
	tb.Helper()
	s := string(got)
	for i := 0; i+1 < len(replace); i += 2 {
		s = strings.ReplaceAll(s, replace[i], replace[i+1])
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(s), "", "  "); err != nil {
		tb.Fatalf("golden %s: not JSON: %v\n%s", name, err, s)
	}
	buf.WriteByte('\n')
	path := "testdata/golden/" + name
	if update {
		if err := os.MkdirAll("testdata/golden", 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("golden %s: %v (run the test with -update to create it)", name, err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		tb.Errorf("%s differs from its golden file (run with -update if the change is intended):\n--- got\n%s\n--- want\n%s", name, buf.String(), want)
	}
}

// Sign signs req (a GET when body is nil) as a, at time now.
func (a *RemoteActor) Sign(tb testing.TB, req *http.Request, body []byte, now time.Time) {
	tb.Helper()
	if err := (sig.Signer{KeyID: a.KeyID, Key: a.Key}).Sign(req, body, now); err != nil {
		tb.Fatal(err)
	}
}
