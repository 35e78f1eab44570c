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
