package sig

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

const testKeyID = "https://kith.example/users/me#main-key"

// newSigned builds a client request for url, signs it, and returns it as a
// server receives it.
func newSigned(tb testing.TB, s Signer, method, url string, body []byte, contentType string, now time.Time) (client, server *http.Request) {
	tb.Helper()
	r, err := http.NewRequest(method, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if err := s.Sign(r, body, now); err != nil {
		tb.Fatalf("Sign: %v", err)
	}
	return r, overTheWire(tb, r, body)
}

func TestSignRoundTrip(t *testing.T) {
	key := testKey(t)
	s := Signer{KeyID: testKeyID, Key: key}
	// Not UTC, to show that Date is written in UTC anyway.
	now := time.Date(2026, 3, 4, 7, 8, 9, 0, time.FixedZone("CET", 3600))
	note := []byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Create"}`)

	tests := []struct {
		name        string
		method, url string
		body        []byte
		contentType string
		wantHeaders string
		wantTarget  string // (request-target) as it must have been signed
	}{
		{"GET with query", "GET", "https://remote.example/users/alice/outbox?page=true&min_id=5", nil, "",
			"(request-target) host date", "get /users/alice/outbox?page=true&min_id=5"},
		{"GET escaped path and query", "GET", "https://remote.example/tags/caf%C3%A9/a%2Fb?q=a%2Fb%20c", nil, "",
			"(request-target) host date", "get /tags/caf%C3%A9/a%2Fb?q=a%2Fb%20c"},
		{"GET empty path", "GET", "https://remote.example", nil, "",
			"(request-target) host date", "get /"},
		{"GET host with port", "GET", "https://remote.example:8443/users/alice", nil, "",
			"(request-target) host date", "get /users/alice"},
		{"POST with content-type", "POST", "https://remote.example/users/alice/inbox", note, "application/activity+json",
			"(request-target) host date digest content-type", "post /users/alice/inbox"},
		{"POST without content-type", "POST", "https://remote.example/inbox", note, "",
			"(request-target) host date digest", "post /inbox"},
		{"POST empty body", "POST", "https://remote.example/inbox", []byte{}, "application/activity+json",
			"(request-target) host date digest content-type", "post /inbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, r := newSigned(t, s, tt.method, tt.url, tt.body, tt.contentType, now)

			v := r.Header.Get("Signature")
			if !strings.HasPrefix(v, `keyId="`+testKeyID+`",algorithm="rsa-sha256",`) {
				t.Errorf("Signature: got %s; want keyId then algorithm=\"rsa-sha256\"", v)
			}
			if strings.Contains(v, ", ") {
				t.Errorf("Signature has a space after a comma: %s", v)
			}
			if want := `headers="` + tt.wantHeaders + `"`; !strings.Contains(v, want) {
				t.Errorf("Signature: got %s; want %s", v, want)
			}
			if got, want := r.Header.Get("Date"), "Wed, 04 Mar 2026 06:08:09 GMT"; got != want {
				t.Errorf("Date: got %q; want %q", got, want)
			}
			if got, want := client.Header.Get("Host"), client.URL.Host; got != want {
				t.Errorf("Host header: got %q; want %q", got, want)
			}
			if tt.body != nil {
				sum := sha256.Sum256(tt.body)
				if got, want := r.Header.Get("Digest"), "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]); got != want {
					t.Errorf("Digest: got %q; want %q", got, want)
				}
			} else if got := r.Header.Get("Digest"); got != "" {
				t.Errorf("Digest without a body: got %q; want none", got)
			}

			// The (request-target) is the one on the wire, query included:
			// an independent verifier building it from the request line agrees.
			if got := strings.ToLower(r.Method) + " " + r.RequestURI; got != tt.wantTarget {
				t.Errorf("request line target: got %q; want %q", got, tt.wantTarget)
			}
			if err := independentVerify(r, &key.PublicKey); err != nil {
				t.Errorf("independent verifier: got %v; want nil", err)
			}
			if stage, err := checkAndVerify(r, tt.body, now, &key.PublicKey); err != nil {
				t.Errorf("%s: got %v; want nil", stage, err)
			}

			// A different query must not verify, so the query was signed.
			if r.URL.RawQuery != "" {
				r.URL.RawQuery += "&x=1"
				r.RequestURI += "&x=1"
				if err := independentVerify(r, &key.PublicKey); err == nil {
					t.Errorf("independent verifier with another query: got nil; want an error")
				}
				if stage, err := checkAndVerify(r, tt.body, now, &key.PublicKey); stage != "Verify" || statusOf(err) != 401 {
					t.Errorf("another query: got %s %v; want Verify 401", stage, err)
				}
			}
		})
	}
}

// A retry signs the same request again: one Digest, one Signature, new Date.
func TestSignAgain(t *testing.T) {
	key := testKey(t)
	s := Signer{KeyID: testKeyID, Key: key}
	body := []byte(`{"type":"Follow"}`)
	r, err := http.NewRequest("POST", "https://remote.example/inbox", nil)
	if err != nil {
		t.Fatal(err)
	}
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	later := first.Add(3 * time.Hour)
	for _, now := range []time.Time{first, later} {
		if err := s.Sign(r, body, now); err != nil {
			t.Fatalf("Sign: %v", err)
		}
	}
	if got := len(r.Header.Values("Digest")); got != 1 {
		t.Errorf("Digest headers: got %d; want 1", got)
	}
	if got := len(r.Header.Values("Signature")); got != 1 {
		t.Errorf("Signature headers: got %d; want 1", got)
	}
	sr := overTheWire(t, r, body)
	if stage, err := checkAndVerify(sr, body, later, &key.PublicKey); err != nil {
		t.Errorf("%s: got %v; want nil", stage, err)
	}
}

func TestSignErrors(t *testing.T) {
	key := testKey(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		s    Signer
		edit func(r *http.Request)
	}{
		{"no key", Signer{KeyID: testKeyID}, func(*http.Request) {}},
		{"no keyId", Signer{Key: key}, func(*http.Request) {}},
		{"comma in keyId", Signer{KeyID: "https://a.example/k,1", Key: key}, func(*http.Request) {}},
		{"quote in keyId", Signer{KeyID: `https://a.example/k"`, Key: key}, func(*http.Request) {}},
		{"Host differs from URL", Signer{KeyID: testKeyID, Key: key}, func(r *http.Request) { r.Host = "other.example" }},
		{"no host", Signer{KeyID: testKeyID, Key: key}, func(r *http.Request) { r.URL.Host = ""; r.Host = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequest("GET", "https://remote.example/users/alice", nil)
			if err != nil {
				t.Fatal(err)
			}
			tt.edit(r)
			if err := tt.s.Sign(r, nil, now); err == nil {
				t.Errorf("got nil; want an error (Signature %q)", r.Header.Get("Signature"))
			}
		})
	}
}

// One Signer used from many goroutines (run with -race to make this bite).
func TestSignConcurrent(t *testing.T) {
	key := testKey(t)
	s := Signer{KeyID: testKeyID, Key: key}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 8
	servers := make([]*http.Request, n)
	bodies := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		r, err := http.NewRequest("POST", "https://remote.example/inbox", nil)
		if err != nil {
			t.Fatal(err)
		}
		bodies[i] = []byte(strings.Repeat("x", i+1))
		wg.Go(func() {
			if err := s.Sign(r, bodies[i], now); err != nil {
				t.Errorf("Sign: %v", err)
			}
		})
		servers[i] = r
	}
	wg.Wait()
	for i, r := range servers {
		sr := overTheWire(t, r, bodies[i])
		if stage, err := checkAndVerify(sr, bodies[i], now, &key.PublicKey); err != nil {
			t.Errorf("request %d: %s: got %v; want nil", i, stage, err)
		}
	}
}
