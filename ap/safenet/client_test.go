package safenet

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testServer is a loopback TLS server that counts what reaches it.
type testServer struct {
	*httptest.Server
	conns    atomic.Int64 // TCP connections accepted
	requests atomic.Int64

	mu         sync.Mutex
	paths      []string
	userAgents []string
}

func newTestServer(tb testing.TB, h http.HandlerFunc) *testServer {
	tb.Helper()
	ts := &testServer{}
	ts.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.requests.Add(1)
		ts.mu.Lock()
		ts.paths = append(ts.paths, r.URL.Path)
		ts.userAgents = append(ts.userAgents, r.Header.Get("User-Agent"))
		ts.mu.Unlock()
		h(w, r)
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			ts.conns.Add(1)
		}
	}
	ts.StartTLS()
	tb.Cleanup(ts.Close)
	return ts
}

// roots trusts the server's self-signed certificate (valid for 127.0.0.1,
// ::1 and example.com).
func (ts *testServer) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return pool
}

func (ts *testServer) seenPaths() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.paths...)
}

func ok(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

// routeTo makes c dial addr whenever it would dial host, as if DNS answered
// host with addr's IP. The dial guard still runs on addr.
func routeTo(c *http.Client, host, addr string) {
	tr := c.Transport.(*transport).base
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
		if a == host {
			a = addr
		}
		return dial(ctx, network, a)
	}
}

// get fetches rawURL and returns the body; the response is always closed.
func get(tb testing.TB, c *http.Client, rawURL string) (int, string, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := ReadAll(resp.Body, 1<<20)
	return resp.StatusCode, string(body), err
}

func TestNewClientDefaults(t *testing.T) {
	c := NewClient(Options{})
	tr := c.Transport.(*transport).base
	if c.Timeout != 0 {
		t.Errorf("Timeout = %v; want 0 (callers set per-request deadlines)", c.Timeout)
	}
	if tr.Proxy != nil {
		t.Error("Proxy is set; want nil")
	}
	if tr.DisableKeepAlives {
		t.Error("DisableKeepAlives = true; want false")
	}
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"MaxIdleConns", tr.MaxIdleConns, 1024},
		{"MaxIdleConnsPerHost", tr.MaxIdleConnsPerHost, 4},
		{"TLSHandshakeTimeout", tr.TLSHandshakeTimeout, 10 * time.Second},
		{"ResponseHeaderTimeout", tr.ResponseHeaderTimeout, 30 * time.Second},
	} {
		if f.got != f.want {
			t.Errorf("%s = %v; want %v", f.name, f.got, f.want)
		}
	}

	c = NewClient(Options{MaxIdleConns: 5000, MaxIdleConnsPerHost: 2, TLSHandshakeTimeout: time.Second, ResponseHeaderTimeout: 2 * time.Second})
	tr = c.Transport.(*transport).base
	if tr.MaxIdleConns != 5000 || tr.MaxIdleConnsPerHost != 2 || tr.TLSHandshakeTimeout != time.Second || tr.ResponseHeaderTimeout != 2*time.Second {
		t.Errorf("got %d, %d, %v, %v; want 5000, 2, 1s, 2s", tr.MaxIdleConns, tr.MaxIdleConnsPerHost, tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout)
	}
}

func TestClientGuard(t *testing.T) {
	ts := newTestServer(t, ok)
	srvURL, _ := url.Parse(ts.URL)

	t.Run("loopback refused", func(t *testing.T) {
		c := NewClient(Options{RootCAs: ts.roots()})
		_, _, err := get(t, c, ts.URL)
		var be *BlockedError
		if !errors.As(err, &be) {
			t.Fatalf("got %v; want a *BlockedError", err)
		}
		if got := ts.requests.Load(); got != 0 {
			t.Errorf("server saw %d requests; want 0", got)
		}
		if got := ts.conns.Load(); got != 0 {
			t.Errorf("server accepted %d connections; want 0", got)
		}
	})

	t.Run("name resolving to loopback refused at dial", func(t *testing.T) {
		// The URL names a public host, so only the dial guard stands
		// between it and the loopback server (DNS rebinding).
		c := NewClient(Options{RootCAs: ts.roots()})
		routeTo(c, "example.com:443", srvURL.Host)
		_, _, err := get(t, c, "https://example.com/")
		var be *BlockedError
		if !errors.As(err, &be) {
			t.Fatalf("got %v; want a *BlockedError", err)
		}
		if be.Addr != srvURL.Host || be.Reason != "a loopback address" {
			t.Errorf("got Addr %q, Reason %q; want %q, %q", be.Addr, be.Reason, srvURL.Host, "a loopback address")
		}
		if got := ts.conns.Load(); got != 0 {
			t.Errorf("server accepted %d connections; want 0", got)
		}
	})

	t.Run("transport alone refuses loopback", func(t *testing.T) {
		// Bypass the URL check to prove the dialer itself carries the guard.
		c := NewClient(Options{RootCAs: ts.roots()})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.URL, nil)
		resp, err := c.Transport.(*transport).base.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		var be *BlockedError
		if !errors.As(err, &be) {
			t.Fatalf("got %v; want a *BlockedError", err)
		}
		if got := ts.conns.Load(); got != 0 {
			t.Errorf("server accepted %d connections; want 0", got)
		}
	})

	t.Run("allowed with AllowPrivate", func(t *testing.T) {
		c := NewClient(Options{AllowPrivate: true, RootCAs: ts.roots()})
		status, body, err := get(t, c, ts.URL)
		if err != nil || status != http.StatusOK || body != "ok" {
			t.Fatalf("got %d %q %v; want 200 \"ok\" <nil>", status, body, err)
		}
		// Also through a name, as a LAN setup would use it.
		routeTo(c, "example.com:443", srvURL.Host)
		status, body, err = get(t, c, "https://example.com/")
		if err != nil || status != http.StatusOK || body != "ok" {
			t.Fatalf("got %d %q %v; want 200 \"ok\" <nil>", status, body, err)
		}
	})

	t.Run("RootCAs are used", func(t *testing.T) {
		c := NewClient(Options{AllowPrivate: true})
		_, _, err := get(t, c, ts.URL)
		var uerr x509.UnknownAuthorityError
		if !errors.As(err, &uerr) {
			t.Fatalf("got %v; want x509.UnknownAuthorityError", err)
		}
	})
}

func TestUserAgent(t *testing.T) {
	ts := newTestServer(t, ok)
	c := NewClient(Options{AllowPrivate: true, RootCAs: ts.roots(), UserAgent: "kith/test (+https://kith.example/)"})
	for _, tt := range []struct {
		name, set, want string
	}{
		{"none set", "", "kith/test (+https://kith.example/)"},
		{"caller's kept", "other/1.0", "other/1.0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.URL, nil)
			if tt.set != "" {
				req.Header.Set("User-Agent", tt.set)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			ts.mu.Lock()
			got := ts.userAgents[len(ts.userAgents)-1]
			ts.mu.Unlock()
			if got != tt.want {
				t.Errorf("server saw User-Agent %q; want %q", got, tt.want)
			}
			if got := req.Header.Get("User-Agent"); got != tt.set {
				t.Errorf("caller's request now has User-Agent %q; want %q", got, tt.set)
			}
		})
	}
}

func TestRedirects(t *testing.T) {
	// /r/N redirects to /r/N-1; /r/0 answers. /file redirects off the web.
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/file" {
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
			return
		}
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/r/"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if n > 0 {
			http.Redirect(w, r, fmt.Sprintf("/r/%d", n-1), http.StatusFound)
			return
		}
		io.WriteString(w, "done")
	})
	tests := []struct {
		name         string
		maxRedirects int
		start        int
		wantErr      bool
		wantPaths    int // requests the server saw
	}{
		{"5 hops, max 3", 3, 5, true, 4},
		{"4 hops, max 3", 3, 4, true, 4},
		{"3 hops, max 3", 3, 3, false, 4},
		{"4 hops, default", 0, 4, true, 4},
		{"3 hops, default", 0, 3, false, 4},
		{"no redirect", 3, 0, false, 1},
		{"1 hop, none allowed", -1, 1, true, 1},
		{"5 hops, max 5", 5, 5, false, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(ts.seenPaths())
			c := NewClient(Options{AllowPrivate: true, RootCAs: ts.roots(), MaxRedirects: tt.maxRedirects})
			status, body, err := get(t, c, fmt.Sprintf("%s/r/%d", ts.URL, tt.start))
			paths := ts.seenPaths()[before:]
			if len(paths) != tt.wantPaths {
				t.Errorf("server saw %v; want %d requests", paths, tt.wantPaths)
			}
			if tt.wantErr {
				if !errors.Is(err, ErrTooManyRedirects) {
					t.Fatalf("got %d %q %v; want ErrTooManyRedirects", status, body, err)
				}
				return
			}
			if err != nil || status != http.StatusOK || body != "done" {
				t.Fatalf("got %d %q %v; want 200 \"done\" <nil>", status, body, err)
			}
		})
	}

	t.Run("to file:// even with AllowPrivate", func(t *testing.T) {
		c := NewClient(Options{AllowPrivate: true, RootCAs: ts.roots()})
		_, _, err := get(t, c, ts.URL+"/file")
		var be *BlockedError
		if !errors.As(err, &be) {
			t.Fatalf("got %v; want a *BlockedError", err)
		}
	})
}

func TestCheckRedirect(t *testing.T) {
	// Every test server is loopback, so hops the guard refuses when
	// AllowPrivate is false are checked with requests built here.
	tests := []struct {
		name         string
		allowPrivate bool
		target       string
		wantErr      bool
	}{
		{"https public", false, "https://example.com/users/alice", false},
		{"to http", false, "http://example.com/users/alice", true},
		{"to http with AllowPrivate", true, "http://example.com/users/alice", false},
		{"to file", false, "file:///etc/passwd", true},
		{"to file with AllowPrivate", true, "file:///etc/passwd", true},
		{"to loopback", false, "https://127.0.0.1/", true},
		{"to metadata service", false, "https://169.254.169.254/latest/meta-data/", true},
		{"to localhost", false, "https://localhost/", true},
		{"to userinfo", false, "https://a@example.com/", true},
	}
	first, _ := http.NewRequest(http.MethodGet, "https://example.com/start", nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClient(Options{AllowPrivate: tt.allowPrivate})
			req, err := http.NewRequest(http.MethodGet, tt.target, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = c.CheckRedirect(req, []*http.Request{first})
			var be *BlockedError
			if got := errors.As(err, &be); got != tt.wantErr {
				t.Errorf("CheckRedirect(%s) = %v; want a *BlockedError: %v", tt.target, err, tt.wantErr)
			}
		})
	}
}

func TestConnectionReuse(t *testing.T) {
	ts := newTestServer(t, ok)
	c := NewClient(Options{AllowPrivate: true, RootCAs: ts.roots()})
	for range 20 {
		status, body, err := get(t, c, ts.URL)
		if err != nil || status != http.StatusOK || body != "ok" {
			t.Fatalf("got %d %q %v; want 200 \"ok\" <nil>", status, body, err)
		}
	}
	if got := ts.requests.Load(); got != 20 {
		t.Errorf("server saw %d requests; want 20", got)
	}
	if got := ts.conns.Load(); got != 1 {
		t.Errorf("server accepted %d connections; want 1", got)
	}
}

func TestNoProxy(t *testing.T) {
	// net/http reads the proxy variables once per process, and other tests
	// have made requests by now, so the check runs in a fresh process that
	// starts with the variables set.
	const child = "SAFENET_TEST_NO_PROXY_CHILD"
	if os.Getenv(child) == "" {
		// A port nothing listens on: a request sent through it would fail.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		proxy := "http://" + ln.Addr().String()
		ln.Close()
		for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"} {
			t.Setenv(k, proxy)
		}
		t.Setenv("NO_PROXY", "")
		t.Setenv("no_proxy", "")
		t.Setenv(child, "1")
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestNoProxy$", "-test.v").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestNoProxy") {
			t.Fatalf("child test: %v\n%s", err, out)
		}
		return
	}

	ts := newTestServer(t, ok)
	srvURL, _ := url.Parse(ts.URL)
	c := NewClient(Options{AllowPrivate: true, RootCAs: ts.roots()})
	// A name, not 127.0.0.1: Go's proxy rules never proxy loopback literals,
	// which would make this test pass whatever the client did.
	routeTo(c, "example.com:443", srvURL.Host)
	status, body, err := get(t, c, "https://example.com/")
	if err != nil || status != http.StatusOK || body != "ok" {
		t.Fatalf("got %d %q %v; want 200 \"ok\" <nil>", status, body, err)
	}
	if got := ts.requests.Load(); got != 1 {
		t.Errorf("server saw %d requests; want 1", got)
	}
}
