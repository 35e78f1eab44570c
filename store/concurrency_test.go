package store_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kith/store"
	"kith/store/storetest"
)

// concurrencyOps is how many operations each writer makes: enough that
// their transactions overlap many times, few enough to finish in seconds.
const concurrencyOps = 300

// helperDBEnv names the database a helper process writes to; set, it turns
// TestHelperKithPost into that helper.
const helperDBEnv = "KITH_TEST_CONCURRENCY_DB"

// TestConcurrentWritersNoBusy hammers one database file with every kind of
// writer kith has, at once: the inbox, the deliverer, the web pages, and a
// separate process doing what `kith post` does (design.md §10: zero
// SQLITE_BUSY errors). Transactions that read before they write are the
// ones a deferred BEGIN would fail with SQLITE_BUSY (perf.md §1b); they
// must wait their turn instead. Every row written must be there at the end.
func TestConcurrentWritersNoBusy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), "kith.db")
	db := storetest.OpenAt(t, path)

	// The other process opens the file, says ready, and waits for "go", so
	// that its writes overlap ours instead of preceding them.
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperKithPost$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperDBEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	var helperOut strings.Builder
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			helperOut.WriteString(sc.Text() + "\n")
			if sc.Text() == "ready" {
				lines <- sc.Text()
			}
		}
	}()
	select {
	case l, ok := <-lines:
		if !ok || l != "ready" {
			cmd.Wait()
			t.Fatalf("helper process did not get ready:\n%s%s", helperOut.String(), stderr.String())
		}
	case <-ctx.Done():
		t.Fatal("helper process did not get ready in time")
	}

	var (
		mu   sync.Mutex
		errs []error
	)
	fail := func(who string, err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, fmt.Errorf("%s: %w", who, err))
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	now := time.Now()

	// (a) The inbox: store an activity, then mark it processed.
	wg.Go(func() {
		<-start
		for i := range concurrencyOps {
			it := &store.InboxItem{DedupKey: inboxKey(i), Type: "Create", ActorIRI: "https://remote.example/users/alice", Body: []byte(`{}`), ReceivedAt: now}
			added, err := db.AddInbox(ctx, it)
			if err != nil || !added {
				fail("inbox", fmt.Errorf("add %d: added=%v, %v", i, added, err))
				continue
			}
			if err := db.MarkInboxProcessed(ctx, it.ID, "", time.Now()); err != nil {
				fail("inbox", err)
			}
		}
	})

	// (b) The deliverer: an activity is queued, read back from the queue,
	// and then delivered (even) or rescheduled after a failure (odd).
	wg.Go(func() {
		<-start
		for i := range concurrencyOps {
			act := &store.Activity{IRI: deliveryIRI(i), Type: "Create", ObjectIRI: deliveryIRI(i) + "/object", Body: []byte(`{}`)}
			err := db.Update(ctx, func(tx *store.Tx) error {
				_, err := tx.Enqueue(ctx, act, []string{"https://deliv.example/inbox"}, time.Now())
				return err
			})
			if err != nil {
				fail("deliverer", err)
				continue
			}
			due, err := db.DueDeliveries(ctx, time.Now(), 10000)
			if err != nil {
				fail("deliverer", err)
				continue
			}
			var d *store.Delivery
			for j := range due {
				if due[j].ActivityID == act.ID {
					d = &due[j]
				}
			}
			if d == nil {
				fail("deliverer", fmt.Errorf("delivery of %s not in the queue", act.IRI))
				continue
			}
			if i%2 == 0 {
				err = db.DeliveryDone(ctx, d, time.Now())
			} else {
				_, err = db.DeliveryRetry(ctx, d, time.Now().Add(time.Hour), "HTTP 503 Service Unavailable", time.Now(), 72*time.Hour)
			}
			if err != nil {
				fail("deliverer", err)
			}
		}
	})

	// (c) The web: log in and out, and publish in transactions that read
	// before they write.
	wg.Go(func() {
		<-start
		for i := range concurrencyOps {
			s := &store.Session{TokenHash: sessionHash(i), CSRF: "csrf", CreatedAt: now, ExpiresAt: now.Add(time.Hour), UserAgent: "test"}
			if err := db.AddSession(ctx, s); err != nil {
				fail("web", err)
			}
			if i%2 == 1 {
				if err := db.DeleteSession(ctx, sessionHash(i)); err != nil {
					fail("web", err)
				}
			}
			err := db.Update(ctx, func(tx *store.Tx) error {
				if _, err := tx.CountPinned(ctx); err != nil {
					return err
				}
				return tx.PutPost(ctx, localPost("web", i))
			})
			if err != nil {
				fail("web", err)
			}
		}
	})

	close(start)
	if _, err := fmt.Fprintln(stdin, "go"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for range lines { // drain until the helper closes its output
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("helper process (kith post): %v\n%s%s", err, helperOut.String(), stderr.String())
	}
	for _, err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	// Every row is there.
	total, pending, err := db.CountInbox(ctx)
	if err != nil || total != concurrencyOps || pending != 0 {
		t.Errorf("inbox: %d stored, %d pending (%v); want %d stored, 0 pending", total, pending, err, concurrencyOps)
	}
	for i := range concurrencyOps {
		_, err := db.SessionByHash(ctx, sessionHash(i), now)
		if kept := i%2 == 0; kept && err != nil {
			t.Errorf("session %d: %v; want it kept", i, err)
		} else if !kept && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session %d: %v; want it deleted", i, err)
		}
		for _, who := range []string{"web", "helper"} {
			if _, err := db.PostByIRI(ctx, localPost(who, i).IRI); err != nil {
				t.Errorf("post %s %d: %v", who, i, err)
			}
		}
		for _, iri := range []string{deliveryIRI(i), helperActivityIRI(i)} {
			if _, err := db.ActivityByIRI(ctx, iri); err != nil {
				t.Errorf("activity %s: %v", iri, err)
			}
		}
	}
	if n, err := db.CountLocalPosts(ctx); err != nil || n != 2*concurrencyOps {
		t.Errorf("local posts: %d (%v); want %d", n, err, 2*concurrencyOps)
	}
	// Odd deliveries were rescheduled, even ones delivered; each helper
	// post queued helperInboxes deliveries.
	st, err := db.DeliveryStats(ctx, time.Now())
	if want := concurrencyOps/2 + concurrencyOps*len(helperInboxes()); err != nil || st.Pending != want || st.Retrying != concurrencyOps/2 {
		t.Errorf("queue: %+v (%v); want %d pending, %d retrying", st, err, want, concurrencyOps/2)
	}
	if h, err := db.HostByName(ctx, "deliv.example"); err != nil || h.Failures == 0 {
		t.Errorf("host deliv.example: %+v (%v); want a failure streak", h, err)
	}
}

// helperInboxes are where the helper's posts go.
func helperInboxes() []string { return []string{"https://a.example/inbox", "https://b.example/inbox"} }

// TestHelperKithPost is the separate process of TestConcurrentWritersNoBusy:
// it opens the same file with store.Open, as `kith post` does, and publishes
// in transactions that read before they write: the post, then the
// followers' inboxes, then the Create and its deliveries.
func TestHelperKithPost(t *testing.T) {
	path := os.Getenv(helperDBEnv)
	if path == "" {
		t.Skip("the second process of TestConcurrentWritersNoBusy; runs only when started by it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		t.Fatalf("waiting for go: %v", err)
	}
	for i := range concurrencyOps {
		p := localPost("helper", i)
		err := db.Update(ctx, func(tx *store.Tx) error {
			if _, err := tx.PostByIRI(ctx, p.IRI); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("post %s before it was written: %v", p.IRI, err)
			}
			if err := tx.PutPost(ctx, p); err != nil {
				return err
			}
			if _, err := tx.FollowerInboxes(ctx); err != nil {
				return err
			}
			act := &store.Activity{IRI: helperActivityIRI(i), Type: "Create", ObjectIRI: p.IRI, Body: []byte(`{}`)}
			_, err := tx.Enqueue(ctx, act, helperInboxes(), time.Now())
			return err
		})
		if err != nil {
			t.Errorf("post %d: %v", i, err)
		}
	}
}

func inboxKey(i int) string    { return fmt.Sprintf("https://remote.example/activities/%d", i) }
func deliveryIRI(i int) string { return fmt.Sprintf("https://kith.example/activities/deliverer-%d", i) }
func sessionHash(i int) string { return fmt.Sprintf("session-%d", i) }

func helperActivityIRI(i int) string {
	return fmt.Sprintf("https://kith.example/users/me/statuses/helper-%d/activity", i)
}

// localPost is post i of writer who, with a body like a short note.
func localPost(who string, i int) *store.Post {
	id := fmt.Sprintf("%s-%d", who, i)
	return &store.Post{
		IRI:         "https://kith.example/users/me/statuses/" + id,
		LocalID:     id,
		AuthorIRI:   "https://kith.example/users/me",
		Type:        "Note",
		ContentHTML: "<p>note " + id + "</p>",
		Source:      "note " + id,
		Visibility:  store.Public,
		Published:   time.Now().Truncate(time.Second),
		Tags:        []string{"kith"},
	}
}
