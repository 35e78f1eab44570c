package sig

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func readTestdata(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// publicKeyIn parses the first "PUBLIC KEY" block of a fixture file (some
// files start with a private key block).
func publicKeyIn(tb testing.TB, text string) crypto.PublicKey {
	tb.Helper()
	i := strings.Index(text, "-----BEGIN PUBLIC KEY-----")
	if i < 0 {
		tb.Fatal("no public key in fixture")
	}
	k, err := ParsePublicKeyPEM(text[i:])
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// rsaPrivateKeyIn parses the first private key block (PKCS#1 or PKCS#8) of text.
func rsaPrivateKeyIn(tb testing.TB, text string) *rsa.PrivateKey {
	tb.Helper()
	rest := []byte(text)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			tb.Fatal("no private key in fixture")
		}
		switch block.Type {
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				tb.Fatal(err)
			}
			return k
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				tb.Fatal(err)
			}
			return k.(*rsa.PrivateKey)
		}
	}
}

// testKey is the RSA-2048 key stored in testdata, so that no test spends
// time generating one.
func testKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	return rsaPrivateKeyIn(tb, readTestdata(tb, "test-rsa-2048.pem"))
}

// mastodonKey is Mastodon's published test key, used here as "some other key".
func mastodonKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	return rsaPrivateKeyIn(tb, readTestdata(tb, "http-signature-mastodon-spec-vectors.txt"))
}

// record is one request from a capture file.
type record struct {
	line int // line of its "===== " separator, for messages
	req  *http.Request
	body []byte
}

// readRecords parses a capture file: a header, then raw HTTP/1.1 requests
// each after a line starting with "===== ". The sender's public key is at the
// top of keyFile.
func readRecords(tb testing.TB, name, keyFile string) (crypto.PublicKey, []record) {
	tb.Helper()
	text := readTestdata(tb, name)
	parts := strings.Split(text, "\n===== ")
	pub := publicKeyIn(tb, readTestdata(tb, keyFile))
	var recs []record
	line := strings.Count(parts[0], "\n") + 2
	for _, part := range parts[1:] {
		_, raw, ok := strings.Cut(part, "\n") // drop the rest of the separator line
		if !ok {
			tb.Fatalf("%s:%d: empty record", name, line)
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			tb.Fatalf("%s:%d: %v", name, line, err)
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			tb.Fatalf("%s:%d: body: %v", name, line, err)
		}
		recs = append(recs, record{line: line, req: req, body: body})
		line += strings.Count(part, "\n") + 1
	}
	return pub, recs
}

func isSigned(r *http.Request) bool {
	_, err := FromRequest(r)
	return !errors.Is(err, ErrNoSignature)
}

// headBlock finds the first request line (GET or POST) after marker in a
// vector file and returns the header lines up to the blank line, and the line
// after that blank line (the body, where there is one).
func headBlock(tb testing.TB, text, marker string) (head []string, next string) {
	tb.Helper()
	i := strings.Index(text, marker)
	if i < 0 {
		tb.Fatalf("marker %q not found", marker)
	}
	lines := strings.Split(strings.ReplaceAll(text[i:], "\r\n", "\n"), "\n")
	start := -1
	for j, l := range lines {
		if strings.HasPrefix(l, "GET /") || strings.HasPrefix(l, "POST /") {
			start = j
			break
		}
	}
	if start < 0 {
		tb.Fatalf("no request line after %q", marker)
	}
	for j := start; j < len(lines); j++ {
		if lines[j] == "" {
			if j+1 < len(lines) {
				next = lines[j+1]
			}
			return lines[start:j], next
		}
	}
	tb.Fatalf("request after %q does not end", marker)
	return nil, ""
}

// buildRequest parses head (request line and header lines) and body as a
// server would receive them.
func buildRequest(tb testing.TB, head []string, body string) *http.Request {
	tb.Helper()
	var b strings.Builder
	hasLength := false
	for _, l := range head {
		if strings.HasPrefix(strings.ToLower(l), "content-length:") {
			hasLength = true
		}
		b.WriteString(l + "\r\n")
	}
	if !hasLength && body != "" {
		b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	b.WriteString("\r\n" + body)
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(b.String())))
	if err != nil {
		tb.Fatal(err)
	}
	got, err := io.ReadAll(r.Body)
	if err != nil || string(got) != body {
		tb.Fatalf("body: got %q, %v; want %q", got, err, body)
	}
	return r
}

// withLine returns a copy of head where the line starting with prefix
// (case-insensitive) is replaced by line, or line is appended.
func withLine(head []string, prefix, line string) []string {
	out := make([]string, 0, len(head)+1)
	done := false
	for _, l := range head {
		if !done && strings.HasPrefix(strings.ToLower(l), strings.ToLower(prefix)) {
			out = append(out, line)
			done = true
			continue
		}
		out = append(out, l)
	}
	if !done {
		out = append(out, line)
	}
	return out
}

// lineStarting returns the first line of text after marker that starts with prefix.
func lineStarting(tb testing.TB, text, marker, prefix string) string {
	tb.Helper()
	i := strings.Index(text, marker)
	if i < 0 {
		tb.Fatalf("marker %q not found", marker)
	}
	for l := range strings.Lines(text[i:]) {
		if strings.HasPrefix(l, prefix) {
			return strings.TrimRight(l, "\r\n")
		}
	}
	tb.Fatalf("no line starting %q after %q", prefix, marker)
	return ""
}

// overTheWire sends r (a client request) through HTTP/1.1 serialisation and
// parses it back as a server sees it: Host moved to r.Host, the path as sent.
func overTheWire(tb testing.TB, r *http.Request, body []byte) *http.Request {
	tb.Helper()
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		tb.Fatal(err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		tb.Fatal(err)
	}
	got, err := io.ReadAll(sr.Body)
	if err != nil || !bytes.Equal(got, body) {
		tb.Fatalf("body over the wire: got %q, %v; want %q", got, err, body)
	}
	return sr
}

// signingString builds the draft-cavage signing string for a request as a
// server received it, independently of the package: (request-target) is the
// request line's target, verbatim.
func signingString(r *http.Request, headers []string, created, expires int64) string {
	lines := make([]string, 0, len(headers))
	for _, h := range headers {
		var v string
		switch h {
		case "(request-target)":
			v = strings.ToLower(r.Method) + " " + r.RequestURI
		case "(created)":
			v = strconv.FormatInt(created, 10)
		case "(expires)":
			v = strconv.FormatInt(expires, 10)
		case "host":
			v = r.Host
		default:
			var vs []string
			for _, x := range r.Header.Values(h) {
				vs = append(vs, strings.TrimSpace(x))
			}
			v = strings.Join(vs, ", ")
		}
		lines = append(lines, h+": "+v)
	}
	return strings.Join(lines, "\n")
}

// signManual signs a received request with key over headers, bypassing the
// package, and sets its Signature header.
func signManual(tb testing.TB, r *http.Request, key *rsa.PrivateKey, algorithm string, headers []string) {
	tb.Helper()
	h := sha256.Sum256([]byte(signingString(r, headers, 0, 0)))
	s, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	if err != nil {
		tb.Fatal(err)
	}
	r.Header.Set("Signature", fmt.Sprintf(`keyId="https://remote.example/actor#main-key",algorithm=%q,headers=%q,signature=%q`,
		algorithm, strings.Join(headers, " "), base64.StdEncoding.EncodeToString(s)))
}

// independentVerify checks a received request's Signature header with
// crypto/rsa alone: its own parsing (of the no-space form Sign writes), its
// own signing string, PKCS#1 v1.5 with SHA-256.
func independentVerify(r *http.Request, pub *rsa.PublicKey) error {
	params := map[string]string{}
	for kv := range strings.SplitSeq(r.Header.Get("Signature"), ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return fmt.Errorf("cannot parse parameter %q", kv)
		}
		params[k] = v[1 : len(v)-1]
	}
	sigBytes, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil {
		return err
	}
	h := sha256.Sum256([]byte(signingString(r, strings.Split(params["headers"], " "), 0, 0)))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sigBytes)
}

// checkAndVerify runs the inbox pipeline and reports where it stopped.
func checkAndVerify(r *http.Request, body []byte, now time.Time, pub crypto.PublicKey) (stage string, err error) {
	p, err := Check(r, body, now)
	if err != nil {
		return "Check", err
	}
	if err := Verify(r, p, pub); err != nil {
		return "Verify", err
	}
	return "", nil
}

// statusOf is the Status of an *Error, 0 for nil, -1 for any other error.
func statusOf(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return -1
}

func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func pemText(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func x509PKCS1(k *rsa.PublicKey) []byte { return x509.MarshalPKCS1PublicKey(k) }

func x509PKIX(tb testing.TB, k crypto.PublicKey) []byte {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		tb.Fatal(err)
	}
	return der
}
