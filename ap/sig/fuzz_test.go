package sig

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// signatureHeaders returns every Signature header value, and every
// Authorization value after its Signature scheme, found in testdata/*.txt.
func signatureHeaders(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no fixtures: %v", err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		for l := range strings.Lines(string(b)) {
			l = strings.TrimRight(l, "\r\n")
			name, v, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			switch strings.ToLower(name) {
			case "signature":
				out = append(out, strings.TrimSpace(v))
			case "authorization":
				if rest, ok := strings.CutPrefix(strings.TrimSpace(v), "Signature "); ok {
					out = append(out, rest)
				}
			}
		}
	}
	return out
}

func FuzzParseHeader(f *testing.F) {
	for _, v := range signatureHeaders(f) {
		f.Add(v)
	}
	f.Add(`Signature keyId="k", algorithm="hs2019", created=1, expires=2, headers="(request-target) (created)", signature="AAAA"`)
	f.Add(`keyId="a\"b",signature=AAAA,headers="date"`)
	f.Fuzz(func(t *testing.T, v string) {
		p, err := ParseHeader(v)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400 *Error", err)
			}
			return
		}
		if p.KeyID == "" || len(p.Signature) == 0 || len(p.Headers) == 0 {
			t.Fatalf("accepted without keyId, signature or headers: %+v", p)
		}
		if p.Algorithm != strings.ToLower(p.Algorithm) {
			t.Fatalf("algorithm not lower-cased: %q", p.Algorithm)
		}
		for _, h := range p.Headers {
			if h != strings.ToLower(h) || !isHeaderName(h) {
				t.Fatalf("bad header name %q", h)
			}
		}
		if p.Created < 0 || p.Expires < 0 {
			t.Fatalf("negative created or expires: %+v", p)
		}
		// What Verify hands go-fed must say the same thing.
		q, err := ParseHeader(goFedHeader(p))
		if err != nil {
			t.Fatalf("normalised header %q: %v", goFedHeader(p), err)
		}
		if !slices.Equal(q.Headers, p.Headers) || !slices.Equal(q.Signature, p.Signature) || q.Created != p.Created || q.Expires != p.Expires {
			t.Fatalf("normalised header changed the parameters: %+v; want %+v", q, p)
		}
	})
}

// FuzzCheck feeds Check, then Verify, requests built from fuzzed header
// values and bodies, seeded with the captured requests. Neither may panic,
// and every error must be a 400 or 401 *Error.
func FuzzCheck(f *testing.F) {
	for _, file := range []string{"gotosocial-signed-requests.txt", "snac-signed-requests.txt"} {
		_, recs := readRecords(f, file, file)
		for _, rec := range recs {
			r := rec.req
			f.Add(r.Method, r.RequestURI, r.Header.Get("Signature"), r.Header.Get("Digest"), r.Header.Get("Date"), rec.body)
		}
	}
	f.Add("POST", "/inbox?a=%zz", `keyId="k",headers="(request-target) host date digest (created)",created=1,signature="AAAA"`, "SHA-256=,sha-512=x", "Mon, 23 Nov 2026 18:59:00 GMT", []byte("{}"))
	pub := publicKeyIn(f, readTestdata(f, "snac-signed-requests.txt"))
	now := time.Date(2026, 11, 23, 18, 59, 0, 0, time.UTC)

	f.Fuzz(func(t *testing.T, method, target, signature, digest, date string, body []byte) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		r := &http.Request{Method: method, URL: u, RequestURI: target, Host: "me.lab", Header: http.Header{}}
		for name, v := range map[string]string{"Signature": signature, "Digest": digest, "Date": date} {
			if v != "" {
				r.Header.Set(name, v)
			}
		}
		stage, err := checkAndVerify(r, body, now, pub)
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) || (e.Status != http.StatusBadRequest && e.Status != http.StatusUnauthorized) {
			t.Fatalf("%s: error %v is not a 400 or 401 *Error", stage, err)
		}
	})
}
