package sig

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
)

// Signer signs outgoing requests with one RSA key. It is safe for concurrent
// use: every call builds its own go-fed signer, since those are not.
type Signer struct {
	KeyID string // e.g. https://example.com/users/me#main-key
	Key   *rsa.PrivateKey
}

// Sign signs r for sending, setting Date (from now), a Host header field,
// Digest (SHA-256, RFC 3230 form) when body is not nil, and Signature.
// It replaces any Digest or Signature already set, so a retry can sign the
// same request again with a fresh Date. The caller still sets r.Body.
//
// Without a body it signs "(request-target) host date"; with one,
// "(request-target) host date digest" plus content-type when r has one, which
// is what Mastodon sends. (request-target) covers the escaped path as sent
// and the query string. The header says algorithm="rsa-sha256", never go-fed's
// "hs2019", and has no space after commas, for the strict parsers of PeerTube
// and snac.
func (s Signer) Sign(r *http.Request, body []byte, now time.Time) error {
	if s.Key == nil {
		return errors.New("sig: Signer has no key")
	}
	// go-fed writes the keyId unescaped between quotes, and most receivers
	// split on ','; either character would garble the header.
	if s.KeyID == "" || strings.ContainsAny(s.KeyID, "\",\\") {
		return fmt.Errorf("sig: unusable keyId %q", s.KeyID)
	}
	host := r.URL.Host
	if host == "" {
		return errors.New("sig: request URL has no host")
	}
	// The client sends r.Host when it is set, and the signature covers
	// URL.Host: a difference would fail at every receiver.
	if r.Host != "" && r.Host != host {
		return fmt.Errorf("sig: request Host %q differs from URL host %q", r.Host, host)
	}
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	// go-fed refuses to add a Digest when one exists, and a second Signature
	// would make the request ambiguous.
	r.Header.Del("Digest")
	r.Header.Del("Signature")
	// go-fed reads host from the header map; Go's client never puts it there
	// (it sends r.Host or URL.Host, and ignores this entry).
	r.Header.Set("Host", host)
	r.Header.Set("Date", now.UTC().Format(http.TimeFormat))

	headers := []string{httpsig.RequestTarget, "host", "date"}
	if body != nil {
		headers = append(headers, "digest")
		if r.Header.Get("Content-Type") != "" {
			headers = append(headers, "content-type")
		}
	}
	signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, headers, httpsig.Signature, 0)
	if err != nil {
		return fmt.Errorf("sig: %w", err)
	}
	// go-fed puts URL.Path, the decoded path, in (request-target), while the
	// client sends the escaped one. Hand it a request whose Path is what goes
	// on the wire; it shares r's header map, so the headers land on r.
	wire := &http.Request{
		Method: r.Method,
		URL:    &url.URL{Path: requestPath(r.URL), RawQuery: r.URL.RawQuery},
		Header: r.Header,
	}
	if err := signer.SignRequest(s.Key, s.KeyID, wire, body); err != nil {
		return fmt.Errorf("sig: %w", err)
	}

	// The label is not part of the signing string, so it can be rewritten
	// after signing. go-fed always starts the header this way.
	v := r.Header.Get("Signature")
	rest, ok := strings.CutPrefix(v, `keyId="`+s.KeyID+`",algorithm="hs2019",`)
	if !ok {
		return errors.New("sig: unexpected Signature header from go-fed")
	}
	r.Header.Set("Signature", `keyId="`+s.KeyID+`",algorithm="rsa-sha256",`+rest)
	return nil
}

// requestPath is the path as Go's client puts it in the request line.
func requestPath(u *url.URL) string {
	if p := u.EscapedPath(); p != "" {
		return p
	}
	return "/"
}
