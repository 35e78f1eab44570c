package ap_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

// keyFetchBurst is ap's keyFetchBurst: how many unknown keys one remote
// domain may make kith fetch at once.
const keyFetchBurst = 20

// inboxAnswer is the status, Retry-After and error reason of one POST.
type inboxAnswer struct {
	status     int
	retryAfter string
	reason     string
}

// post signs body as a, at now, and POSTs it to url.
func post(t *testing.T, client *http.Client, a *aptest.RemoteActor, url string, body []byte, now time.Time) inboxAnswer {
	t.Helper()
	resp, err := client.Do(a.NewPost(t, url, body, now))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e struct {
		Error string `json:"error"`
	}
	json.Unmarshal(raw, &e)
	return inboxAnswer{resp.StatusCode, resp.Header.Get("Retry-After"), e.Error}
}

// keyGets counts the GETs of paths under prefix.
func keyGets(r *aptest.Remote, prefix string) int {
	n := 0
	for _, p := range r.Gets() {
		if strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}

// TestKeyFetchesPerHostAreLimited: 100 POSTs naming 100 distinct unknown
// keys on one host make kith fetch at most the per-domain burst; the rest
// are answered 429 with Retry-After, and a key whose fetch failed is not
// fetched again while the failure is remembered.
func TestKeyFetchesPerHostAreLimited(t *testing.T) {
	clock := aptest.NewClock(time.Now())
	inst := aptest.NewInstance(t, aptest.InstanceOptions{Now: clock.Now})
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	body := aptest.JSON(t, follow(alice, inst, "1"))

	statuses := map[int]int{}
	for i := range 100 {
		a := *alice
		a.KeyID = fmt.Sprintf("%s/keys/%d", remote.Base, i) // 404 on the remote
		got := post(t, remote.Client, &a, inst.URLs.Inbox(), body, clock.Now())
		statuses[got.status]++
		if got.status == http.StatusTooManyRequests && got.retryAfter == "" {
			t.Fatalf("POST %d: 429 without Retry-After", i)
		}
	}
	if n := keyGets(remote, "/keys/"); n > keyFetchBurst {
		t.Errorf("100 POSTs with distinct keyIds caused %d key fetches; want at most %d", n, keyFetchBurst)
	}
	if statuses[http.StatusUnauthorized] != keyFetchBurst || statuses[http.StatusTooManyRequests] != 100-keyFetchBurst {
		t.Errorf("statuses %v; want %d × 401 (fetched, not found) and the rest 429", statuses, keyFetchBurst)
	}

	// A key that failed is answered from memory, even once the bucket
	// has refilled.
	clock.Advance(time.Minute)
	a := *alice
	a.KeyID = remote.Base + "/keys/0"
	got := post(t, remote.Client, &a, inst.URLs.Inbox(), body, clock.Now())
	if got.status != http.StatusUnauthorized || !strings.Contains(got.reason, "could not be fetched") {
		t.Errorf("failed key again: %+v; want 401 saying it could not be fetched", got)
	}
	if n := keyGets(remote, "/keys/0"); n != 1 {
		t.Errorf("failed key fetched %d times; want 1", n)
	}
	// Once forgotten, it is tried again.
	clock.Advance(10 * time.Minute)
	post(t, remote.Client, &a, inst.URLs.Inbox(), body, clock.Now())
	if n := keyGets(remote, "/keys/0"); n != 2 {
		t.Errorf("failed key fetched %d times after the failure expired; want 2", n)
	}

	// Another domain has its own budget: alice's real key still works.
	other := aptest.NewRemote(t, false)
	bob := other.AddActor("bob", aptest.Key(t, "remote2"))
	if got := post(t, other.Client, bob, inst.URLs.Inbox(), aptest.JSON(t, follow(bob, inst, "1")), clock.Now()); got.status != http.StatusAccepted {
		t.Errorf("a known-good signer after the flood: %+v; want 202", got)
	}
}

// TestKeyOnAnotherHostIsNotFetched: a keyId on another host than the
// activity's actor is refused with 401 and a precise reason before
// anything is fetched, from either host.
func TestKeyOnAnotherHostIsNotFetched(t *testing.T) {
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	home := aptest.NewRemote(t, false)
	alice := home.AddActor("alice", aptest.Key(t, "remote"))
	elsewhere := aptest.NewRemote(t, false)
	eve := elsewhere.AddActor("eve", aptest.Key(t, "remote2"))

	// eve signs, with her own real key, an activity claiming to be alice's.
	got := post(t, elsewhere.Client, eve, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "1")), time.Now())
	if got.status != http.StatusUnauthorized {
		t.Errorf("status %d; want 401", got.status)
	}
	want := "signing key " + eve.KeyID + " is not on the host of the activity's actor " + alice.IRI
	if got.reason != want {
		t.Errorf("reason %q; want %q", got.reason, want)
	}
	if g := append(home.Gets(), elsewhere.Gets()...); len(g) != 0 {
		t.Errorf("kith fetched %v; want nothing", g)
	}
	if total, _, _ := inst.DB.CountInbox(context.Background()); total != 0 {
		t.Errorf("%d activities stored; want 0", total)
	}
}

// TestKeyLookupDatabaseErrorAsksToRetry: when the database fails while
// the signer's key is looked up, the sender is told to retry (503 with
// Retry-After), not that its signature is bad (401), and it is logged.
func TestKeyLookupDatabaseErrorAsksToRetry(t *testing.T) {
	var failing atomic.Bool
	busy := errors.New("database is locked (5) (SQLITE_BUSY)")
	var logged atomic.Int32
	inst := aptest.NewInstance(t, aptest.InstanceOptions{
		DB: store.Options{Fault: func(query string, _ []any) error {
			if failing.Load() && strings.Contains(query, "key_id") {
				return busy
			}
			return nil
		}},
		Logger: aptest.LoggerFunc(t, func(msg string) {
			if strings.Contains(msg, "SQLITE_BUSY") {
				logged.Add(1)
			}
		}),
	})
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))

	failing.Store(true)
	got := post(t, remote.Client, alice, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "1")), time.Now())
	if got.status != http.StatusServiceUnavailable || got.retryAfter == "" {
		t.Errorf("database failure during the key lookup: %+v; want 503 with Retry-After", got)
	}
	if logged.Load() == 0 {
		t.Error("the database failure was not logged")
	}
	failing.Store(false)
	if got := post(t, remote.Client, alice, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "1")), time.Now()); got.status != http.StatusAccepted {
		t.Errorf("the retry: %+v; want 202", got)
	}
}

// TestHostileKeyClaimChangesNothing: an actor on another server whose
// document claims alice's keyId, resolved by the owner before or after
// alice is known, neither takes alice's key nor keeps alice's activities
// from being accepted and processed (issue 7, item 12).
func TestHostileKeyClaimChangesNothing(t *testing.T) {
	for _, order := range []string{"alice known first", "mallory resolved first"} {
		t.Run(order, func(t *testing.T) {
			ctx := context.Background()
			inst := aptest.NewInstance(t, aptest.InstanceOptions{})
			home := aptest.NewRemote(t, false)
			alice := home.AddActor("alice", aptest.Key(t, "remote"))
			evil := aptest.NewRemote(t, false)
			mallory := evil.AddActor("mallory", aptest.Key(t, "remote2"))
			mallory.KeyID = alice.KeyID // mallory's document lists its own key under alice's keyId

			resolveMallory := func() {
				if a, err := inst.Service.ResolveActor(ctx, mallory.IRI); err == nil && a.KeyID != "" {
					t.Errorf("mallory stored with key %q", a.KeyID)
				}
			}
			if order == "mallory resolved first" {
				resolveMallory()
			}
			if got := post(t, home.Client, alice, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "1")), time.Now()); got.status != http.StatusAccepted {
				t.Fatalf("alice's Follow: %+v; want 202", got)
			}
			if order == "alice known first" {
				resolveMallory()
			}
			if got := post(t, home.Client, alice, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "2")), time.Now()); got.status != http.StatusAccepted {
				t.Fatalf("alice's second Follow: %+v; want 202", got)
			}
			if owner, err := inst.DB.ActorByKeyID(ctx, alice.KeyID); err != nil || owner.IRI != alice.IRI {
				t.Errorf("alice's key belongs to %v, %v; want alice", owner, err)
			}
			inst.Service.ProcessInbox(ctx)
			if f, err := inst.DB.Follower(ctx, alice.IRI); err != nil || f.State != store.Accepted {
				t.Errorf("alice: %+v, %v; want an accepted follower", f, err)
			}
			// A forced refetch at most; alice's key document was not
			// fetched once per request.
			if n := keyGets(home, "/users/alice"); n > 2 {
				t.Errorf("alice's document fetched %d times; want at most 2", n)
			}
			if keyGets(evil, "/users/mallory") == 0 {
				t.Error("mallory's document was never fetched: the claim was not tried")
			}
		})
	}
}
