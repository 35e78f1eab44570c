package mastoapi

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"kith/ap/aptest"
)

// fixedVAPIDKey stores a VAPID key made from a fixed scalar, so that
// answers showing the public key can be golden.
func fixedVAPIDKey(t *testing.T, k *kit) {
	t.Helper()
	scalar := make([]byte, 32)
	scalar[31] = 7
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.inst.DB.VAPIDKey(context.Background(), func() ([]byte, error) { return der, nil }); err != nil {
		t.Fatal(err)
	}
}

// mustB64 decodes base64url or fails.
func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := b64.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPushEncryptionRFC8291: the example of RFC 8291 Appendix A, with its
// sender key and salt, comes out byte for byte.
func TestPushEncryptionRFC8291(t *testing.T) {
	asKey, err := ecdh.P256().NewPrivateKey(mustB64(t, "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"))
	if err != nil {
		t.Fatal(err)
	}
	uaPublic := mustB64(t, "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4")
	got, err := encryptPush([]byte("When I grow up, I want to be a watermelon"), uaPublic,
		mustB64(t, "BTBZMqHH6r4Tts7J_aSIgg"), asKey, mustB64(t, "DGv6ra1nlYgDCS1FRnbzlw"))
	if err != nil {
		t.Fatal(err)
	}
	want := "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
	if b64.EncodeToString(got) != want {
		t.Errorf("encrypted\n%s\nwant\n%s", b64.EncodeToString(got), want)
	}
	// And the subscriber's side of this test reads it back.
	uaPrivate, err := ecdh.P256().NewPrivateKey(mustB64(t, "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"))
	if err != nil {
		t.Fatal(err)
	}
	if plain := decryptPush(t, got, uaPrivate, mustB64(t, "BTBZMqHH6r4Tts7J_aSIgg")); string(plain) != "When I grow up, I want to be a watermelon" {
		t.Errorf("decrypted %q", plain)
	}
}

// hmacSHA256 is HMAC-SHA-256.
func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// decryptPush is the subscriber's side of RFC 8291, written from the RFC's
// own formulation (HMAC steps rather than kith's HKDF calls), so it checks
// kith rather than repeating it.
func decryptPush(t *testing.T, body []byte, ua *ecdh.PrivateKey, auth []byte) []byte {
	t.Helper()
	if len(body) < 21 {
		t.Fatalf("body of %d bytes", len(body))
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if rs < 18 || idlen != 65 || len(body) < 21+idlen {
		t.Fatalf("header rs %d idlen %d", rs, idlen)
	}
	asPublic, ciphertext := body[21:21+idlen], body[21+idlen:]
	as, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := ua.ECDH(as)
	if err != nil {
		t.Fatal(err)
	}
	prkKey := hmacSHA256(auth, secret)
	keyInfo := append(append(append([]byte("WebPush: info\x00"), ua.PublicKey().Bytes()...), asPublic...), 1)
	ikm := hmacSHA256(prkKey, keyInfo)
	prk := hmacSHA256(salt, ikm)
	cek := hmacSHA256(prk, []byte("Content-Encoding: aes128gcm\x00\x01"))[:16]
	nonce := hmacSHA256(prk, []byte("Content-Encoding: nonce\x00\x01"))[:12]
	block, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, nonce, ciphertext, nil)
	if err != nil {
		t.Fatalf("cannot decrypt: %v", err)
	}
	plain = bytes.TrimRight(plain, "\x00")
	if len(plain) == 0 || plain[len(plain)-1] != 2 {
		t.Fatalf("no last-record delimiter")
	}
	return plain[:len(plain)-1]
}

// pushed is one request the fake push service received.
type pushed struct {
	header http.Header
	body   []byte
}

// fakePushService is a push service on loopback that keeps what it is
// sent and answers status.
type fakePushService struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []pushed
	status int
}

func newFakePushService(t *testing.T) *fakePushService {
	f := &fakePushService{status: http.StatusCreated}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 8192))
		f.mu.Lock()
		f.got = append(f.got, pushed{r.Header.Clone(), b})
		status := f.status
		f.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// take returns and forgets what was received.
func (f *fakePushService) take() []pushed {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.got
	f.got = nil
	return out
}

// checkVAPID checks a push's Authorization header (RFC 8292): an ES256 JWT
// signed by the key k= names, which is the instance's, for the push
// service's origin, not expired.
func checkVAPID(t *testing.T, h http.Header, origin, serverKey string) {
	t.Helper()
	a, ok := strings.CutPrefix(h.Get("Authorization"), "vapid ")
	if !ok {
		t.Fatalf("Authorization %q", h.Get("Authorization"))
	}
	var jwt, k string
	for _, part := range strings.Split(a, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch name {
		case "t":
			jwt = val
		case "k":
			k = val
		}
	}
	if k != serverKey {
		t.Errorf("k=%s, want the instance's key %s", k, serverKey)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), mustB64(t, k))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT %q", jwt)
	}
	var header, claims map[string]any
	json.Unmarshal(mustB64(t, parts[0]), &header)
	json.Unmarshal(mustB64(t, parts[1]), &claims)
	if header["alg"] != "ES256" {
		t.Errorf("JWT header %v", header)
	}
	sig := mustB64(t, parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if len(sig) != 64 || !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Errorf("JWT signature does not verify")
	}
	if claims["aud"] != origin {
		t.Errorf("aud %v, want %s", claims["aud"], origin)
	}
	if exp, _ := claims["exp"].(float64); time.Unix(int64(exp), 0).Before(time.Now()) || time.Unix(int64(exp), 0).After(time.Now().Add(24*time.Hour)) {
		t.Errorf("exp %v", claims["exp"])
	}
	if sub, _ := claims["sub"].(string); !strings.HasPrefix(sub, "https://") && !strings.HasPrefix(sub, "mailto:") {
		t.Errorf("sub %q", sub)
	}
}

// TestWebPush: a phone app subscribes with its keys and alerts; a remote
// Like is pushed to the fake push service encrypted for the app's key and
// signed with the instance's VAPID key; an alert switched off or a policy
// that leaves the liker out sends nothing; a 410 from the push service
// ends the subscription.
func TestWebPush(t *testing.T) {
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	push := newFakePushService(t)
	k.api.pushClient = push.srv.Client()
	tok := k.login("read write push")

	ua, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	endpoint := push.srv.URL + "/push/v1/abc"
	sub := decode[WebPushSubscription](t, k.do(request{method: "POST", path: "/api/v1/push/subscription", token: tok, json: map[string]any{
		"subscription": map[string]any{"endpoint": endpoint, "keys": map[string]string{"p256dh": b64.EncodeToString(ua.PublicKey().Bytes()), "auth": b64.EncodeToString(auth)}},
		"data":         map[string]any{"alerts": map[string]bool{"favourite": true, "mention": true}, "policy": "all"},
	}}), 200)
	type instance struct {
		Configuration struct {
			Vapid struct {
				PublicKey string `json:"public_key"`
			} `json:"vapid"`
		} `json:"configuration"`
	}
	inst := decode[instance](t, k.do(request{method: "GET", path: "/api/v2/instance"}), 200)
	serverKey := inst.Configuration.Vapid.PublicKey
	if sub.Endpoint != endpoint || !sub.Alerts["favourite"] || sub.Alerts["follow"] || sub.Policy != "all" || sub.ServerKey == "" || sub.ServerKey != serverKey {
		t.Fatalf("subscription %+v (instance key %s)", sub, serverKey)
	}
	got := decode[WebPushSubscription](t, k.do(request{method: "PUT", path: "/api/v1/push/subscription", token: tok,
		form: url.Values{"data[alerts][reblog]": {"true"}}}), 200)
	if !got.Alerts["reblog"] || !got.Alerts["favourite"] || got.ID != sub.ID {
		t.Errorf("after PUT: %+v", got)
	}

	st := decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, json: map[string]any{"status": "buzz\nme & you"}}), 200)
	likeFromRemote(t, k, st.URI)
	k.api.PushDue(ctx)
	ps := push.take()
	if len(ps) != 1 {
		t.Fatalf("%d pushes, want 1", len(ps))
	}
	if ps[0].header.Get("Content-Encoding") != "aes128gcm" || ps[0].header.Get("TTL") == "" {
		t.Errorf("headers %v", ps[0].header)
	}
	checkVAPID(t, ps[0].header, push.srv.URL, serverKey)
	var p pushPayload
	if err := json.Unmarshal(decryptPush(t, ps[0].body, ua, auth), &p); err != nil {
		t.Fatal(err)
	}
	ns := decode[[]Notification](t, k.do(request{method: "GET", path: "/api/v1/notifications", token: tok}), 200)
	if len(ns) != 1 || p.NotificationID != ns[0].ID || p.NotificationType != "favourite" || !strings.Contains(p.Title, "favourited") || p.Body != "buzz me & you" {
		t.Errorf("payload %+v, notifications %+v", p, ns)
	}

	// The policy "followed" leaves out an account the owner does not follow.
	k.do(request{method: "PUT", path: "/api/v1/push/subscription", token: tok, form: url.Values{"data[policy]": {"followed"}}})
	likeFromRemote(t, k, st.URI)
	k.api.PushDue(ctx)
	if ps := push.take(); len(ps) != 0 {
		t.Errorf("policy followed: %d pushes", len(ps))
	}

	// The push service forgot the subscription: kith forgets it too.
	k.do(request{method: "PUT", path: "/api/v1/push/subscription", token: tok, form: url.Values{"data[policy]": {"all"}}})
	push.mu.Lock()
	push.status = http.StatusGone
	push.mu.Unlock()
	likeFromRemote(t, k, st.URI)
	k.api.PushDue(ctx)
	if len(push.take()) != 1 {
		t.Errorf("no push tried before the 410")
	}
	if rec := k.do(request{method: "GET", path: "/api/v1/push/subscription", token: tok}); rec.Code != 404 {
		t.Errorf("after 410: %d %s", rec.Code, rec.Body)
	}
}

// TestPushSubscriptionRefusals: no push scope, a plain http endpoint, a
// bad key, an unknown policy.
func TestPushSubscriptionRefusals(t *testing.T) {
	k := newKit(t, aptest.InstanceOptions{})
	read := k.login("read")
	tok := k.login("push")
	ua, _ := ecdh.P256().GenerateKey(rand.Reader)
	good := url.Values{"subscription[endpoint]": {"https://push.example/x"}, "subscription[keys][p256dh]": {b64.EncodeToString(ua.PublicKey().Bytes())},
		"subscription[keys][auth]": {b64.EncodeToString(make([]byte, 16))}}
	with := func(k, v string) url.Values {
		out := url.Values{}
		for key, vs := range good {
			out[key] = vs
		}
		out.Set(k, v)
		return out
	}
	for _, c := range []struct {
		token string
		form  url.Values
		want  int
	}{
		{read, good, 403},
		{tok, with("subscription[endpoint]", "http://push.example/x"), 422},
		{tok, with("subscription[keys][p256dh]", "AAAA"), 422},
		{tok, with("subscription[keys][auth]", "AAAA"), 422},
		{tok, with("data[policy]", "friends"), 422},
		{tok, good, 200},
	} {
		if rec := k.do(request{method: "POST", path: "/api/v1/push/subscription", token: c.token, form: c.form}); rec.Code != c.want {
			t.Errorf("%v: %d %s, want %d", c.form, rec.Code, rec.Body, c.want)
		}
	}
	if rec := k.do(request{method: "DELETE", path: "/api/v1/push/subscription", token: tok}); rec.Code != 200 {
		t.Errorf("delete: %d", rec.Code)
	}
	if rec := k.do(request{method: "GET", path: "/api/v1/push/subscription", token: tok}); rec.Code != 404 {
		t.Errorf("after delete: %d", rec.Code)
	}
}
