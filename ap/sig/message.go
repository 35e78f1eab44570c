package sig

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HTTP Message Signatures (RFC 9421), the successor of draft-cavage that
// Mastodon 4.5 and others send. A request carrying Signature-Input is read
// as one; Check and Verify then work on it as they do on a cavage
// signature, so the inbox needs no second path.

// message is the RFC 9421 signature chosen from a request: its signature
// base, built while checking, is all Verify needs.
type message struct {
	base string
	alg  string // the alg parameter, "" when absent
	sig  []byte
}

// Signature algorithms of RFC 9421 §3.3 that kith accepts.
const (
	algRSAv15    = "rsa-v1_5-sha256"
	algRSAPSS    = "rsa-pss-sha512"
	algEd25519   = "ed25519"
	maxSigInputs = 8 // labels read from one request
)

// sfItem is one member of a Structured Fields inner list (RFC 8941): a
// string with its parameters, kept verbatim because the signature base
// repeats it.
type sfItem struct {
	value  string
	params map[string]string // string values unquoted
	raw    string
}

// checkMessage is Check for a request with Signature-Input: it picks the
// first signature whose label appears in both headers, requires what a
// cavage signature must cover (the method, the target, and the body through
// Content-Digest), the created time within the accepted window, and builds
// the signature base.
func checkMessage(r *http.Request, body []byte, now time.Time) (Params, error) {
	inputs, err := dictionary(strings.Join(r.Header.Values("Signature-Input"), ","))
	if err != nil {
		return Params{}, malformed("malformed Signature-Input header")
	}
	sigs, err := dictionary(strings.Join(r.Header.Values("Signature"), ","))
	if err != nil {
		return Params{}, malformed("malformed Signature header")
	}
	for i, in := range inputs {
		if i == maxSigInputs {
			break
		}
		sv, ok := lookup(sigs, in.key)
		if !ok {
			continue
		}
		return checkOne(r, body, now, in.value, sv)
	}
	return Params{}, ErrNoSignature
}

// checkOne checks the signature with parameters input (the inner list and
// its parameters, as sent) and value sv (a byte sequence).
func checkOne(r *http.Request, body []byte, now time.Time, input, sv string) (Params, error) {
	var p Params
	items, params, ok := innerList(input)
	if !ok {
		return p, malformed("malformed Signature-Input header")
	}
	if len(sv) < 2 || sv[0] != ':' || sv[len(sv)-1] != ':' {
		return p, malformed("malformed Signature header")
	}
	sigBytes, err := base64.StdEncoding.DecodeString(sv[1 : len(sv)-1])
	if err != nil || len(sigBytes) == 0 {
		return p, malformed("malformed Signature header")
	}
	p.KeyID, p.Algorithm = params["keyid"], params["alg"]
	if p.KeyID == "" {
		return p, malformed("Signature-Input has no keyid")
	}
	switch p.Algorithm {
	case "", algRSAv15, algRSAPSS, algEd25519:
	default:
		return p, unauthorized("unsupported signature algorithm")
	}
	for name, dst := range map[string]*int64{"created": &p.Created, "expires": &p.Expires} {
		if v, ok := params[name]; ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return p, malformed("malformed " + name + " parameter")
			}
			*dst = n
		}
	}
	if p.Created == 0 {
		return p, unauthorized("signature has no created time")
	}
	if err := checkWindow(time.Unix(p.Created, 0), now); err != nil {
		return p, err
	}
	if p.Expires != 0 && now.Unix() > p.Expires {
		return p, unauthorized("signature has expired")
	}
	base, covered, serr := signatureBase(r, items, input)
	if serr != nil {
		return p, serr
	}
	p.Headers = covered
	if err := requireCovered(r, covered, len(body) > 0); err != nil {
		return p, err
	}
	if err := checkContentDigest(r.Header.Values("Content-Digest"), body); err != nil {
		return p, err
	}
	p.msg = &message{base: base, alg: p.Algorithm, sig: sigBytes}
	return p, nil
}

// requireCovered applies the cavage rules to the covered components: the
// method, the whole target (with its query), and the body.
func requireCovered(r *http.Request, covered []string, hasBody bool) *Error {
	has := func(name string) bool {
		for _, c := range covered {
			if c == name {
				return true
			}
		}
		return false
	}
	if !has("@method") {
		return unauthorized(`signature does not cover "@method"`)
	}
	target := has("@target-uri") || (has("@authority") &&
		(has("@request-target") || (has("@path") && (r.URL.RawQuery == "" || has("@query")))))
	if !target {
		return unauthorized("signature does not cover the target URI")
	}
	if hasBody && !has("content-digest") {
		return unauthorized(`signature does not cover "content-digest"`)
	}
	return nil
}

// signatureBase builds the base of RFC 9421 §2.5 for the covered items and
// the raw signature parameters, and lists the covered names.
func signatureBase(r *http.Request, items []sfItem, input string) (string, []string, *Error) {
	var b strings.Builder
	covered := make([]string, 0, len(items))
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it.raw] {
			return "", nil, malformed("a component is covered twice")
		}
		seen[it.raw] = true
		v, err := componentValue(r, it)
		if err != nil {
			return "", nil, err
		}
		b.WriteString(it.raw)
		b.WriteString(": ")
		b.WriteString(v)
		b.WriteByte('\n')
		covered = append(covered, it.value)
	}
	b.WriteString(`"@signature-params": `)
	b.WriteString(input)
	return b.String(), covered, nil
}

// componentValue is the value of one covered component (RFC 9421 §2.1,
// §2.2) of a request as a server received it, over HTTPS.
func componentValue(r *http.Request, it sfItem) (string, *Error) {
	name := it.value
	if name != strings.ToLower(name) || name == "" {
		return "", malformed("malformed component name")
	}
	if len(it.params) > 0 && !(name == "@query-param" && len(it.params) == 1 && it.params["name"] != "") {
		return "", unauthorized("unsupported component parameters on " + quoteName(name))
	}
	authority := strings.ToLower(strings.TrimSuffix(r.Host, ":443"))
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	switch name {
	case "@method":
		return r.Method, nil
	case "@authority":
		return authority, nil
	case "@scheme":
		return "https", nil
	case "@path":
		return path, nil
	case "@query":
		return "?" + r.URL.RawQuery, nil
	case "@request-target":
		return r.URL.RequestURI(), nil
	case "@target-uri":
		return "https://" + authority + r.URL.RequestURI(), nil
	case "@query-param":
		vals, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil || len(vals[it.params["name"]]) != 1 {
			return "", unauthorized("query parameter " + quoteName(it.params["name"]) + " is missing or repeated")
		}
		return url.QueryEscape(vals[it.params["name"]][0]), nil
	}
	if strings.HasPrefix(name, "@") || !isHeaderName(name) {
		return "", unauthorized("unsupported component " + quoteName(name))
	}
	var vals []string
	if name == "host" {
		vals = []string{r.Host}
	} else {
		vals = r.Header.Values(name)
	}
	if len(vals) == 0 {
		return "", unauthorized("signed header " + quoteName(name) + " is missing")
	}
	for i, v := range vals {
		vals[i] = trimOWS(v)
	}
	return strings.Join(vals, ", "), nil
}

// checkContentDigest compares the Content-Digest (RFC 9530) sha-256 and
// sha-512 members with the body; one of them must be there when the header
// is.
func checkContentDigest(values []string, body []byte) *Error {
	if len(values) == 0 {
		return nil
	}
	members, err := dictionary(strings.Join(values, ","))
	if err != nil {
		return malformed("malformed Content-Digest header")
	}
	found := false
	for _, m := range members {
		var sum []byte
		switch m.key {
		case "sha-256":
			s := sha256.Sum256(body)
			sum = s[:]
		case "sha-512":
			s := sha512.Sum512(body)
			sum = s[:]
		default:
			continue
		}
		v := m.value
		if len(v) < 2 || v[0] != ':' || v[len(v)-1] != ':' {
			return malformed("malformed Content-Digest header")
		}
		got, err := base64.StdEncoding.DecodeString(v[1 : len(v)-1])
		if err != nil {
			return malformed("malformed Content-Digest header")
		}
		if !bytes.Equal(got, sum) {
			return malformed("Content-Digest does not match the body")
		}
		found = true
	}
	if !found {
		return malformed("Content-Digest has no sha-256 or sha-512 value")
	}
	return nil
}

// verifyMessage checks m's signature over its base with pub. Without an
// alg parameter the key decides: Ed25519, or RSA as PKCS#1 v1.5 with SHA-256
// and then as PSS with SHA-512.
func verifyMessage(m *message, pub crypto.PublicKey) error {
	base := []byte(m.base)
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if (m.alg == "" || m.alg == algEd25519) && ed25519.Verify(k, base, m.sig) {
			return nil
		}
	case *rsa.PublicKey:
		if m.alg == "" || m.alg == algRSAv15 {
			h := sha256.Sum256(base)
			if rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], m.sig) == nil {
				return nil
			}
		}
		if m.alg == "" || m.alg == algRSAPSS {
			h := sha512.Sum512(base)
			if rsa.VerifyPSS(k, crypto.SHA512, h[:], m.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil {
				return nil
			}
		}
	default:
		return unauthorized("unsupported key type")
	}
	return unauthorized("signature does not verify")
}

// sfMember is a member of a Structured Fields dictionary, its value kept as
// sent.
type sfMember struct{ key, value string }

// dictionary splits a Structured Fields dictionary (RFC 8941 §3.2) into its
// members, respecting strings, byte sequences and inner lists. It checks
// only what kith reads: keys, and balanced quoting.
func dictionary(s string) ([]sfMember, error) {
	var out []sfMember
	for s = trimOWS(s); s != ""; {
		end, err := memberEnd(s)
		if err != nil {
			return nil, err
		}
		key, value, _ := strings.Cut(s[:end], "=")
		key, value = trimOWS(key), trimOWS(value)
		if !isKey(key) {
			return nil, malformed("malformed structured field")
		}
		out = append(out, sfMember{key: key, value: value})
		s = strings.TrimLeft(s[end:], ", \t")
	}
	return out, nil
}

// memberEnd finds the comma that ends the first member of s.
func memberEnd(s string) (int, error) {
	depth, quoted, bytesq := 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case bytesq:
			if c == ':' {
				bytesq = false
			}
		case c == '"':
			quoted = true
		case c == ':':
			bytesq = true
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			return i, nil
		}
	}
	if quoted || bytesq || depth != 0 {
		return 0, malformed("malformed structured field")
	}
	return len(s), nil
}

// innerList parses `("a" "b";p=1);x=2` into its items and parameters.
func innerList(s string) ([]sfItem, map[string]string, bool) {
	if !strings.HasPrefix(s, "(") {
		return nil, nil, false
	}
	rest := s[1:]
	var items []sfItem
	for {
		rest = strings.TrimLeft(rest, " ")
		if strings.HasPrefix(rest, ")") {
			rest = rest[1:]
			break
		}
		start := rest
		v, after, ok := sfString(rest)
		if !ok {
			return nil, nil, false
		}
		params, after, ok := sfParams(after)
		if !ok {
			return nil, nil, false
		}
		items = append(items, sfItem{value: v, params: params, raw: start[:len(start)-len(after)]})
		rest = after
		if !strings.HasPrefix(rest, " ") && !strings.HasPrefix(rest, ")") {
			return nil, nil, false
		}
	}
	params, rest, ok := sfParams(rest)
	if !ok || trimOWS(rest) != "" {
		return nil, nil, false
	}
	return items, params, true
}

// sfParams reads `;key=value` parameters (strings unquoted; integers and
// tokens as written; a bare key is "?1").
func sfParams(s string) (map[string]string, string, bool) {
	params := map[string]string{}
	for strings.HasPrefix(s, ";") {
		s = strings.TrimLeft(s[1:], " ")
		i := 0
		for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= '0' && s[i] <= '9' || strings.IndexByte("_-.*", s[i]) >= 0) {
			i++
		}
		key := s[:i]
		if !isKey(key) {
			return nil, s, false
		}
		s = s[i:]
		if _, dup := params[key]; dup {
			return nil, s, false
		}
		if !strings.HasPrefix(s, "=") {
			params[key] = "?1"
			continue
		}
		s = s[1:]
		if strings.HasPrefix(s, `"`) {
			v, rest, ok := sfString(s)
			if !ok {
				return nil, s, false
			}
			params[key], s = v, rest
			continue
		}
		j := 0
		for j < len(s) && s[j] != ';' && s[j] != ' ' && s[j] != ')' && s[j] != ',' {
			j++
		}
		if j == 0 {
			return nil, s, false
		}
		params[key], s = s[:j], s[j:]
	}
	return params, s, true
}

// sfString reads a quoted string at the start of s.
func sfString(s string) (string, string, bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", s, false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			if i+1 == len(s) || (s[i+1] != '"' && s[i+1] != '\\') {
				return "", s, false
			}
			i++
			b.WriteByte(s[i])
		case c == '"':
			return b.String(), s[i+1:], true
		case c < 0x20 || c > 0x7e:
			return "", s, false
		default:
			b.WriteByte(c)
		}
	}
	return "", s, false
}

// isKey reports whether k is a Structured Fields key.
func isKey(k string) bool {
	if k == "" || !(k[0] >= 'a' && k[0] <= 'z' || k[0] == '*') {
		return false
	}
	for i := 1; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("_-.*", c) >= 0) {
			return false
		}
	}
	return true
}

// lookup returns the value of the member named key.
func lookup(ms []sfMember, key string) (string, bool) {
	for _, m := range ms {
		if m.key == key {
			return m.value, true
		}
	}
	return "", false
}

// SignMessage signs r with an RFC 9421 HTTP Message Signature instead of a
// cavage one: Content-Digest (sha-256) when body is not nil, and
// Signature-Input and Signature under the label "sig1", covering @method,
// @target-uri and, with a body, content-digest, with created, keyid and
// alg="rsa-v1_5-sha256". Any cavage Signature or Digest is removed, so a
// request can be signed again with the other scheme (the double knock).
func (s Signer) SignMessage(r *http.Request, body []byte, now time.Time) error {
	if s.Key == nil {
		return errors.New("sig: Signer has no key")
	}
	if s.KeyID == "" || strings.ContainsAny(s.KeyID, "\"\\") {
		return fmt.Errorf("sig: unusable keyid %q", s.KeyID)
	}
	if r.URL.Host == "" || (r.Host != "" && r.Host != r.URL.Host) {
		return errors.New("sig: request URL has no host, or another Host")
	}
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	for _, h := range []string{"Digest", "Signature", "Signature-Input", "Content-Digest"} {
		r.Header.Del(h)
	}
	components := `"@method" "@target-uri"`
	if body != nil {
		sum := sha256.Sum256(body)
		r.Header.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
		components += ` "content-digest"`
	}
	host := strings.ToLower(r.URL.Host)
	if r.URL.Scheme == "https" {
		host = strings.TrimSuffix(host, ":443") // as receivers write @authority
	}
	target := r.URL.Scheme + "://" + host + requestPath(r.URL)
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	input := "(" + components + ");created=" + strconv.FormatInt(now.Unix(), 10) +
		`;keyid="` + s.KeyID + `";alg="` + algRSAv15 + `"`
	var base strings.Builder
	base.WriteString(`"@method": ` + r.Method + "\n")
	base.WriteString(`"@target-uri": ` + target + "\n")
	if body != nil {
		base.WriteString(`"content-digest": ` + r.Header.Get("Content-Digest") + "\n")
	}
	base.WriteString(`"@signature-params": ` + input)
	h := sha256.Sum256([]byte(base.String()))
	raw, err := rsa.SignPKCS1v15(nil, s.Key, crypto.SHA256, h[:])
	if err != nil {
		return fmt.Errorf("sig: %w", err)
	}
	r.Header.Set("Signature-Input", "sig1="+input)
	r.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(raw)+":")
	return nil
}
