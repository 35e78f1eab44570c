package ap_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

// logLines collects what an instance logs, for tests that check it.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

// count is how many lines contain s.
func (l *logLines) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// TestInboxRetriesTransientFailures: an accepted Follow whose processing
// hits a busy database stays pending and is tried again after a backoff,
// not dropped; once the database recovers it is processed. When it keeps
// failing, it is dropped after the last attempt, and both are logged.
func TestInboxRetriesTransientFailures(t *testing.T) {
	ctx := context.Background()
	var failing atomic.Bool
	busy := errors.New("database is locked (5) (SQLITE_BUSY)")
	var logs logLines
	clock := aptest.NewClock(time.Now())
	inst := aptest.NewInstance(t, aptest.InstanceOptions{
		Now: clock.Now,
		DB: store.Options{Fault: func(query string, _ []any) error {
			if failing.Load() && strings.Contains(query, "INTO followers") {
				return busy
			}
			return nil
		}},
		Logger: aptest.LoggerFunc(t, logs.add),
	})
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	bob := remote.AddActor("bob", aptest.Key(t, "remote2"))
	pending := func() int {
		_, p, err := inst.DB.CountInbox(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	failing.Store(true)
	if got := post(t, remote.Client, alice, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "1")), clock.Now()); got.status != 202 {
		t.Fatalf("Follow: %+v; want 202", got)
	}
	inst.Service.ProcessInbox(ctx)
	if pending() != 1 || logs.count("will retry") != 1 {
		t.Fatalf("after a busy database: %d pending, %d retry lines; want the Follow kept for a retry, logged", pending(), logs.count("will retry"))
	}
	failing.Store(false)
	inst.Service.ProcessInbox(ctx)
	if _, err := inst.DB.Follower(ctx, alice.IRI); err == nil {
		t.Error("retried at once; want a backoff")
	}
	clock.Advance(31 * time.Second)
	inst.Service.ProcessInbox(ctx)
	if _, err := inst.DB.Follower(ctx, alice.IRI); err != nil || pending() != 0 {
		t.Fatalf("after the backoff: follower %v, %d pending; want alice following, nothing pending", err, pending())
	}

	// A database that stays busy: bounded attempts, then dropped.
	failing.Store(true)
	post(t, remote.Client, bob, inst.URLs.Inbox(), aptest.JSON(t, follow(bob, inst, "1")), clock.Now())
	for range 20 {
		inst.Service.ProcessInbox(ctx)
		clock.Advance(24 * time.Hour)
	}
	if pending() != 0 || logs.count("dropped after its last attempt") != 1 {
		t.Errorf("%d pending, %d give-up lines; want bob's Follow dropped once, logged", pending(), logs.count("dropped after its last attempt"))
	}
	if n := logs.count("will retry"); n < 3 || n > 10 {
		t.Errorf("%d retries logged in all; want a few, bounded", n)
	}
}

// TestInboxBatchSettlesEachActivity: activities handled in one batch each
// get their own outcome. Of five, handled by one ProcessInbox, a Follow
// hits a busy database (kept for a retry, logged), one fails for good
// (dropped, logged), one needs its object fetched (handled outside the
// batch, where the network may be waited for) and the two others commit.
func TestInboxBatchSettlesEachActivity(t *testing.T) {
	ctx := context.Background()
	var logs logLines
	var batched atomic.Int32
	inst := aptest.NewInstance(t, aptest.InstanceOptions{
		DB: store.Options{
			Fault: func(query string, args []any) error {
				if !strings.Contains(query, "INTO followers") {
					return nil
				}
				for _, a := range args {
					switch s, _ := a.(string); {
					case strings.Contains(s, "/bob#"):
						return errors.New("database is locked (5) (SQLITE_BUSY)")
					case strings.Contains(s, "/carol#"):
						return store.ErrNotFound // a failure no retry mends
					}
				}
				return nil
			},
			Trace: func(query string, _ []any) {
				if strings.Contains(query, "total_changes()") { // a batch's unit starting
					batched.Add(1)
				}
			},
		},
		Logger: aptest.LoggerFunc(t, logs.add),
	})
	remote := aptest.NewRemote(t, false)
	actors := map[string]*aptest.RemoteActor{}
	for _, name := range []string{"alice", "bob", "carol", "dave", "erin"} {
		actors[name] = remote.AddActor(name, aptest.Key(t, "remote")) // one key pair, five key ids
	}
	noteIRI := actors["dave"].IRI + "/notes/1"
	note := noteDoc(noteIRI, actors["dave"].IRI, "", "hello", time.Now().Add(-time.Minute))
	note["cc"] = []string{inst.URLs.Actor()}
	remote.SetDocument("/users/dave/notes/1", note)
	create := map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": noteIRI + "/activity", "type": "Create",
		"actor": actors["dave"].IRI, "object": noteIRI, // a bare IRI: kith fetches it from its origin
	}

	send := func(name string, act map[string]any) {
		t.Helper()
		if got := post(t, remote.Client, actors[name], inst.URLs.Inbox(), aptest.JSON(t, act), time.Now()); got.status != 202 {
			t.Fatalf("%s: %+v; want 202", name, got)
		}
	}
	send("alice", follow(actors["alice"], inst, "1"))
	send("bob", follow(actors["bob"], inst, "1"))
	send("carol", follow(actors["carol"], inst, "1"))
	send("dave", create)
	send("erin", follow(actors["erin"], inst, "1"))

	if n, err := inst.Service.ProcessInbox(ctx); err != nil || n != 5 {
		t.Fatalf("ProcessInbox = %d, %v; want 5 handled", n, err)
	}
	if batched.Load() == 0 {
		t.Error("no unit of a batch ran; want the activities handled in batches")
	}
	for name, want := range map[string]bool{"alice": true, "bob": false, "carol": false, "erin": true} {
		_, err := inst.DB.Follower(ctx, actors[name].IRI)
		if got := err == nil; got != want {
			t.Errorf("%s following: %v (%v); want %v", name, got, err, want)
		}
	}
	if _, err := inst.DB.PostByIRI(ctx, noteIRI); err != nil {
		t.Errorf("dave's post, fetched outside the batch: %v; want stored", err)
	}
	if _, pending, err := inst.DB.CountInbox(ctx); err != nil || pending != 1 {
		t.Errorf("%d pending (%v); want bob's Follow alone, kept for its retry", pending, err)
	}
	if logs.count("will retry") != 1 || logs.count("activity dropped: invalid") != 1 {
		t.Errorf("%d retry and %d drop lines; want one of each", logs.count("will retry"), logs.count("activity dropped: invalid"))
	}
}
