package ap_test

import (
	"context"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
)

// followerSetup makes alice (on a fresh remote) follow a fresh instance
// and delivers nothing yet: the Accept waits in the queue.
func followerSetup(t *testing.T, o aptest.InstanceOptions) (*aptest.Instance, *aptest.Remote, *aptest.RemoteActor) {
	t.Helper()
	inst := aptest.NewInstance(t, o)
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	if resp := alice.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "1"))); resp.StatusCode != 202 {
		t.Fatalf("Follow: status %d", resp.StatusCode)
	}
	if _, err := inst.Service.ProcessInbox(context.Background()); err != nil {
		t.Fatal(err)
	}
	return inst, remote, alice
}

// TestDeliveryRetriesAfter503: a remote that answers 503 gets the
// activity once it recovers; each attempt carries a fresh valid signature.
func TestDeliveryRetriesAfter503(t *testing.T) {
	ctx := context.Background()
	clock := aptest.NewClock(time.Now())
	inst, remote, _ := followerSetup(t, aptest.InstanceOptions{Now: clock.Now})
	var calls atomic.Int32
	remote.SetInboxStatus(func(*http.Request) int {
		if calls.Add(1) <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusAccepted
	})
	d := inst.Service.Deliverer()
	d.RunOnce(ctx)
	if got := calls.Load(); got != 1 {
		t.Fatalf("first run made %d attempts; want 1", got)
	}
	d.RunOnce(ctx) // nothing is due yet
	if got := calls.Load(); got != 1 {
		t.Fatalf("a retry went out before its time (%d attempts)", got)
	}
	st, _ := inst.DB.DeliveryStats(ctx, clock.Now())
	if st.Pending != 1 || st.Retrying != 1 {
		t.Fatalf("queue = %+v; want one delivery waiting to retry", st)
	}
	clock.Advance(time.Minute) // past the first backoff (30-45 s)
	d.RunOnce(ctx)
	clock.Advance(2 * time.Minute) // past the second (60-90 s)
	d.RunOnce(ctx)
	if got := calls.Load(); got != 3 {
		t.Fatalf("%d attempts; want 3 (503, 503, 202)", got)
	}
	for i, r := range remote.Received() {
		if r.VerifyErr != nil {
			t.Errorf("attempt %d: signature rejected: %v", i+1, r.VerifyErr)
		}
	}
	if st, _ := inst.DB.DeliveryStats(ctx, clock.Now()); st.Pending != 0 {
		t.Errorf("queue = %+v after success; want empty", st)
	}
	host, err := inst.DB.HostByName(ctx, remote.Host)
	if err != nil {
		t.Fatal(err)
	}
	if !host.FailingSince.IsZero() || host.LastSuccessAt.IsZero() {
		t.Errorf("host = %+v; want the failure streak ended by the success", host)
	}
}

// TestDeliveryGoneDropsAndRemovesFollower: 410 is final, and the follower
// whose inbox is gone is removed.
func TestDeliveryGoneDropsAndRemovesFollower(t *testing.T) {
	ctx := context.Background()
	inst, remote, alice := followerSetup(t, aptest.InstanceOptions{})
	remote.SetInboxStatus(func(*http.Request) int { return http.StatusGone })
	inst.Service.Deliverer().RunOnce(ctx)
	if st, _ := inst.DB.DeliveryStats(ctx, time.Now()); st.Pending != 0 {
		t.Errorf("queue = %+v; want the delivery dropped", st)
	}
	if _, err := inst.DB.Follower(ctx, alice.IRI); err != store.ErrNotFound {
		t.Errorf("follower after 410: err = %v; want ErrNotFound", err)
	}
	fails, _ := inst.DB.RecentDeliveryFailures(ctx, 10)
	if len(fails) != 1 || fails[0].Inbox != alice.Inbox || fails[0].ActivityType != "Accept" {
		t.Errorf("recorded failures = %+v; want the Accept to alice", fails)
	}
}

// TestDeliveryStatusRules: which answers are retried and which are final.
func TestDeliveryStatusRules(t *testing.T) {
	tests := []struct {
		status int
		retry  bool
	}{
		{http.StatusOK, false},
		{http.StatusNoContent, false},
		{http.StatusBadRequest, false},
		{http.StatusForbidden, false},
		{http.StatusNotFound, false},
		{http.StatusNotImplemented, false},
		{http.StatusUnauthorized, true},
		{http.StatusRequestTimeout, true},
		{http.StatusTooManyRequests, true},
		{http.StatusInternalServerError, true},
		{http.StatusBadGateway, true},
		{http.StatusServiceUnavailable, true},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			ctx := context.Background()
			inst, remote, _ := followerSetup(t, aptest.InstanceOptions{})
			remote.SetInboxStatus(func(*http.Request) int { return tt.status })
			inst.Service.Deliverer().RunOnce(ctx)
			st, _ := inst.DB.DeliveryStats(ctx, time.Now().Add(time.Hour))
			if got := st.Pending == 1; got != tt.retry {
				t.Errorf("still queued = %v; want %v", got, tt.retry)
			}
		})
	}
}

// TestDeliveryHonoursRetryAfter: a 429 with Retry-After waits at least
// that long; without it the first retry comes after 30 s plus jitter.
func TestDeliveryHonoursRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		retryAfter string
		min, max   time.Duration
	}{
		{"", 30 * time.Second, 46 * time.Second},
		{"600", 599 * time.Second, 601 * time.Second}, // stored to the millisecond
	} {
		t.Run("Retry-After "+tt.retryAfter, func(t *testing.T) {
			ctx := context.Background()
			clock := aptest.NewClock(time.Now())
			inst, remote, _ := followerSetup(t, aptest.InstanceOptions{Now: clock.Now})
			remote.SetInboxStatus(func(*http.Request) int { return http.StatusTooManyRequests })
			if tt.retryAfter != "" {
				remote.SetInboxHeader("Retry-After", tt.retryAfter)
			}
			inst.Service.Deliverer().RunOnce(ctx)
			next, ok, err := inst.DB.NextDeliveryAt(ctx)
			if err != nil || !ok {
				t.Fatalf("no retry scheduled: %v", err)
			}
			if wait := next.Sub(clock.Now()); wait < tt.min || wait > tt.max {
				t.Errorf("retry after %s; want between %s and %s", wait, tt.min, tt.max)
			}
		})
	}
}

// TestDeliverySurvivesRestart: a delivery that failed before a restart is
// in the reopened database and goes out afterwards; nothing is lost.
func TestDeliverySurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kith.db")
	clock := aptest.NewClock(time.Now())
	remote := aptest.NewRemote(t, false)
	bob := remote.AddActor("bob", aptest.Key(t, "remote"))
	remote.SetInboxStatus(func(*http.Request) int { return http.StatusServiceUnavailable })

	first := aptest.NewInstance(t, aptest.InstanceOptions{DBPath: path, Now: clock.Now})
	if _, err := first.Service.Follow(ctx, "@bob@"+remote.Host); err != nil {
		t.Fatal(err)
	}
	first.Service.Deliverer().RunOnce(ctx)
	if n := len(remote.Received()); n != 1 {
		t.Fatalf("%d attempts before the restart; want 1", n)
	}
	first.Close()

	remote.SetInboxStatus(nil)
	clock.Advance(time.Minute)
	second := aptest.NewInstance(t, aptest.InstanceOptions{DBPath: path, Now: clock.Now})
	second.Service.Deliverer().RunOnce(ctx)
	got := remote.Received()
	if len(got) != 2 {
		t.Fatalf("%d attempts in all; want 2 (one before, one after the restart)", len(got))
	}
	if got[1].Type() != "Follow" || got[1].Activity["object"] != bob.IRI || got[1].VerifyErr != nil {
		t.Errorf("after restart: %s to %v, signature error %v; want a verified Follow of bob", got[1].Type(), got[1].Activity["object"], got[1].VerifyErr)
	}
	if st, _ := second.DB.DeliveryStats(ctx, clock.Now()); st.Pending != 0 {
		t.Errorf("queue = %+v; want empty", st)
	}
}

// TestDeliveryPerHostLimit: however many deliveries a host has waiting, at
// most PerHost run at once.
func TestDeliveryPerHostLimit(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{Delivery: ap.DeliveryOptions{PerHost: 2, Workers: 16}})
	remote := aptest.NewRemote(t, false)
	var mu sync.Mutex
	running, peak := 0, 0
	remote.SetInboxStatus(func(*http.Request) int {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond) // the remote is slow; kith must not pile on
		mu.Lock()
		running--
		mu.Unlock()
		return http.StatusAccepted
	})
	for i, name := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		a := remote.AddActor(name, aptest.Key(t, "remote"))
		a.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(a, inst, string(rune('0'+i)))))
	}
	inst.Service.ProcessInbox(ctx)
	inst.Service.Deliverer().RunOnce(ctx)
	if n := len(remote.Received()); n != 8 {
		t.Fatalf("%d deliveries; want 8", n)
	}
	if peak > 2 {
		t.Errorf("%d requests ran at once to one host; want at most 2", peak)
	}
	if peak < 2 {
		t.Errorf("peak concurrency %d; want the 2 allowed to be used", peak)
	}
}

// TestDeliveryGivesUpAndPausesHost: a host failing past UnavailableAfter is
// paused (its deliveries are not tried), and one failing past GiveUpAfter
// loses the delivery; a message from the host resumes it.
func TestDeliveryGivesUpAndPausesHost(t *testing.T) {
	ctx := context.Background()
	clock := aptest.NewClock(time.Now())
	inst, remote, alice := followerSetup(t, aptest.InstanceOptions{Now: clock.Now, Delivery: ap.DeliveryOptions{
		UnavailableAfter: time.Hour, GiveUpAfter: 3 * time.Hour, FirstRetry: 10 * time.Minute,
	}})
	var calls atomic.Int32
	remote.SetInboxStatus(func(*http.Request) int { calls.Add(1); return http.StatusBadGateway })
	d := inst.Service.Deliverer()
	for range 5 {
		d.RunOnce(ctx)
		clock.Advance(30 * time.Minute)
	}
	host, err := inst.DB.HostByName(ctx, remote.Host)
	if err != nil {
		t.Fatal(err)
	}
	if host.UnavailableSince.IsZero() {
		t.Fatalf("host = %+v; want it paused after failing for over an hour", host)
	}
	before := calls.Load()
	clock.Advance(time.Hour)
	d.RunOnce(ctx)
	if calls.Load() != before {
		t.Error("a paused host was tried")
	}
	// The host talks to us: it is back.
	remote.SetInboxStatus(nil)
	resp, err := remote.Client.Do(alice.NewPost(t, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "again")), clock.Now()))
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("the host's Follow: %v %v", resp, err)
	}
	resp.Body.Close()
	inst.Service.ProcessInbox(ctx)
	d.RunOnce(ctx)
	if st, _ := inst.DB.DeliveryStats(ctx, clock.Now()); st.Pending != 0 {
		t.Errorf("queue = %+v after the host came back; want empty", st)
	}
}

// TestDeliveryExpiresOldWork: a delivery that keeps failing past
// GiveUpAfter is dropped and recorded.
func TestDeliveryExpiresOldWork(t *testing.T) {
	ctx := context.Background()
	clock := aptest.NewClock(time.Now())
	inst, remote, _ := followerSetup(t, aptest.InstanceOptions{Now: clock.Now, Delivery: ap.DeliveryOptions{
		UnavailableAfter: 100 * time.Hour, GiveUpAfter: time.Hour, FirstRetry: time.Minute,
	}})
	remote.SetInboxStatus(func(*http.Request) int { return http.StatusServiceUnavailable })
	d := inst.Service.Deliverer()
	for range 4 {
		d.RunOnce(ctx)
		clock.Advance(25 * time.Minute)
	}
	if st, _ := inst.DB.DeliveryStats(ctx, clock.Now()); st.Pending != 0 {
		t.Errorf("queue = %+v; want the delivery given up after an hour", st)
	}
	if f, _ := inst.DB.RecentDeliveryFailures(ctx, 5); len(f) != 1 {
		t.Errorf("failures = %+v; want one record", f)
	}
}

// TestDeliveryDoubleKnock: a server that takes only cavage signatures
// answers kith's first RFC 9421 POST with 401 and gets the same POST again
// signed the cavage way; one that takes RFC 9421 gets it at once. Each
// host's scheme is remembered, so later deliveries knock once.
func TestDeliveryDoubleKnock(t *testing.T) {
	ctx := context.Background()
	for _, modern := range []bool{false, true} {
		inst, remote, _ := followerSetup(t, aptest.InstanceOptions{})
		remote.AcceptRFC9421(modern)
		want, knocks := store.SignatureCavage, 1
		if modern {
			want, knocks = store.SignatureRFC9421, 0
		}
		d := inst.Service.Deliverer()
		d.RunOnce(ctx) // the Accept
		if _, err := inst.Service.Publish(ctx, ap.Draft{Source: "Second delivery."}); err != nil {
			t.Fatal(err)
		}
		d.RunOnce(ctx)
		got := remote.Received()
		if len(got) != 2 || remote.Knocks() != knocks {
			t.Fatalf("modern=%v: %d delivered after %d refused; want 2 after %d", modern, len(got), remote.Knocks(), knocks)
		}
		for _, rec := range got {
			if rec.VerifyErr != nil {
				t.Errorf("modern=%v: %s rejected: %v", modern, rec.Type(), rec.VerifyErr)
			}
			if is9421 := rec.Header.Get("Signature-Input") != ""; is9421 != modern {
				t.Errorf("modern=%v: %s sent with RFC 9421 = %v", modern, rec.Type(), is9421)
			}
		}
		if s, err := inst.DB.HostSignature(ctx, remote.Host); err != nil || s != want {
			t.Errorf("modern=%v: remembered %q (%v); want %q", modern, s, err, want)
		}
	}
}

// TestDeliveryPicksUpWorkQueuedElsewhere: a delivery queued by another
// process (`kith post`; here a second handle on the same file) goes out
// without a wake-up, within a few Poll ticks: the deliverer sees the
// database's WAL index change (store.Watcher), not its own channel.
func TestDeliveryPicksUpWorkQueuedElsewhere(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	path := filepath.Join(t.TempDir(), "kith.db")
	const poll = 50 * time.Millisecond
	inst := aptest.NewInstance(t, aptest.InstanceOptions{DBPath: path, Delivery: ap.DeliveryOptions{Poll: poll}})
	remote := aptest.NewRemote(t, false)
	bob := remote.AddActor("bob", aptest.Key(t, "remote"))
	done := make(chan struct{})
	go func() { inst.Service.Deliverer().Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	time.Sleep(5 * poll) // the deliverer has read the empty queue and idles

	other, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	queued := time.Now()
	err = other.Update(ctx, func(tx *store.Tx) error {
		act := &store.Activity{IRI: inst.URLs.Actor() + "#note-elsewhere", Type: "Note",
			Body: aptest.JSON(t, map[string]any{"id": inst.URLs.Actor() + "#note-elsewhere", "type": "Note", "attributedTo": inst.URLs.Actor()})}
		_, err := tx.Enqueue(ctx, act, []string{bob.Inbox}, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for len(remote.Received()) == 0 && time.Since(queued) < 5*time.Second {
		time.Sleep(poll / 5)
	}
	took := time.Since(queued)
	got := remote.Received()
	if len(got) != 1 || got[0].VerifyErr != nil {
		t.Fatalf("after %v: %d POSTs; want the one queued by the other handle, signed", took, len(got))
	}
	// A few ticks, with room for a loaded machine; the backstop read
	// (a minute) is far beyond.
	if took > time.Second {
		t.Errorf("delivered %v after it was queued elsewhere; want within a second (Poll %v)", took, poll)
	}
}
