package sig

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The accepted clock difference, Mastodon's in effect: it takes Date as the
// creation time, lets a signature live 5 minutes, and allows an hour of skew
// either way, so 65 minutes back and 60 ahead.
const (
	maxAge    = 65 * time.Minute
	maxAhead  = 60 * time.Minute
	rtarget   = "(request-target)"
	pcreated  = "(created)"
	pexpires  = "(expires)"
	hdrDigest = "digest"
)

// Check does every check on r that needs no public key. body must be the
// whole request body, already size-capped by the caller; nil is the empty
// body. On success the returned Params name the key to fetch for Verify. On
// failure the error is an *Error, and Params holds what could be parsed (for
// logging the keyId).
//
// Check requires:
//   - a known algorithm label: none, rsa-sha256, hs2019, rsa-sha512 or ed25519
//     (hmac-* and the rest are refused);
//   - the signed list to include (request-target), host, date or (created),
//     and digest on POST, PUT, PATCH or any request with a body: Mastodon's
//     rules, without which a signature could be replayed on another path,
//     host or body;
//   - every signed header to be present (host from r.Host, as on a server);
//   - a signed Date or (created) within 65 minutes back and 60 minutes ahead
//     of now, and no (expires) in the past;
//   - the Digest header, when signed or merely present, to match body
//     (SHA-256 or SHA-512). snac signs a Digest on GETs too; that one is
//     checked against the empty body.
//
// A request with a Signature-Input header is an RFC 9421 one: the same
// rules apply to its covered components (@method; @target-uri, or
// @authority with @path and @query or @request-target; content-digest
// with a body), its created time, and Content-Digest (RFC 9530).
func Check(r *http.Request, body []byte, now time.Time) (Params, error) {
	if len(r.Header.Values("Signature-Input")) > 0 {
		return checkMessage(r, body, now)
	}
	p, err := FromRequest(r)
	if err != nil {
		return p, err
	}
	switch p.Algorithm {
	case "", "rsa-sha256", "hs2019", "rsa-sha512", "ed25519":
	default:
		return p, unauthorized("unsupported signature algorithm")
	}
	if err := checkSignedList(r, p, len(body) > 0); err != nil {
		return p, err
	}
	for _, name := range p.Headers {
		if !present(r, p, name) {
			return p, unauthorized("signed header " + quoteName(name) + " is missing")
		}
	}
	if err := checkTime(r, p, now); err != nil {
		return p, err
	}
	if err := checkDigest(r.Header.Values("Digest"), body); err != nil {
		return p, err
	}
	return p, nil
}

func checkSignedList(r *http.Request, p Params, hasBody bool) *Error {
	signed := func(name string) bool { return slices.Contains(p.Headers, name) }
	switch {
	case !signed(rtarget):
		return unauthorized("(request-target) must be signed")
	case !signed("host"):
		return unauthorized("host must be signed")
	case !signed("date") && !signed(pcreated):
		return unauthorized("date or (created) must be signed")
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		hasBody = true
	}
	if hasBody && !signed(hdrDigest) {
		return unauthorized("digest must be signed on a request with a body")
	}
	return nil
}

func present(r *http.Request, p Params, name string) bool {
	switch name {
	case rtarget:
		return true
	case pcreated:
		return p.Created != 0
	case pexpires:
		return p.Expires != 0
	case "host":
		// A server moves Host out of the header map into r.Host.
		return r.Host != "" || len(r.Header.Values("Host")) > 0
	}
	if strings.HasPrefix(name, "(") {
		return false // a pseudo-header we do not know cannot be rebuilt
	}
	return len(r.Header.Values(name)) > 0
}

func checkTime(r *http.Request, p Params, now time.Time) *Error {
	if slices.Contains(p.Headers, pcreated) {
		if err := checkWindow(time.Unix(p.Created, 0), now); err != nil {
			return err
		}
	}
	if slices.Contains(p.Headers, "date") {
		vs := r.Header.Values("Date")
		if len(vs) != 1 {
			return unauthorized("unusable Date header")
		}
		t, err := http.ParseTime(vs[0])
		if err != nil {
			return unauthorized("unparsable Date header")
		}
		if err := checkWindow(t, now); err != nil {
			return err
		}
	}
	if p.Expires != 0 && now.Unix() > p.Expires {
		return unauthorized("signature has expired")
	}
	return nil
}

func checkWindow(t, now time.Time) *Error {
	if now.Sub(t) > maxAge {
		return unauthorized("signed date is too old")
	}
	if t.Sub(now) > maxAhead {
		return unauthorized("signed date is in the future")
	}
	return nil
}

// checkDigest compares every SHA-256 or SHA-512 value in the Digest header
// (RFC 3230: a comma-separated list, algorithm names case-insensitive) with
// the body. Other algorithms are skipped, but one of these two must be there.
func checkDigest(values []string, body []byte) *Error {
	if len(values) == 0 {
		return nil
	}
	found := false
	for _, v := range values {
		for elem := range strings.SplitSeq(v, ",") {
			elem = trimOWS(elem)
			if elem == "" {
				continue
			}
			alg, enc, ok := strings.Cut(elem, "=")
			if !ok {
				return malformed("malformed Digest header")
			}
			var sum []byte
			switch alg = trimOWS(alg); {
			case strings.EqualFold(alg, "SHA-256"):
				s := sha256.Sum256(body)
				sum = s[:]
			case strings.EqualFold(alg, "SHA-512"):
				s := sha512.Sum512(body)
				sum = s[:]
			default:
				continue
			}
			got, err := base64.StdEncoding.DecodeString(trimOWS(enc))
			if err != nil {
				return malformed("malformed Digest header")
			}
			if !bytes.Equal(got, sum) {
				return malformed("Digest does not match the body")
			}
			found = true
		}
	}
	if !found {
		return malformed("Digest has no SHA-256 or SHA-512 value")
	}
	return nil
}
