package ap

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/publicsuffix"

	"kith/ap/sig"
)

// Limits on the key fetches that inbox POSTs can cause. Every POST names a
// keyId, and an unknown one makes kith fetch it: without limits anyone can
// make kith fetch a URL of their choosing for each request they send.
const (
	// keyFailureTTL is how long a failed key lookup is remembered: the
	// same keyId is answered 401 without a fetch until then. Senders retry
	// for days, so a server that was briefly down is not lost.
	keyFailureTTL = 5 * time.Minute
	// keyFetchBurst is how many unknown keys one remote domain may make
	// kith fetch at once; keyFetchEvery refills one. A new server whose
	// users all write at once gets 20 at once and one every 3 s after,
	// and the rest are answered 429, which Mastodon retries.
	keyFetchBurst = 20
	keyFetchEvery = 3 * time.Second
	// keyGuardEntries bounds each of the guard's maps.
	keyGuardEntries = 10000
	// keyRefetchEvery limits forced key refetches per keyId, so a stream
	// of badly signed requests cannot make kith fetch the same actor again
	// and again.
	keyRefetchEvery = time.Minute
)

// keyGuard decides whether an inbox POST may make kith fetch a signing
// key. It remembers failed lookups, counts fetches per remote domain with a
// token bucket, and limits forced refetches of a known key. Every map is
// bounded: when full, expired entries go, and if none had expired,
// everything does (forgetting is safe; it only allows a fetch again).
type keyGuard struct {
	mu        sync.Mutex
	failed    map[string]time.Time // keyId -> when its lookup failed
	buckets   map[string]keyBucket // remote domain -> fetches it may still cause
	refetched map[string]time.Time // keyId -> last forced refetch
}

// keyBucket is one domain's token bucket.
type keyBucket struct {
	tokens float64
	at     time.Time // when tokens was computed
}

func newKeyGuard() *keyGuard {
	return &keyGuard{
		failed:    make(map[string]time.Time),
		buckets:   make(map[string]keyBucket),
		refetched: make(map[string]time.Time),
	}
}

// retryLater is a deliberate refusal the sender should retry: it is
// answered with its status and a Retry-After header.
type retryLater struct {
	status int
	reason string
	after  time.Duration
}

func (e *retryLater) Error() string { return e.reason }

// checkKeyHost refuses a keyId on another host than the activity's actor,
// before anything is fetched: the key must belong to the actor (a forwarded
// activity is refused anyway), and a key is only ever stored with an actor
// on its own host.
func checkKeyHost(keyID, actor string) error {
	kh := hostOf(keyID)
	if kh == "" || kh != hostOf(actor) {
		return &sig.Error{Status: http.StatusUnauthorized,
			Reason: "signing key " + keyID + " is not on the host of the activity's actor " + actor}
	}
	return nil
}

// mayFetch reports whether keyID may be fetched now, and if so takes one
// fetch from its domain's bucket. A refusal says why and when to retry.
func (g *keyGuard) mayFetch(keyID string, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if at, ok := g.failed[keyID]; ok {
		if left := keyFailureTTL - now.Sub(at); left > 0 {
			return &sig.Error{Status: http.StatusUnauthorized,
				Reason: fmt.Sprintf("the signing key %s could not be fetched %s ago; not trying again for %s",
					keyID, now.Sub(at).Round(time.Second), left.Round(time.Second))}
		}
		delete(g.failed, keyID)
	}
	domain := keyDomain(keyID)
	b, ok := g.buckets[domain]
	if !ok {
		if len(g.buckets) >= keyGuardEntries {
			g.sweepBuckets(now)
		}
		b = keyBucket{tokens: keyFetchBurst, at: now}
	}
	b.tokens = refill(b, now)
	b.at = now
	if b.tokens < 1 {
		g.buckets[domain] = b
		wait := time.Duration((1 - b.tokens) * float64(keyFetchEvery))
		return &retryLater{status: http.StatusTooManyRequests, after: wait,
			reason: "too many unknown signing keys from " + domain + "; retry later"}
	}
	b.tokens--
	g.buckets[domain] = b
	return nil
}

// refill is b's token count at now.
func refill(b keyBucket, now time.Time) float64 {
	return math.Min(keyFetchBurst, b.tokens+float64(now.Sub(b.at))/float64(keyFetchEvery))
}

// fetchFailed remembers that keyID could not be fetched.
func (g *keyGuard) fetchFailed(keyID string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.failed) >= keyGuardEntries {
		for k, at := range g.failed {
			if now.Sub(at) >= keyFailureTTL {
				delete(g.failed, k)
			}
		}
		if len(g.failed) >= keyGuardEntries {
			clear(g.failed)
		}
	}
	g.failed[keyID] = now
}

// mayRefetch reports whether the known key keyID may be refetched now,
// and records it.
func (g *keyGuard) mayRefetch(keyID string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if last, ok := g.refetched[keyID]; ok && now.Sub(last) < keyRefetchEvery {
		return false
	}
	if len(g.refetched) >= keyGuardEntries {
		clear(g.refetched)
	}
	g.refetched[keyID] = now
	return true
}

// sweepBuckets drops the buckets that are full again (their domain has
// been quiet), or all of them if none is.
func (g *keyGuard) sweepBuckets(now time.Time) {
	for d, b := range g.buckets {
		if refill(b, now) >= keyFetchBurst {
			delete(g.buckets, d)
		}
	}
	if len(g.buckets) >= keyGuardEntries {
		clear(g.buckets)
	}
}

// keyDomain is what a key fetch is counted against: the registrable domain
// of the keyId's host (a.evil.example and b.evil.example share one
// budget), or the address itself for an IP or a single-label name.
func keyDomain(keyID string) string {
	host := hostOf(keyID)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(host) != nil {
		return host
	}
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return d
	}
	return host
}

// verifyError answers a failed key lookup or signature check: a bad
// signature or key with its 4xx, a refusal the sender should retry (too
// many fetches) with Retry-After, anything else as the database failure
// it is (unavailable).
func (s *Service) verifyError(w http.ResponseWriter, r *http.Request, err error) {
	var se *sig.Error
	var rl *retryLater
	switch {
	case errors.As(err, &se):
		inboxError(w, se.Status, se.Reason)
	case errors.As(err, &rl):
		retryAfter(w, rl.after)
		inboxError(w, rl.status, rl.reason)
	default:
		s.unavailable(w, r, err)
	}
}

// unavailable logs a database failure while a remote server waits and
// answers 503 with Retry-After, not 401 or 500: the sender keeps the
// activity and delivers it again, where a 4xx would make it give up.
func (s *Service) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("inbox: database unavailable; asked the sender to retry", "path", r.URL.Path, "err", err)
	retryAfter(w, 30*time.Second)
	inboxError(w, http.StatusServiceUnavailable, "temporarily unavailable; retry later")
}

func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
}
