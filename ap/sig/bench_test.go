package sig

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"
	"time"
)

var benchNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// benchBody is a 2 KB activity-sized body.
func benchBody() []byte {
	return []byte(`{"type":"Create","content":"` + strings.Repeat("a", 2048-30) + `"}`)
}

// BenchmarkVerifyPOST is the inbox's cost per delivery: Check and Verify of a
// signed 2 KB POST with an RSA-2048 key.
func BenchmarkVerifyPOST(b *testing.B) {
	key := testKey(b)
	body := benchBody()
	_, r := newSigned(b, Signer{KeyID: testKeyID, Key: key}, "POST", "https://kith.example/users/me/inbox", body, "application/activity+json", benchNow)
	b.ReportAllocs()
	for b.Loop() {
		p, err := Check(r, body, benchNow)
		if err != nil {
			b.Fatal(err)
		}
		if err := Verify(r, p, &key.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRSAVerify is the floor under BenchmarkVerifyPOST: one bare
// RSA-2048 PKCS#1 v1.5 verification of the same signing string.
func BenchmarkRSAVerify(b *testing.B) {
	key := testKey(b)
	body := benchBody()
	_, r := newSigned(b, Signer{KeyID: testKeyID, Key: key}, "POST", "https://kith.example/users/me/inbox", body, "application/activity+json", benchNow)
	p, err := FromRequest(r)
	if err != nil {
		b.Fatal(err)
	}
	signing := []byte(signingString(r, p.Headers, 0, 0))
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.Sum256(signing)
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, h[:], p.Signature); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignPOST signs a 2 KB POST with an RSA-2048 key, as delivery does
// once per attempt.
func BenchmarkSignPOST(b *testing.B) {
	s := Signer{KeyID: testKeyID, Key: testKey(b)}
	body := benchBody()
	r, err := http.NewRequest("POST", "https://remote.example/inbox", nil)
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/activity+json")
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Sign(r, body, benchNow); err != nil {
			b.Fatal(err)
		}
	}
}
