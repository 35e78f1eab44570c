package sig

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
)

// Params is a parsed Signature header, or the chosen signature of an RFC
// 9421 request (then Headers lists the covered components).
type Params struct {
	KeyID     string
	Algorithm string   // lower-cased, "" when absent
	Headers   []string // lower-cased; ["date"] when the parameter is absent (cavage default)
	Signature []byte   // base64-decoded
	Created   int64    // (created), 0 when absent
	Expires   int64    // (expires), 0 when absent

	msg *message // an RFC 9421 signature, checked by Check
}

// Bits for the parameters ParseHeader knows, to reject duplicates.
const (
	seenKeyID = 1 << iota
	seenAlgorithm
	seenHeaders
	seenSignature
	seenCreated
	seenExpires
)

// ParseHeader parses a Signature header value, or the value of an
// Authorization header after its "Signature" scheme.
//
// It is lenient where real servers are sloppy: whitespace around ',' and '=',
// empty list elements, a stray "Signature " prefix (Mastodon tolerates one),
// parameter names in any case, unquoted values, unknown parameters. It is
// strict where a sloppy reading could change what was signed: quoted strings
// must be closed, keyId and signature are required, the signature must be
// base64, created and expires must be positive integers, header names must be
// tokens, and a known parameter may appear only once.
func ParseHeader(v string) (Params, error) {
	var p Params
	s := stripScheme(trimOWS(v))
	var seen int
	for {
		s = trimOWS(s)
		if s == "" {
			break
		}
		if s[0] == ',' {
			s = s[1:]
			continue
		}
		name, rest := cutToken(s)
		if name == "" {
			return p, malformed("malformed Signature header: expected a parameter name")
		}
		rest = trimOWS(rest)
		if rest == "" || rest[0] != '=' {
			return p, malformed("malformed Signature header: parameter without a value")
		}
		rest = trimOWS(rest[1:])
		var value string
		if rest != "" && rest[0] == '"' {
			var ok bool
			value, rest, ok = cutQuoted(rest)
			if !ok {
				return p, malformed("malformed Signature header: unclosed quoted string")
			}
		} else {
			value, rest = cutBare(rest)
		}
		rest = trimOWS(rest)
		if rest != "" && rest[0] != ',' {
			return p, malformed("malformed Signature header: expected ',' between parameters")
		}
		s = rest

		var bit int
		var err *Error
		switch strings.ToLower(name) {
		case "keyid":
			bit = seenKeyID
			p.KeyID = value
		case "algorithm":
			bit = seenAlgorithm
			p.Algorithm = strings.ToLower(value)
		case "headers":
			bit = seenHeaders
			p.Headers, err = parseHeaderList(value)
		case "signature":
			bit = seenSignature
			p.Signature, err = decodeSignature(value)
		case "created":
			bit = seenCreated
			p.Created, err = parseTimestamp("created", value)
		case "expires":
			bit = seenExpires
			p.Expires, err = parseTimestamp("expires", value)
		default:
			continue // unknown parameters are ignored, as the draft says
		}
		if err != nil {
			return p, err
		}
		if seen&bit != 0 {
			return p, malformed("malformed Signature header: parameter " + quoteName(strings.ToLower(name)) + " appears twice")
		}
		seen |= bit
	}
	if p.KeyID == "" {
		return p, malformed("malformed Signature header: keyId is missing")
	}
	if seen&seenSignature == 0 {
		return p, malformed("malformed Signature header: signature is missing")
	}
	if seen&seenHeaders == 0 {
		p.Headers = []string{"date"}
	}
	return p, nil
}

// FromRequest parses the request's Signature header, or failing that an
// Authorization header with the Signature scheme (the draft's other form).
// It returns ErrNoSignature when there is neither.
func FromRequest(r *http.Request) (Params, error) {
	if vs := r.Header.Values("Signature"); len(vs) > 0 {
		if len(vs) > 1 {
			// Which one would the sender mean? Refuse rather than guess.
			return Params{}, malformed("more than one Signature header")
		}
		return ParseHeader(vs[0])
	}
	for _, a := range r.Header.Values("Authorization") {
		scheme, rest, _ := strings.Cut(trimOWS(a), " ")
		if strings.EqualFold(scheme, "Signature") {
			return ParseHeader(rest)
		}
	}
	return Params{}, ErrNoSignature
}

// stripScheme removes a leading "Signature " that some senders put in the
// Signature header itself. "signature =..." is the signature parameter with
// sloppy spacing, not a prefix.
func stripScheme(s string) string {
	const scheme = "signature"
	if len(s) <= len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		return s
	}
	if c := s[len(scheme)]; c != ' ' && c != '\t' {
		return s
	}
	rest := trimOWS(s[len(scheme):])
	if rest != "" && rest[0] == '=' {
		return s
	}
	return rest
}

func parseHeaderList(v string) ([]string, *Error) {
	names := strings.Fields(strings.ToLower(v))
	if len(names) == 0 {
		return nil, malformed("malformed Signature header: headers is empty")
	}
	for _, n := range names {
		if !isHeaderName(n) {
			return nil, malformed("malformed Signature header: headers lists something that is not a header name")
		}
	}
	return names, nil
}

// isHeaderName reports whether n is a header field name (a token) or a
// pseudo-header such as (request-target). Anything else could not have been
// signed meaningfully, and a ',' or '"' would also break go-fed's parser when
// Verify hands it the list.
func isHeaderName(n string) bool {
	if len(n) > 2 && n[0] == '(' && n[len(n)-1] == ')' {
		n = n[1 : len(n)-1]
	}
	if n == "" {
		return false
	}
	for i := range len(n) {
		if !isTchar(n[i]) {
			return false
		}
	}
	return true
}

func decodeSignature(v string) ([]byte, *Error) {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		// Some senders drop the padding.
		b, err = base64.RawStdEncoding.DecodeString(v)
	}
	if err != nil {
		return nil, malformed("malformed Signature header: signature is not base64")
	}
	if len(b) == 0 {
		return nil, malformed("malformed Signature header: signature is empty")
	}
	return b, nil
}

func parseTimestamp(name, v string) (int64, *Error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, malformed("malformed Signature header: " + name + " is not a positive integer")
	}
	return n, nil
}

// cutToken splits s after its leading run of token characters (RFC 9110 §5.6.2).
func cutToken(s string) (token, rest string) {
	i := 0
	for i < len(s) && isTchar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// cutBare splits off an unquoted value. It is looser than a token so that an
// unquoted base64 signature (with '/', '+' and '=') survives.
func cutBare(s string) (value, rest string) {
	i := 0
	for i < len(s) && s[i] != ',' && s[i] != ' ' && s[i] != '\t' && s[i] != '"' {
		i++
	}
	return s[:i], s[i:]
}

// cutQuoted reads the quoted-string at the start of s, undoing quoted-pairs.
func cutQuoted(s string) (value, rest string, ok bool) {
	var b []byte // only allocated when there is an escape
	start := 1
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '"':
			if b == nil {
				return s[start:i], s[i+1:], true
			}
			return string(append(b, s[start:i]...)), s[i+1:], true
		case '\\':
			if i+1 == len(s) {
				return "", "", false
			}
			b = append(b, s[start:i]...)
			b = append(b, s[i+1])
			i++
			start = i + 1
		}
	}
	return "", "", false
}

func trimOWS(s string) string { return strings.Trim(s, " \t") }

func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
