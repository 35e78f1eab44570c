package sig

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var checkNow = time.Date(2026, 5, 6, 12, 0, 0, 0, time.UTC)

// received returns a request as a server would get it, signed with the test
// key over headers (bypassing Signer, so lists Signer never makes are possible).
func received(tb testing.TB, method string, body []byte, headers []string) *http.Request {
	tb.Helper()
	r, err := http.NewRequest(method, "https://kith.example/users/me/inbox?x=1", nil)
	if err != nil {
		tb.Fatal(err)
	}
	r.Header.Set("Date", checkNow.Format(http.TimeFormat))
	r.Header.Set("Accept", "application/activity+json")
	if body != nil {
		sum := sha256.Sum256(body)
		r.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
		r.Header.Set("Content-Type", "application/activity+json")
	}
	sr := overTheWire(tb, r, body)
	signManual(tb, sr, testKey(tb), "rsa-sha256", headers)
	return sr
}

var (
	getHeaders  = []string{"(request-target)", "host", "date"}
	postHeaders = []string{"(request-target)", "host", "date", "digest", "content-type"}
)

func TestCheckVerifyNegative(t *testing.T) {
	key := testKey(t)
	other := mastodonKey(t)
	body := []byte(`{"type":"Like"}`)

	tests := []struct {
		name      string
		r         *http.Request
		body      []byte
		now       time.Time
		pub       crypto.PublicKey
		wantStage string
		want      int
	}{
		// The baseline the others depart from.
		{"valid GET", received(t, "GET", nil, getHeaders), nil, checkNow, &key.PublicKey, "", 0},
		{"valid POST", received(t, "POST", body, postHeaders), body, checkNow, &key.PublicKey, "", 0},

		{"no signature", func() *http.Request {
			r := received(t, "GET", nil, getHeaders)
			r.Header.Del("Signature")
			return r
		}(), nil, checkNow, &key.PublicKey, "Check", 401},
		{"unknown algorithm", func() *http.Request {
			r := received(t, "GET", nil, getHeaders)
			signManual(t, r, key, "hmac-sha256", getHeaders)
			return r
		}(), nil, checkNow, &key.PublicKey, "Check", 401},
		{"signed header missing", func() *http.Request {
			r := received(t, "GET", nil, append(slices.Clone(getHeaders), "accept"))
			r.Header.Del("Accept")
			return r
		}(), nil, checkNow, &key.PublicKey, "Check", 401},
		{"host not signed", received(t, "GET", nil, []string{"(request-target)", "date"}), nil, checkNow, &key.PublicKey, "Check", 401},
		{"request-target not signed", received(t, "GET", nil, []string{"host", "date"}), nil, checkNow, &key.PublicKey, "Check", 401},
		{"date not signed", received(t, "GET", nil, []string{"(request-target)", "host"}), nil, checkNow, &key.PublicKey, "Check", 401},
		{"digest not signed on POST", received(t, "POST", body, getHeaders), body, checkNow, &key.PublicKey, "Check", 401},
		{"Digest mismatch", received(t, "POST", body, postHeaders), []byte(`{"type":"Like "}`), checkNow, &key.PublicKey, "Check", 400},
		{"Date 2 hours old", received(t, "GET", nil, getHeaders), nil, checkNow.Add(2 * time.Hour), &key.PublicKey, "Check", 401},
		{"Date 2 hours ahead", received(t, "GET", nil, getHeaders), nil, checkNow.Add(-2 * time.Hour), &key.PublicKey, "Check", 401},
		{"wrong key", received(t, "GET", nil, getHeaders), nil, checkNow, &other.PublicKey, "Verify", 401},
		{"tampered signature", func() *http.Request {
			r := received(t, "GET", nil, getHeaders)
			p, err := FromRequest(r)
			if err != nil {
				t.Fatal(err)
			}
			p.Signature[7] ^= 1
			r.Header.Set("Signature", `keyId="k",algorithm="rsa-sha256",headers="(request-target) host date",signature="`+
				base64.StdEncoding.EncodeToString(p.Signature)+`"`)
			return r
		}(), nil, checkNow, &key.PublicKey, "Verify", 401},
		{"malformed header", func() *http.Request {
			r := received(t, "GET", nil, getHeaders)
			r.Header.Set("Signature", `keyId="k",headers="(request-target) host date,signature="abc`)
			return r
		}(), nil, checkNow, &key.PublicKey, "Check", 400},
		{"two Signature headers", func() *http.Request {
			r := received(t, "GET", nil, getHeaders)
			r.Header.Add("Signature", r.Header.Get("Signature"))
			return r
		}(), nil, checkNow, &key.PublicKey, "Check", 400},
		{"body on a GET without digest", received(t, "GET", nil, getHeaders), []byte("x"), checkNow, &key.PublicKey, "Check", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stage, err := checkAndVerify(tt.r, tt.body, tt.now, tt.pub)
			if stage != tt.wantStage || statusOf(err) != tt.want {
				t.Errorf("got %q %d (%v); want %q %d", stage, statusOf(err), err, tt.wantStage, tt.want)
			}
		})
	}
}

func TestNoSignature(t *testing.T) {
	r := received(t, "GET", nil, getHeaders)
	r.Header.Del("Signature")
	r.Header.Set("Authorization", "Bearer abc")
	_, err := Check(r, nil, checkNow)
	if !errors.Is(err, ErrNoSignature) {
		t.Errorf("got %v; want ErrNoSignature", err)
	}
	if statusOf(err) != 401 {
		t.Errorf("status: got %d; want 401", statusOf(err))
	}
}

func TestCheckWindow(t *testing.T) {
	r := received(t, "GET", nil, getHeaders)
	tests := []struct {
		name string
		now  time.Time
		want int
	}{
		{"65 minutes later", checkNow.Add(65 * time.Minute), 0},
		{"65 minutes and a second later", checkNow.Add(65*time.Minute + time.Second), 401},
		{"60 minutes earlier", checkNow.Add(-60 * time.Minute), 0},
		{"60 minutes and a second earlier", checkNow.Add(-60*time.Minute - time.Second), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Check(r, nil, tt.now); statusOf(err) != tt.want {
				t.Errorf("got %v; want status %d", err, tt.want)
			}
		})
	}
}

// hs2019 with (created) and (expires) instead of Date, as the newer drafts have it.
func TestCheckCreatedExpires(t *testing.T) {
	created := checkNow.Unix()
	tests := []struct {
		name    string
		headers string
		params  string
		now     time.Time
		want    int
	}{
		{"created in window", "(request-target) host (created)", "created=" + strconv.FormatInt(created, 10), checkNow.Add(time.Minute), 0},
		{"created too old", "(request-target) host (created)", "created=" + strconv.FormatInt(created, 10), checkNow.Add(2 * time.Hour), 401},
		{"created too new", "(request-target) host (created)", "created=" + strconv.FormatInt(created, 10), checkNow.Add(-2 * time.Hour), 401},
		{"created signed but absent", "(request-target) host (created)", "", checkNow, 401},
		{"expires ahead", "(request-target) host date (expires)", "expires=" + strconv.FormatInt(created+300, 10), checkNow.Add(time.Minute), 0},
		{"expires passed", "(request-target) host date (expires)", "expires=" + strconv.FormatInt(created+300, 10), checkNow.Add(6 * time.Minute), 401},
		{"unknown pseudo-header", "(request-target) host date (foo)", "", checkNow, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := received(t, "GET", nil, getHeaders)
			v := `keyId="k",algorithm="hs2019",headers="` + tt.headers + `",signature="AAAA"`
			if tt.params != "" {
				v += "," + tt.params
			}
			r.Header.Set("Signature", v)
			if _, err := Check(r, nil, tt.now); statusOf(err) != tt.want {
				t.Errorf("got %v; want status %d", err, tt.want)
			}
		})
	}
}

func TestCheckDigest(t *testing.T) {
	body := []byte(`{"type":"Note"}`)
	s256 := sha256.Sum256(body)
	s512 := sha512.Sum512(body)
	b256 := base64.StdEncoding.EncodeToString(s256[:])
	b512 := base64.StdEncoding.EncodeToString(s512[:])
	empty := sha256.Sum256(nil)

	tests := []struct {
		name   string
		digest []string
		body   []byte
		want   int
	}{
		{"SHA-256", []string{"SHA-256=" + b256}, body, 0},
		{"lower-case algorithm", []string{"sha-256=" + b256}, body, 0},
		{"SHA-512", []string{"SHA-512=" + b512}, body, 0},
		{"list", []string{"MD5=abc, SHA-512=" + b512 + ",SHA-256=" + b256}, body, 0},
		{"two header lines", []string{"SHA-512=" + b512, "SHA-256=" + b256}, body, 0},
		{"one of two wrong", []string{"SHA-256=" + b256 + ",SHA-512=" + b256}, body, 400},
		{"no known algorithm", []string{"MD5=abc"}, body, 400},
		{"not base64", []string{"SHA-256=???"}, body, 400},
		{"no value", []string{"SHA-256"}, body, 400},
		{"wrong body", []string{"SHA-256=" + b256}, []byte("{}"), 400},
		{"empty body", []string{"SHA-256=" + base64.StdEncoding.EncodeToString(empty[:])}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := 0
			if err := checkDigest(tt.digest, tt.body); err != nil {
				status = err.Status
			}
			if status != tt.want {
				t.Errorf("got status %d; want %d", status, tt.want)
			}
		})
	}

	// Present but unsigned still has to match, as snac's GETs show it can.
	r := received(t, "GET", nil, getHeaders)
	r.Header.Set("Digest", "SHA-256="+b256)
	if _, err := Check(r, nil, checkNow); statusOf(err) != 400 {
		t.Errorf("unsigned wrong Digest: got %v; want status 400", err)
	}
}

func TestCheckAlgorithms(t *testing.T) {
	for _, alg := range []string{"", "rsa-sha256", "hs2019", "rsa-sha512", "ed25519", "RSA-SHA256"} {
		t.Run("accept "+alg, func(t *testing.T) {
			r := received(t, "GET", nil, getHeaders)
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), `algorithm="rsa-sha256"`, `algorithm="`+alg+`"`, 1))
			if _, err := Check(r, nil, checkNow); err != nil {
				t.Errorf("got %v; want nil", err)
			}
		})
	}
	for _, alg := range []string{"hmac-sha256", "rsa-sha1", "ecdsa-sha256", "sha256"} {
		t.Run("refuse "+alg, func(t *testing.T) {
			r := received(t, "GET", nil, getHeaders)
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), `algorithm="rsa-sha256"`, `algorithm="`+alg+`"`, 1))
			if _, err := Check(r, nil, checkNow); statusOf(err) != 401 {
				t.Errorf("got %v; want status 401", err)
			}
		})
	}
}

// Verify with what other servers send that go-fed alone would not accept.
func TestVerifyVariants(t *testing.T) {
	key := testKey(t)

	t.Run("spaces after commas and a Signature prefix", func(t *testing.T) {
		r := received(t, "GET", nil, getHeaders)
		r.Header.Set("Signature", "Signature "+strings.ReplaceAll(r.Header.Get("Signature"), `",`, `", `))
		if stage, err := checkAndVerify(r, nil, checkNow, &key.PublicKey); err != nil {
			t.Errorf("%s: got %v; want nil", stage, err)
		}
	})

	t.Run("Authorization header", func(t *testing.T) {
		r := received(t, "GET", nil, getHeaders)
		r.Header.Set("Authorization", "Signature "+r.Header.Get("Signature"))
		r.Header.Del("Signature")
		if stage, err := checkAndVerify(r, nil, checkNow, &key.PublicKey); err != nil {
			t.Errorf("%s: got %v; want nil", stage, err)
		}
	})

	t.Run("rsa-sha512", func(t *testing.T) {
		r := received(t, "GET", nil, getHeaders)
		h := sha512.Sum512([]byte(signingString(r, getHeaders, 0, 0)))
		s, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA512, h[:])
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Signature", `keyId="k",algorithm="rsa-sha512",headers="(request-target) host date",signature="`+base64.StdEncoding.EncodeToString(s)+`"`)
		if stage, err := checkAndVerify(r, nil, checkNow, &key.PublicKey); err != nil {
			t.Errorf("%s: got %v; want nil", stage, err)
		}
		// Labelled otherwise, only SHA-256 is tried.
		r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), "rsa-sha512", "hs2019", 1))
		if stage, err := checkAndVerify(r, nil, checkNow, &key.PublicKey); statusOf(err) != 401 {
			t.Errorf("SHA-512 signature labelled hs2019: got %s %v; want Verify 401", stage, err)
		}
	})

	t.Run("ed25519", func(t *testing.T) {
		priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
		pub := priv.Public().(ed25519.PublicKey)
		r := received(t, "POST", []byte(`{}`), postHeaders)
		s := ed25519.Sign(priv, []byte(signingString(r, postHeaders, 0, 0)))
		r.Header.Set("Signature", `keyId="k",algorithm="hs2019",headers="`+strings.Join(postHeaders, " ")+`",signature="`+base64.StdEncoding.EncodeToString(s)+`"`)
		if stage, err := checkAndVerify(r, []byte(`{}`), checkNow, pub); err != nil {
			t.Errorf("%s: got %v; want nil", stage, err)
		}
		if stage, err := checkAndVerify(r, []byte(`{}`), checkNow, &key.PublicKey); statusOf(err) != 401 {
			t.Errorf("with an RSA key: got %s %v; want Verify 401", stage, err)
		}
	})

	t.Run("multi-valued header", func(t *testing.T) {
		r := received(t, "GET", nil, getHeaders)
		r.Header.Add("Accept", "application/ld+json")
		headers := append(slices.Clone(getHeaders), "accept")
		signManual(t, r, key, "rsa-sha256", headers)
		if stage, err := checkAndVerify(r, nil, checkNow, &key.PublicKey); err != nil {
			t.Errorf("%s: got %v; want nil", stage, err)
		}
	})

	t.Run("unsupported key type", func(t *testing.T) {
		r := received(t, "GET", nil, getHeaders)
		p, err := Check(r, nil, checkNow)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(r, p, key); statusOf(err) != 401 { // a private key is not a public key
			t.Errorf("got %v; want status 401", err)
		}
	})
}

// Verify works on a copy: the caller's request is unchanged, even its header map.
func TestVerifyLeavesRequestAlone(t *testing.T) {
	key := testKey(t)
	r := received(t, "GET", nil, getHeaders)
	r.Header.Set("Signature", strings.ReplaceAll(r.Header.Get("Signature"), `",`, `", `))
	before := r.Header.Clone()
	url := *r.URL
	p, err := Check(r, nil, checkNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(r, p, &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(before, r.Header, slices.Equal) {
		t.Errorf("header: got %v; want %v", r.Header, before)
	}
	if *r.URL != url {
		t.Errorf("URL: got %v; want %v", r.URL, &url)
	}
}

func TestParsePublicKeyPEM(t *testing.T) {
	key := testKey(t)
	pkix := readTestdata(t, "http-signature-mastodon-real-follow.txt")
	pkix = pkix[strings.Index(pkix, "-----BEGIN PUBLIC KEY-----"):]
	pkix = pkix[:strings.Index(pkix, "-----END PUBLIC KEY-----")+len("-----END PUBLIC KEY-----")]
	pkcs1 := pemText("RSA PUBLIC KEY", x509PKCS1(&key.PublicKey))
	edPub := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public()
	ed := pemText("PUBLIC KEY", x509PKIX(t, edPub))

	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"PKIX RSA", pkix, false},
		{"surrounding whitespace and CRLF", "\n  " + strings.ReplaceAll(pkix, "\n", "\r\n") + "\r\n\n", false},
		{"PKCS#1", pkcs1, false},
		{"Ed25519", ed, false},
		{"private key", readTestdata(t, "test-rsa-2048.pem"), true},
		{"not PEM", "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAzOQXkYZN7LoATFNQ3mm", true},
		{"empty", "", true},
		{"garbage in a block", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParsePublicKeyPEM(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got %T %v; want error %v", k, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			switch k := k.(type) {
			case *rsa.PublicKey:
				if k.N.BitLen() < 2048 {
					t.Errorf("RSA key of %d bits; want 2048", k.N.BitLen())
				}
			case ed25519.PublicKey:
				if !k.Equal(edPub) {
					t.Errorf("got %x; want %x", k, edPub)
				}
			default:
				t.Errorf("got %T; want an RSA or Ed25519 key", k)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := ParseHeader(`keyId="a`)
	if got, want := fmt.Sprint(err), "http signature: malformed Signature header: unclosed quoted string"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}
