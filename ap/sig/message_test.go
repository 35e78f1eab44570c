package sig

import (
	"crypto"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The keys, request and signatures of RFC 9421 Appendix B (B.1.2, B.1.4,
// B.2), as published in the RFC.
const (
	rfcKeyRSAPSS = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----`
	rfcKeyEd25519 = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----`
	rfcContentDigest = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
	rfcBody          = `{"hello": "world"}`
	rfcCreated       = 1618884473
)

// rfcVectors are the request signatures of Appendix B.2 kith can check
// (B.2.4 signs a response, B.2.5 uses a shared secret).
var rfcVectors = []struct {
	section, key, input, sig string
}{
	{"B.2.1", rfcKeyRSAPSS,
		`sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"`,
		"sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:"},
	{"B.2.2", rfcKeyRSAPSS,
		`sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"`,
		"sig-b22=:LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQEdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKtjvuJyE5qH7KT8UCMkSowOB4+ECxCmT8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17SARYhpTlaqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd4je2U/lankenQ99PZfB4jY3I5rSV2DSBVkSFsURIjYErOs0tFTQosMTAoxk//0RoKUqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==:"},
	{"B.2.3", rfcKeyRSAPSS,
		`sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"`,
		"sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:"},
	{"B.2.6", rfcKeyEd25519,
		`sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`,
		"sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"},
}

// rfcRequest is the test-request of Appendix B.2 as a server receives it.
func rfcRequest(input, signature string) *http.Request {
	r := &http.Request{
		Method: http.MethodPost,
		URL:    &url.URL{Path: "/foo", RawQuery: "param=Value&Pet=dog"},
		Host:   "example.com",
		Header: http.Header{},
	}
	r.Header.Set("Date", "Tue, 20 Apr 2021 02:07:55 GMT")
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Content-Digest", rfcContentDigest)
	r.Header.Set("Content-Length", "18")
	r.Header.Set("Signature-Input", input)
	r.Header.Set("Signature", signature)
	return r
}

func rfcKey(t *testing.T, pemText string) crypto.PublicKey {
	t.Helper()
	k, err := ParsePublicKeyPEM(pemText)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// verifyVector checks the signature math alone, without Check's rules on
// what must be covered (B.2.1 covers nothing).
func verifyVector(r *http.Request, pub crypto.PublicKey) error {
	members, err := dictionary(r.Header.Get("Signature-Input"))
	if err != nil {
		return err
	}
	sigs, _ := dictionary(r.Header.Get("Signature"))
	sv, _ := lookup(sigs, members[0].key)
	items, params, ok := innerList(members[0].value)
	if !ok {
		return errors.New("bad inner list")
	}
	base, _, serr := signatureBase(r, items, members[0].value)
	if serr != nil {
		return serr
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Trim(sv, ":"))
	if err != nil {
		return err
	}
	return verifyMessage(&message{base: base, alg: params["alg"], sig: raw}, pub)
}

// TestRFC9421AppendixB: the request signatures of RFC 9421 Appendix B
// verify (RSA-PSS and Ed25519), and each fails once a covered component
// changes.
func TestRFC9421AppendixB(t *testing.T) {
	for _, v := range rfcVectors {
		t.Run(v.section, func(t *testing.T) {
			pub := rfcKey(t, v.key)
			if err := verifyVector(rfcRequest(v.input, v.sig), pub); err != nil {
				t.Fatalf("does not verify: %v", err)
			}
			if v.section == "B.2.1" {
				return // covers no component
			}
			changes := map[string]func(*http.Request){
				"authority": func(r *http.Request) { r.Host = "example.org" },
				"date":      func(r *http.Request) { r.Header.Set("Date", "Tue, 20 Apr 2021 02:07:56 GMT") },
				"query":     func(r *http.Request) { r.URL.RawQuery = "param=Value&Pet=cat" },
				"method":    func(r *http.Request) { r.Method = http.MethodPut },
			}
			failed := 0
			for name, change := range changes {
				r := rfcRequest(v.input, v.sig)
				change(r)
				if verifyVector(r, pub) != nil {
					failed++
				} else if strings.Contains(v.input, `"@`+name) || strings.Contains(v.input, `"`+name+`"`) ||
					(name == "query" && strings.Contains(v.input, "@query-param")) {
					t.Errorf("a changed %s still verifies", name)
				}
			}
			if failed == 0 {
				t.Error("no change made it fail")
			}
		})
	}
}

// TestCheckRFC9421: Check takes an RFC 9421 request that covers the method,
// target and body (B.2.3) when its created time is current, and Verify
// accepts it; it refuses one that covers too little, a stale one, a body
// that does not match Content-Digest, and a changed signature.
func TestCheckRFC9421(t *testing.T) {
	b23 := rfcVectors[2]
	pub := rfcKey(t, b23.key)
	now := time.Unix(rfcCreated, 0).Add(time.Minute)
	body := []byte(rfcBody)

	p, err := Check(rfcRequest(b23.input, b23.sig), body, now)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if p.KeyID != "test-key-rsa-pss" || p.Created != rfcCreated {
		t.Errorf("Params = %+v", p)
	}
	if err := Verify(rfcRequest(b23.input, b23.sig), p, pub); err != nil {
		t.Fatalf("Verify: %v", err)
	}

	bad := rfcRequest(b23.input, b23.sig)
	p, err = Check(bad, body, now)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), p.msg.sig...)
	flipped[10] ^= 1
	p.msg.sig = flipped
	if Verify(bad, p, pub) == nil {
		t.Error("a changed signature verifies")
	}

	for _, tc := range []struct {
		name   string
		req    *http.Request
		body   string
		now    time.Time
		status int
	}{
		{"covers no method", rfcRequest(rfcVectors[1].input, rfcVectors[1].sig), rfcBody, now, 401},
		{"ed25519 without content-digest", rfcRequest(rfcVectors[3].input, rfcVectors[3].sig), rfcBody, now, 401},
		{"stale", rfcRequest(b23.input, b23.sig), rfcBody, now.Add(2 * time.Hour), 401},
		{"body changed", rfcRequest(b23.input, b23.sig), `{"hello": "world!"}`, now, 400},
		{"no keyid", rfcRequest(strings.Replace(b23.input, `;keyid="test-key-rsa-pss"`, "", 1), b23.sig), rfcBody, now, 400},
		{"unknown algorithm", rfcRequest(b23.input+`;alg="hmac-sha256"`, b23.sig), rfcBody, now, 401},
		{"unclosed list", rfcRequest(`sig-b23=("date" "@method"`, b23.sig), rfcBody, now, 400},
		{"label without signature", rfcRequest(b23.input, strings.Replace(b23.sig, "sig-b23", "other", 1)), rfcBody, now, 401},
	} {
		_, err := Check(tc.req, []byte(tc.body), tc.now)
		var se *Error
		if !errors.As(err, &se) || se.Status != tc.status {
			t.Errorf("%s: %v; want status %d", tc.name, err, tc.status)
		}
	}
}

// TestSignMessageRoundTrip: what SignMessage writes passes Check and
// Verify as a server receives it, with and without a body, and a request
// sent elsewhere or with another body does not.
func TestSignMessageRoundTrip(t *testing.T) {
	key := testKey(t)
	s := Signer{KeyID: "https://kith.example/users/me#main-key", Key: key}
	now := time.Unix(1_800_000_000, 0)
	for _, body := range [][]byte{nil, []byte(`{"type":"Follow"}`)} {
		method := http.MethodGet
		if body != nil {
			method = http.MethodPost
		}
		out, _ := http.NewRequest(method, "https://Remote.Example/users/a/inbox?x=1", nil)
		out.Header.Set("Digest", "SHA-256=stale")
		if err := s.SignMessage(out, body, now); err != nil {
			t.Fatal(err)
		}
		if out.Header.Get("Digest") != "" {
			t.Error("a cavage Digest was left")
		}
		// As the server sees it.
		in := func(host, query string) *http.Request {
			return &http.Request{Method: method, Host: host, URL: &url.URL{Path: "/users/a/inbox", RawQuery: query}, Header: out.Header.Clone()}
		}
		p, err := Check(in("remote.example", "x=1"), body, now)
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		if p.KeyID != s.KeyID {
			t.Errorf("keyid = %q", p.KeyID)
		}
		if err := Verify(in("remote.example", "x=1"), p, &key.PublicKey); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		for name, r := range map[string]*http.Request{"other host": in("other.example", "x=1"), "other query": in("remote.example", "x=2")} {
			if p, err := Check(r, body, now); err == nil && Verify(r, p, &key.PublicKey) == nil {
				t.Errorf("%s: still verifies", name)
			}
		}
		if body != nil {
			if _, err := Check(in("remote.example", "x=1"), []byte(`{"type":"Undo"}`), now); err == nil {
				t.Error("another body passes Check")
			}
		}
	}
}
