package mastoapi

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/hkdf"

	"kith/ap/sanitize"
	"kith/store"
)

// pushAlertTypes are the alerts a subscription can ask for, as Mastodon
// names them.
var pushAlertTypes = []string{"mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update", "admin.sign_up", "admin.report", "quote"}

// pushPolicies are whose notifications a subscription wants.
var pushPolicies = []string{"all", "followed", "follower", "none"}

// WebPushSubscription is Mastodon's WebPushSubscription entity.
type WebPushSubscription struct {
	ID        string          `json:"id"`
	Endpoint  string          `json:"endpoint"`
	Standard  bool            `json:"standard"`
	Alerts    map[string]bool `json:"alerts"`
	ServerKey string          `json:"server_key"`
	Policy    string          `json:"policy"`
}

// b64 is base64url without padding, as Web Push writes keys.
var b64 = base64.RawURLEncoding

// decodeKey reads a key as clients send it: base64url or standard base64,
// padded or not.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(strings.TrimSpace(s)), "=")
	return b64.DecodeString(s)
}

// pushAlerts reads data[alerts][type] for every type; keep is the
// subscription's earlier alerts for a PUT that leaves some out.
func pushAlerts(p params, keep map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, t := range pushAlertTypes {
		out[t] = keep[t]
		if v := p.Get("data[alerts][" + t + "]"); v != "" {
			out[t] = v == "true" || v == "1" || v == "on"
		}
	}
	return out
}

// pushPolicy reads data[policy], defaulting to def; ok is false for an
// unknown one.
func pushPolicy(p params, def string) (string, bool) {
	v := p.Get("data[policy]")
	if v == "" {
		return def, true
	}
	for _, x := range pushPolicies {
		if v == x {
			return v, true
		}
	}
	return "", false
}

// subscriptionView is a stored subscription as the client sees it.
func (h *Handler) subscriptionView(ctx context.Context, s *store.PushSubscription) (*WebPushSubscription, error) {
	pub, err := h.vapidPublic(ctx)
	if err != nil {
		return nil, err
	}
	alerts := map[string]bool{}
	json.Unmarshal([]byte(s.Alerts), &alerts)
	return &WebPushSubscription{ID: fmt.Sprint(s.ID), Endpoint: s.Endpoint, Standard: true, Alerts: alerts, ServerKey: pub, Policy: s.Policy}, nil
}

// createPushSubscription answers POST /api/v1/push/subscription: the
// token's subscription, replacing any earlier one.
func (h *Handler) createPushSubscription(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	endpoint := p.Get("subscription[endpoint]")
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" || len(endpoint) > 2000 {
		h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: Endpoint must be an https URL")
		return
	}
	pub, err := decodeKey(p.Get("subscription[keys][p256dh]"))
	if err == nil {
		_, err = ecdh.P256().NewPublicKey(pub)
	}
	if err != nil {
		h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: Keys p256dh is not a P-256 public key")
		return
	}
	auth, err := decodeKey(p.Get("subscription[keys][auth]"))
	if err != nil || len(auth) != 16 {
		h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: Keys auth must be 16 bytes")
		return
	}
	policy, ok := pushPolicy(p, "all")
	if !ok {
		h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: Policy is not included in the list")
		return
	}
	alerts, _ := json.Marshal(pushAlerts(p, nil))
	s := &store.PushSubscription{TokenHash: tokenFrom(r).Hash, Endpoint: endpoint, P256DH: b64.EncodeToString(pub),
		Auth: b64.EncodeToString(auth), Alerts: string(alerts), Policy: policy, CreatedAt: h.now()}
	if err := h.db.PutPushSubscription(r.Context(), s); err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeSubscription(w, r, s)
}

// writeSubscription answers with the subscription.
func (h *Handler) writeSubscription(w http.ResponseWriter, r *http.Request, s *store.PushSubscription) {
	v, err := h.subscriptionView(r.Context(), s)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, v)
}

// getPushSubscription answers GET /api/v1/push/subscription.
func (h *Handler) getPushSubscription(w http.ResponseWriter, r *http.Request) {
	s, err := h.db.PushSubscriptionByToken(r.Context(), tokenFrom(r).Hash)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeSubscription(w, r, s)
}

// updatePushSubscription answers PUT /api/v1/push/subscription: alerts
// and policy change, the endpoint stays.
func (h *Handler) updatePushSubscription(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s, err := h.db.PushSubscriptionByToken(r.Context(), tokenFrom(r).Hash)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	policy, ok := pushPolicy(p, s.Policy)
	if !ok {
		h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: Policy is not included in the list")
		return
	}
	old := map[string]bool{}
	json.Unmarshal([]byte(s.Alerts), &old)
	alerts, _ := json.Marshal(pushAlerts(p, old))
	if err := h.db.SetPushAlerts(r.Context(), s.TokenHash, string(alerts), policy); err != nil {
		h.fail(w, r, err)
		return
	}
	s.Alerts, s.Policy = string(alerts), policy
	h.writeSubscription(w, r, s)
}

// deletePushSubscription answers DELETE /api/v1/push/subscription.
func (h *Handler) deletePushSubscription(w http.ResponseWriter, r *http.Request) {
	if err := h.db.DeletePushSubscription(r.Context(), tokenFrom(r).Hash); err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, struct{}{})
}

// pushRoutes registers the push subscription endpoints.
func (h *Handler) pushRoutes() {
	m := h.mux
	m.HandleFunc("POST /api/v1/push/subscription", h.user("push", h.createPushSubscription))
	m.HandleFunc("GET /api/v1/push/subscription", h.user("push", h.getPushSubscription))
	m.HandleFunc("PUT /api/v1/push/subscription", h.user("push", h.updatePushSubscription))
	m.HandleFunc("DELETE /api/v1/push/subscription", h.user("push", h.deletePushSubscription))
}

// vapidKey is the server's VAPID key, made and stored the first time.
func (h *Handler) vapidKey(ctx context.Context) (*ecdsa.PrivateKey, error) {
	der, err := h.db.VAPIDKey(ctx, func() ([]byte, error) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		return x509.MarshalPKCS8PrivateKey(k)
	})
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("mastoapi: vapid key: %w", err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("mastoapi: vapid key is not ECDSA")
	}
	return ek, nil
}

// vapidPublic is the VAPID public key as clients want it: the
// uncompressed point, base64url.
func (h *Handler) vapidPublic(ctx context.Context) (string, error) {
	k, err := h.vapidKey(ctx)
	if err != nil {
		return "", err
	}
	pub, err := k.PublicKey.Bytes()
	if err != nil {
		return "", err
	}
	return b64.EncodeToString(pub), nil
}

// vapidAuthorization is the Authorization header of RFC 8292 for a push
// to endpoint: an ES256 JWT whose audience is the push service's origin,
// valid for 12 hours, with a contact for the push service's operators.
func vapidAuthorization(k *ecdsa.PrivateKey, endpoint, subject string, now time.Time) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", err
	}
	header := b64.EncodeToString([]byte(`{"typ":"JWT","alg":"ES256"}`))
	claims, _ := json.Marshal(map[string]any{"aud": u.Scheme + "://" + u.Host, "exp": now.Add(12 * time.Hour).Unix(), "sub": subject})
	signing := header + "." + b64.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	pub, err := k.PublicKey.Bytes()
	if err != nil {
		return "", err
	}
	return "vapid t=" + signing + "." + b64.EncodeToString(sig) + ", k=" + b64.EncodeToString(pub), nil
}

// pushRecordSize is the record size written in the aes128gcm header.
const pushRecordSize = 4096

// encryptPush encrypts plaintext for a subscriber (RFC 8291) as one
// aes128gcm record (RFC 8188). asKey is the sender's one-time key and
// salt 16 random bytes; they are parameters so the RFC's example can be
// checked.
func encryptPush(plaintext, uaPublic, authSecret []byte, asKey *ecdh.PrivateKey, salt []byte) ([]byte, error) {
	ua, err := ecdh.P256().NewPublicKey(uaPublic)
	if err != nil {
		return nil, err
	}
	secret, err := asKey.ECDH(ua)
	if err != nil {
		return nil, err
	}
	asPublic := asKey.PublicKey().Bytes()
	cek, nonce, err := pushKeys(secret, authSecret, uaPublic, asPublic, salt)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if len(plaintext)+1+gcm.Overhead() > pushRecordSize-86 {
		return nil, errors.New("mastoapi: push payload too long")
	}
	var out bytes.Buffer
	out.Write(salt)
	binary.Write(&out, binary.BigEndian, uint32(pushRecordSize))
	out.WriteByte(byte(len(asPublic)))
	out.Write(asPublic)
	// One record, so it is the last: its delimiter is 2, no padding.
	return gcm.Seal(out.Bytes(), nonce, append(plaintext, 2), nil), nil
}

// pushKeys derives the content encryption key and nonce of RFC 8291 §3.4
// and RFC 8188 §2.2 from the ECDH secret.
func pushKeys(ecdhSecret, authSecret, uaPublic, asPublic, salt []byte) (cek, nonce []byte, err error) {
	keyInfo := append(append([]byte("WebPush: info\x00"), uaPublic...), asPublic...)
	ikm := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, ecdhSecret, authSecret, keyInfo), ikm); err != nil {
		return nil, nil, err
	}
	prk := hkdf.Extract(sha256.New, ikm, salt)
	cek, nonce = make([]byte, 16), make([]byte, 12)
	if _, err := io.ReadFull(hkdf.Expand(sha256.New, prk, []byte("Content-Encoding: aes128gcm\x00")), cek); err != nil {
		return nil, nil, err
	}
	if _, err := io.ReadFull(hkdf.Expand(sha256.New, prk, []byte("Content-Encoding: nonce\x00")), nonce); err != nil {
		return nil, nil, err
	}
	return cek, nonce, nil
}

// pushPayload is what the app receives, in Mastodon's shape (without the
// access token Mastodon adds: kith keeps only tokens' hashes, and apps
// fetch the notification with their own).
type pushPayload struct {
	NotificationID   string `json:"notification_id"`
	NotificationType string `json:"notification_type"`
	PreferredLocale  string `json:"preferred_locale"`
	Icon             string `json:"icon"`
	Title            string `json:"title"`
	Body             string `json:"body"`
}

// pushTitles are the notification's title, with the account's name.
var pushTitles = map[string]string{
	"mention": "%s mentioned you", "status": "%s just posted", "reblog": "%s boosted your post",
	"follow": "%s followed you", "follow_request": "%s asked to follow you", "favourite": "%s favourited your post",
	"poll": "A poll has ended", "update": "%s edited a post", "admin.report": "%s filed a report", "quote": "%s quoted your post",
}

// pushBodyLength is how many characters of a post a push shows, as
// Mastodon's own pushes do.
const pushBodyLength = 140

// pushBatch is how many queued pushes one round sends.
const pushBatch = 20

// RunPush sends queued Web Push notifications until ctx ends, woken by
// the Hub on every new notification and otherwise when the next retry is
// due, or after pushBackstop. It read the queue every minute before: on an
// idle kith that read mapped SQLite's code back within a minute of each
// memory release (issue 7, item 21), and every push is queued by this
// process, which the Hub hears of.
func (h *Handler) RunPush(ctx context.Context) {
	var wake chan []store.Change
	if h.hub != nil {
		ch, cancel := h.hub.subscribe()
		defer cancel()
		wake = ch
	}
	for {
		h.PushDue(ctx)
		wait := pushBackstop
		if at, ok, err := h.db.NextPushAt(ctx); err == nil && ok {
			wait = min(wait, max(at.Sub(h.now()), time.Second))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// pushBackstop is how long RunPush waits with nothing queued and no
// wake-up: a safety net only.
const pushBackstop = 10 * time.Minute

// pushTries is how many times a push is tried before it is dropped.
const pushTries = 8

// PushDue sends the pushes that are due. Each is checked against its
// subscription's alerts and policy first; a push service answering 404
// or 410 has forgotten the subscription, so kith forgets it too.
func (h *Handler) PushDue(ctx context.Context) {
	for range 10 { // a bounded number of rounds; RunPush comes back
		due, err := h.db.DuePushDeliveries(ctx, h.now(), pushBatch)
		if err != nil || len(due) == 0 {
			if err != nil {
				h.log.Warn("push: could not read the queue", "err", err)
			}
			return
		}
		for _, d := range due {
			h.pushOne(ctx, d)
		}
	}
}

// pushOne sends one push, or drops it, or schedules a retry.
func (h *Handler) pushOne(ctx context.Context, d store.PushDelivery) {
	done := func() {
		if err := h.db.DonePushDelivery(ctx, d.ID); err != nil {
			h.log.Warn("push: could not take a push off the queue", "err", err)
		}
	}
	payload, err := h.pushPayloadFor(ctx, d)
	if err != nil || payload == nil {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			h.log.Warn("push: could not build a notification", "err", err)
		}
		done()
		return
	}
	status, err := h.sendPush(ctx, d.Subscription, payload)
	switch {
	case err == nil && status/100 == 2:
		done()
	case status == http.StatusNotFound || status == http.StatusGone:
		h.log.Info("push: the push service forgot a subscription; kith forgets it too", "status", status)
		if err := h.db.DeletePushSubscription(ctx, d.Subscription.TokenHash); err != nil {
			h.log.Warn("push: could not delete a subscription", "err", err)
		}
	case d.Tries+1 >= pushTries || (status/100 == 4 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout):
		h.log.Warn("push: giving up a push", "status", status, "err", err)
		done()
	default:
		backoff := time.Duration(1<<d.Tries) * 30 * time.Second
		if err := h.db.RetryPushDelivery(ctx, d.ID, h.now().Add(backoff)); err != nil {
			h.log.Warn("push: could not schedule a retry", "err", err)
		}
	}
}

// pushPayloadFor builds the payload of a delivery, or nil when the
// subscription does not want it (its alerts, its policy, a notification
// since dismissed or from a muted account).
func (h *Handler) pushPayloadFor(ctx context.Context, d store.PushDelivery) ([]byte, error) {
	s := d.Subscription
	alerts := map[string]bool{}
	json.Unmarshal([]byte(s.Alerts), &alerts)
	ns, err := h.db.Notifications(ctx, store.NotificationQuery{Page: store.Page{MaxID: d.NotificationID + "\x00", Limit: 1}, Owner: h.urls.Actor()})
	if err != nil {
		return nil, err
	}
	if len(ns) == 0 || ns[0].ID != d.NotificationID {
		return nil, nil
	}
	n := ns[0]
	if !alerts[n.Type] {
		return nil, nil
	}
	switch s.Policy {
	case "none":
		return nil, nil
	case "followed":
		if f, err := h.db.Following(ctx, n.ActorIRI); err != nil || f.State != store.Accepted {
			return nil, nil
		}
	case "follower":
		if f, err := h.db.Follower(ctx, n.ActorIRI); err != nil || f.State != store.Accepted {
			return nil, nil
		}
	}
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	views, err := h.notificationViews(r, ns)
	if err != nil {
		return nil, err
	}
	v := views[0]
	name := v.Account.DisplayName
	if name == "" {
		name = v.Account.Acct
	}
	title := pushTitles[n.Type]
	if strings.Contains(title, "%s") {
		title = fmt.Sprintf(title, name)
	}
	p := pushPayload{NotificationID: n.ID, NotificationType: n.Type, PreferredLocale: "en", Icon: v.Account.AvatarStatic, Title: title}
	if v.Status != nil {
		// Through the sanitizer's text view: a regular expression left
		// <br> glued words and kept what <script> or <style> held.
		p.Body = sanitize.Excerpt(v.Status.Content, pushBodyLength)
	}
	return json.Marshal(p)
}

// sendPush encrypts payload for the subscription and posts it to its
// endpoint, answering the push service's status.
func (h *Handler) sendPush(ctx context.Context, s store.PushSubscription, payload []byte) (int, error) {
	uaPublic, err := decodeKey(s.P256DH)
	if err != nil {
		return 0, err
	}
	auth, err := decodeKey(s.Auth)
	if err != nil {
		return 0, err
	}
	asKey, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return 0, err
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	body, err := encryptPush(payload, uaPublic, auth, asKey, salt)
	if err != nil {
		return 0, err
	}
	k, err := h.vapidKey(ctx)
	if err != nil {
		return 0, err
	}
	authz, err := vapidAuthorization(k, s.Endpoint, h.urls.Base(), h.now())
	if err != nil {
		return 0, err
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, s.Endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Encoding", "aes128gcm")
	req.Header.Set("TTL", "172800") // two days: a phone off for a weekend still hears
	req.Header.Set("Urgency", "normal")
	req.Header.Set("Authorization", authz)
	resp, err := h.pushClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}
