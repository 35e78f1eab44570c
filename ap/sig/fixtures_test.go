package sig

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// Every signed request captured from GoToSocial and snac passes Check and
// Verify at its own Date, and fails once its path or body is changed.
func TestCapturedRequests(t *testing.T) {
	tests := []struct {
		file, keyFile             string
		wantVerified, wantSkipped int
	}{
		{"gotosocial-signed-requests.txt", "gotosocial-signed-requests.txt", 10, 0},
		// "Same key as gotosocial-signed-requests.txt", says its header.
		{"gotosocial-first-contact.txt", "gotosocial-signed-requests.txt", 11, 0},
		{"snac-signed-requests.txt", "snac-signed-requests.txt", 9, 2},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			pub, recs := readRecords(t, tt.file, tt.keyFile)
			verified, skipped := 0, 0
			for _, rec := range recs {
				if !isSigned(rec.req) {
					skipped++
					continue
				}
				name := fmt.Sprintf("line %d %s %s", rec.line, rec.req.Method, rec.req.URL.Path)
				t.Run(name, func(t *testing.T) {
					now, err := http.ParseTime(rec.req.Header.Get("Date"))
					if err != nil {
						t.Fatal(err)
					}
					if stage, err := checkAndVerify(rec.req, rec.body, now, pub); err != nil {
						t.Fatalf("%s: got %v; want nil", stage, err)
					}
					verified++
					testTampering(t, rec, now, pub)
				})
			}
			t.Logf("%s: %d signed requests verified, %d unsigned skipped", tt.file, verified, skipped)
			if verified != tt.wantVerified || skipped != tt.wantSkipped {
				t.Errorf("verified, skipped: got %d, %d; want %d, %d", verified, skipped, tt.wantVerified, tt.wantSkipped)
			}
		})
	}
}

func testTampering(t *testing.T, rec record, now time.Time, pub crypto.PublicKey) {
	t.Helper()
	p, err := FromRequest(rec.req)
	if err != nil {
		t.Fatal(err)
	}
	digestSigned := slices.Contains(p.Headers, "digest")

	moved := rec.req.Clone(context.Background())
	moved.URL.Path += "x"
	moved.URL.RawPath = ""
	if stage, err := checkAndVerify(moved, rec.body, now, pub); stage != "Verify" || statusOf(err) != http.StatusUnauthorized {
		t.Errorf("path changed: got %s %v; want Verify 401", stage, err)
	}

	if len(rec.body) == 0 && !digestSigned {
		return // a GET with nothing that covers a body
	}
	tampered := []byte("x")
	if len(rec.body) > 0 {
		tampered = slices.Clone(rec.body)
		tampered[len(tampered)/2] ^= 0x20
	}
	if stage, err := checkAndVerify(rec.req, tampered, now, pub); stage != "Check" || statusOf(err) != http.StatusBadRequest {
		t.Errorf("body changed: got %s %v; want Check 400", stage, err)
	}
	// Whoever changes the body and fixes up the Digest breaks the signature.
	redigested := rec.req.Clone(context.Background())
	sum := sha256.Sum256(tampered)
	redigested.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
	if stage, err := checkAndVerify(redigested, tampered, now, pub); stage != "Verify" || statusOf(err) != http.StatusUnauthorized {
		t.Errorf("body and Digest changed: got %s %v; want Verify 401", stage, err)
	}
}

// Mastodon's own cavage vectors (spec/requests/signature_verification_spec.rb).
func TestMastodonVectors(t *testing.T) {
	text := readTestdata(t, "http-signature-mastodon-spec-vectors.txt")
	pub := publicKeyIn(t, text)
	key := rsaPrivateKeyIn(t, text)
	now := mustTime(t, "2023-12-20T10:00:00Z")

	a1, _ := headBlock(t, text, "--- A1.")
	a2, _ := headBlock(t, text, "--- A2.")
	a4, body := headBlock(t, text, "--- A4.")
	if body != "Hello world" {
		t.Fatalf("A4 body: got %q; want %q", body, "Hello world")
	}

	// Correctly signed, so that only Check's rules can refuse them.
	noDigest := buildRequest(t, a4, body)
	signManual(t, noDigest, key, "rsa-sha256", []string{"host", "date", "(request-target)"})
	stale := buildRequest(t, withLine(a4, "Date:", "Date: Wed, 18 Dec 2023 10:00:00 GMT"), body)
	signManual(t, stale, key, "rsa-sha256", []string{"host", "date", "digest", "(request-target)"})

	tests := []struct {
		name      string
		r         *http.Request
		body      string
		wantStage string
		want      int
	}{
		{"A1 GET", buildRequest(t, a1, ""), "", "", 0},
		{"A2 GET with query", buildRequest(t, a2, ""), "", "", 0},
		{"A3 query-less signature", buildRequest(t, withLine(a1, "GET ", "GET /activitypub/success?foo=42 HTTP/1.1"), ""), "", "", 0},
		{"A2 signature on another query", buildRequest(t, withLine(a2, "GET ", "GET /activitypub/success?foo=43 HTTP/1.1"), ""), "", "Verify", 401},
		{"A4 POST", buildRequest(t, a4, body), body, "", 0},
		{"wrong body", buildRequest(t, a4, "Hello world!"), "Hello world!", "Check", 400},
		{"digest not signed", noDigest, body, "Check", 401},
		{"two-day-old Date", stale, body, "Check", 401},
		{"wrong date", buildRequest(t, withLine(a4, "Date:", "Date: wrong date"), body), body, "Check", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stage, err := checkAndVerify(tt.r, []byte(tt.body), now, pub)
			if stage != tt.wantStage || statusOf(err) != tt.want {
				t.Errorf("got %q %d (%v); want %q %d", stage, statusOf(err), err, tt.wantStage, tt.want)
			}
		})
	}

	// The two requests Check refuses do carry valid signatures.
	for _, r := range []*http.Request{noDigest, stale} {
		p, err := FromRequest(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(r, p, pub); err != nil {
			t.Errorf("Verify of a re-signed vector: got %v; want nil", err)
		}
	}
}

// A real Follow delivered by Mastodon 4.1.4.
func TestMastodonRealFollow(t *testing.T) {
	text := readTestdata(t, "http-signature-mastodon-real-follow.txt")
	head, body := headBlock(t, text, "")
	r := buildRequest(t, head, body)
	pub := publicKeyIn(t, text)
	now := mustTime(t, "2024-01-11T23:37:52Z")

	p, err := Check(r, []byte(body), now)
	if err != nil {
		t.Fatalf("Check: got %v; want nil", err)
	}
	if want := "https://activitypub.academy/users/beguca_dedashul#main-key"; p.KeyID != want {
		t.Errorf("KeyID: got %q; want %q", p.KeyID, want)
	}
	if want := []string{"(request-target)", "host", "date", "digest", "content-type"}; !slices.Equal(p.Headers, want) {
		t.Errorf("Headers: got %q; want %q", p.Headers, want)
	}
	if err := Verify(r, p, pub); err != nil {
		t.Errorf("Verify: got %v; want nil", err)
	}
}

// draft-cavage Appendix C, as go-fed's tests carry it. C.1 and C.2 sign too
// little for Check, but their signatures verify.
func TestCavageAppendixC(t *testing.T) {
	text := readTestdata(t, "http-signature-cavage-appendix-c.txt")
	head, body := headBlock(t, text, "Request:")
	pub := publicKeyIn(t, text)
	now := mustTime(t, "2014-01-05T21:31:40Z")

	tests := []struct {
		marker      string
		wantHeaders []string
		wantCheck   int
	}{
		{"--- C.1", []string{"date"}, 401},
		{"--- C.2", []string{"(request-target)", "host", "date"}, 401},
		{"--- C.3", []string{"(request-target)", "host", "date", "content-type", "digest", "content-length"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.marker, func(t *testing.T) {
			r := buildRequest(t, append(slices.Clone(head), lineStarting(t, text, tt.marker, "Signature: ")), body)
			p, err := FromRequest(r)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Headers, tt.wantHeaders) {
				t.Errorf("Headers: got %q; want %q", p.Headers, tt.wantHeaders)
			}
			if err := Verify(r, p, pub); err != nil {
				t.Errorf("Verify: got %v; want nil", err)
			}
			if _, err := Check(r, []byte(body), now); statusOf(err) != tt.wantCheck {
				t.Errorf("Check: got %v; want status %d", err, tt.wantCheck)
			}
		})
	}

	// go-fed's own output: Authorization scheme, hs2019 label, explicit headers.
	c1 := lineStarting(t, text, "--- C.1", "Signature: ")
	sigValue := c1[strings.Index(c1, `signature="`):]
	auth := `Authorization: Signature keyId="Test",algorithm="hs2019",headers="date",` + sigValue
	r := buildRequest(t, append(slices.Clone(head), auth), body)
	p, err := FromRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	if p.Algorithm != "hs2019" || p.KeyID != "Test" {
		t.Errorf("Authorization form: got %q %q; want hs2019 Test", p.Algorithm, p.KeyID)
	}
	if err := Verify(r, p, pub); err != nil {
		t.Errorf("Verify of the Authorization form: got %v; want nil", err)
	}
}
