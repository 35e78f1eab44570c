package sig

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-fed/httpsig"
)

// Verify checks p's signature on r against pub, an *rsa.PublicKey or an
// ed25519.PublicKey, with go-fed/httpsig's Verifier. It does not look at the
// body, the Date or which headers were signed: call Check first. r is not
// modified.
//
// The algorithm comes from the key, not the label ("hs2019" means exactly
// that): RSA keys are tried as RSA-SHA256, and also as RSA-SHA512 when the
// label says rsa-sha512. The (request-target) is tried with the query string,
// then without it (Mastodon before 4.1 signed the path alone), then with the
// raw path when it differs from the decoded one (most senders sign what they
// sent; go-fed would use the decoded path).
//
// go-fed itself also refuses a (created) more than 10 s ahead of the wall
// clock and an (expires) more than 10 s behind it.
//
// For an RFC 9421 signature (Params from Check), Verify checks the base
// Check built: rsa-v1_5-sha256, rsa-pss-sha512 or ed25519.
func Verify(r *http.Request, p Params, pub crypto.PublicKey) error {
	if p.msg != nil {
		return verifyMessage(p.msg, pub)
	}
	var algs []httpsig.Algorithm
	switch pub.(type) {
	case *rsa.PublicKey:
		algs = []httpsig.Algorithm{httpsig.RSA_SHA256}
		if p.Algorithm == "rsa-sha512" {
			algs = append(algs, httpsig.RSA_SHA512)
		}
	case ed25519.PublicKey:
		algs = []httpsig.Algorithm{httpsig.ED25519}
	default:
		return unauthorized("unsupported key type")
	}
	if len(p.Signature) == 0 || len(p.Headers) == 0 {
		return malformed("malformed Signature header")
	}
	for _, name := range p.Headers {
		if !isHeaderName(name) {
			return malformed("malformed Signature header")
		}
	}

	// A private header map with just what the signing string needs, so r is
	// left alone, plus a Signature header go-fed can parse.
	h := make(http.Header, len(p.Headers)+1)
	for _, name := range p.Headers {
		if strings.HasPrefix(name, "(") {
			continue
		}
		key := textproto.CanonicalMIMEHeaderKey(name)
		if vs := r.Header[key]; len(vs) > 0 {
			h[key] = vs // go-fed only reads them
		} else if key == "Host" && r.Host != "" {
			h[key] = []string{r.Host}
		}
	}
	h["Signature"] = []string{goFedHeader(p)}

	for _, t := range targets(r.URL) {
		req := &http.Request{
			Method: r.Method,
			URL:    &url.URL{Path: t.path, RawQuery: t.query},
			Header: h,
			Host:   r.Host,
		}
		v, err := httpsig.NewVerifier(req)
		if err != nil {
			// Only go-fed's own wall-clock checks on (created) and
			// (expires) can fail here: goFedHeader is well-formed.
			return unauthorized("signature is not valid now")
		}
		for _, alg := range algs {
			if v.Verify(pub, alg) == nil {
				return nil
			}
		}
	}
	return unauthorized("signature does not verify")
}

// goFedHeader writes p in the one form go-fed parses: no whitespace, every
// value quoted, ',' and '=' nowhere inside values (header names are tokens and
// base64 has no ','). keyId is a placeholder: go-fed needs one but does
// nothing with it, and a real one may contain ','.
func goFedHeader(p Params) string {
	var b strings.Builder
	b.WriteString(`keyId="-",headers="`)
	b.WriteString(strings.Join(p.Headers, " "))
	b.WriteString(`",signature="`)
	b.WriteString(base64.StdEncoding.EncodeToString(p.Signature))
	b.WriteString(`"`)
	if p.Created != 0 {
		b.WriteString(",created=")
		b.WriteString(strconv.FormatInt(p.Created, 10))
	}
	if p.Expires != 0 {
		b.WriteString(",expires=")
		b.WriteString(strconv.FormatInt(p.Expires, 10))
	}
	return b.String()
}

type target struct{ path, query string }

// targets lists the (request-target)s a sender may have signed for u, most
// likely first.
func targets(u *url.URL) []target {
	path := u.Path
	if path == "" {
		path = "/"
	}
	ts := []target{{path, u.RawQuery}}
	if u.RawQuery != "" {
		ts = append(ts, target{path, ""})
	}
	if raw := requestPath(u); raw != path {
		ts = append(ts, target{raw, u.RawQuery})
		if u.RawQuery != "" {
			ts = append(ts, target{raw, ""})
		}
	}
	return ts
}

// ParsePublicKeyPEM parses the first PEM block in s: a PKIX "PUBLIC KEY"
// holding an RSA or Ed25519 key, or a PKCS#1 "RSA PUBLIC KEY" (some servers
// publish that form). Surrounding whitespace and \r\n line ends, common in
// actor documents, are tolerated.
func ParsePublicKeyPEM(s string) (crypto.PublicKey, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\r\n", "\n")
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("sig: no PEM block in public key")
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("sig: %w", err)
		}
		switch k := k.(type) {
		case *rsa.PublicKey, ed25519.PublicKey:
			return k, nil
		default:
			return nil, fmt.Errorf("sig: unsupported public key type %T", k)
		}
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("sig: %w", err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("sig: unsupported PEM block %q", block.Type)
	}
}
