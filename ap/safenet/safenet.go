// Package safenet is the one HTTP client kith uses for everything remote:
// fetching actors, keys and posts, WebFinger, and delivering activities.
// It refuses to reach loopback, private, link-local and other non-public
// addresses, so a remote server cannot point kith at its own host or LAN
// (server-side request forgery).
//
// The address check happens at dial time, in net.Dialer.Control, and not by
// resolving the name first and then connecting. Resolving first leaves a gap
// between the check and the connection: the transport resolves the name
// again, and a hostile DNS server can answer the check with a public address
// and the connection with 127.0.0.1 (DNS rebinding), or hand out several
// addresses of which only the first was checked. Control runs once per
// connection attempt, after resolution, with the exact IP the socket is about
// to connect to, so every address tried (Happy Eyeballs fallbacks and each
// redirect hop included) is checked and no resolver answer is trusted.
// Environment proxies are never used: through a proxy the dialed address is
// the proxy's, and the guard would never see the real destination.
//
// URLs are checked too (CheckURL), on the first request and on every
// redirect, so that schemes, user info and names that can only be local are
// refused before any DNS query leaves the machine.
package safenet

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Options configures NewClient. The zero value is the production setting.
type Options struct {
	// AllowPrivate also lets the client reach loopback, private, link-local
	// and other non-public addresses, and plain http:// URLs. It is for tests
	// and LAN setups (the --allow-private-networks flag).
	AllowPrivate bool
	// RootCAs are the trusted roots; nil means the system roots. Go honours
	// SSL_CERT_FILE, which is how a test CA is trusted from outside.
	RootCAs *x509.CertPool
	// UserAgent is set on every request that has none.
	UserAgent string
	// MaxRedirects is how many redirect hops are followed: 0 means 3, and a
	// negative value follows none.
	MaxRedirects int
	// MaxIdleConns caps idle connections over all hosts; 0 means 1024. It
	// must be at least the number of hosts in a delivery fan-out, or the pool
	// drops connections it is about to need and every delivery pays a new
	// TLS handshake (perf.md §1e: ~40% more CPU per delivery).
	MaxIdleConns int
	// MaxIdleConnsPerHost caps idle connections per host; 0 means 4.
	MaxIdleConnsPerHost int
	// DialTimeout, TLSHandshakeTimeout and ResponseHeaderTimeout bound the
	// phases of a request; 0 means 10s, 10s and 30s. The whole request is
	// bounded by the caller's context deadline.
	DialTimeout, TLSHandshakeTimeout, ResponseHeaderTimeout time.Duration
}

// maxResponseHeaderBytes is far above what any fediverse server sends, and
// far below the 10 MB net/http would otherwise buffer for a hostile server.
const maxResponseHeaderBytes = 256 << 10

func (o Options) withDefaults() Options {
	if o.MaxRedirects == 0 {
		o.MaxRedirects = 3
	}
	if o.MaxIdleConns <= 0 {
		o.MaxIdleConns = 1024
	}
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = 4
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.TLSHandshakeTimeout <= 0 {
		o.TLSHandshakeTimeout = 10 * time.Second
	}
	if o.ResponseHeaderTimeout <= 0 {
		o.ResponseHeaderTimeout = 30 * time.Second
	}
	return o
}

// ErrTooManyRedirects is returned (wrapped in the *url.Error from
// client.Do) when a response redirects more often than MaxRedirects allows.
var ErrTooManyRedirects = errors.New("safenet: too many redirects")

// NewClient returns an *http.Client whose transport refuses, at dial time,
// every address that blockReason rejects, unless o.AllowPrivate; that never uses
// an environment proxy; that sets User-Agent; that keeps connections alive;
// and whose CheckRedirect follows at most o.MaxRedirects hops and checks each
// new URL with CheckURL. Every request URL is checked with CheckURL as well,
// so a caller that forgot to check is still safe.
//
// The client has no overall Timeout: callers pass a context deadline per
// request, because a fetch of an actor and a delivery need different ones.
func NewClient(o Options) *http.Client {
	o = o.withDefaults()
	dialer := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		dialer.Control = dialControl
	}
	base := &http.Transport{
		Proxy:                  nil, // a proxy would dial on our behalf, out of the guard's sight
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: o.RootCAs},
		TLSHandshakeTimeout:    o.TLSHandshakeTimeout,
		ResponseHeaderTimeout:  o.ResponseHeaderTimeout,
		ExpectContinueTimeout:  1 * time.Second,
		MaxIdleConns:           o.MaxIdleConns,
		MaxIdleConnsPerHost:    o.MaxIdleConnsPerHost,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		// A custom DialContext and TLS config turn HTTP/2 off unless asked
		// for; servers behind nginx or Caddy speak it, and one multiplexed
		// connection per host suits a fan-out.
		ForceAttemptHTTP2: true,
	}
	return &http.Client{
		Transport:     &transport{base: base, userAgent: o.UserAgent, allowPrivate: o.AllowPrivate},
		CheckRedirect: checkRedirect(o.MaxRedirects, o.AllowPrivate),
	}
}

// transport checks each request's URL and fills in the User-Agent before
// handing the request to the pooled *http.Transport.
type transport struct {
	base         *http.Transport
	userAgent    string
	allowPrivate bool
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := CheckURL(req.URL, t.allowPrivate); err != nil {
		// A RoundTripper must close the body, even on error.
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if t.userAgent != "" && req.Header.Get("User-Agent") == "" {
		// A RoundTripper must not modify the caller's request.
		req = req.Clone(req.Context())
		if req.Header == nil {
			req.Header = make(http.Header)
		}
		req.Header.Set("User-Agent", t.userAgent)
	}
	return t.base.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the pool.
func (t *transport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// checkRedirect limits the hops and re-checks each new URL, because the
// Location header is as untrusted as the body.
func checkRedirect(max int, allowPrivate bool) func(*http.Request, []*http.Request) error {
	if max < 0 {
		max = 0
	}
	return func(req *http.Request, via []*http.Request) error {
		// via holds the requests already made, so len(via) is this hop's number.
		if len(via) > max {
			return fmt.Errorf("%w: stopped after %d", ErrTooManyRedirects, max)
		}
		return CheckURL(req.URL, allowPrivate)
	}
}
