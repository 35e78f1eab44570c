package main

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/ap/safenet"
	"kith/store"
	"kith/store/storetest"
)

// node is a whole kith instance (federation and pages) on its own database
// behind its own loopback TLS server, as a second real server would be.
type node struct {
	app  *app
	srv  *httptest.Server
	urls ap.URLs
}

func newNode(t *testing.T, user string) *node {
	t.Helper()
	srv, setHandler := aptest.NewLateServer()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	cfg := &config{domain: srv.Listener.Addr().String(), user: user, allowPrivate: true, data: t.TempDir()}
	client := safenet.NewClient(safenet.Options{AllowPrivate: true, RootCAs: aptest.CertPool(srv), UserAgent: "kith-test"})
	a, err := setupWith(context.Background(), storetest.Open(t), cfg, io.Discard, aptest.Logger(t), appOptions{client: client, scheme: "https"})
	if err != nil {
		t.Fatal(err)
	}
	setHandler(a.handler)
	return &node{app: a, srv: srv, urls: a.ap.URLs()}
}

// settle runs both nodes' inbox workers and deliverers until neither has
// anything left to do: the exchange of messages between two servers,
// driven step by step instead of waited for.
func settle(t *testing.T, nodes ...*node) {
	t.Helper()
	ctx := context.Background()
	for round := 0; round < 10; round++ {
		busy := false
		for _, n := range nodes {
			if k, err := n.app.ap.ProcessInbox(ctx); err != nil {
				t.Fatal(err)
			} else if k > 0 {
				busy = true
			}
			st, _ := n.app.db.DeliveryStats(ctx, time.Now())
			if st.Due > 0 {
				busy = true
				n.app.ap.Deliverer().RunOnce(ctx)
			}
		}
		if !busy {
			return
		}
	}
	t.Fatal("the two servers were still exchanging messages after 10 rounds")
}

// TestTwoInstancesFollow: A follows B through kith's own outbound path;
// B verifies A's signature by fetching A's key, stores A as follower and
// sends an Accept, which A verifies the same way and records.
func TestTwoInstancesFollow(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, "alice")
	b := newNode(t, "bob")

	bob, err := a.app.ap.Follow(ctx, "@bob@"+b.urls.Domain())
	if err != nil {
		t.Fatalf("A follows B: %v", err)
	}
	if bob.IRI != b.urls.Actor() {
		t.Fatalf("resolved %s; want %s", bob.IRI, b.urls.Actor())
	}
	if f, err := a.app.db.Following(ctx, b.urls.Actor()); err != nil || f.State != store.Pending {
		t.Fatalf("before the Accept: following = %+v, %v; want pending", f, err)
	}
	settle(t, a, b)

	f, err := a.app.db.Following(ctx, b.urls.Actor())
	if err != nil || f.State != store.Accepted {
		t.Fatalf("A's following of B = %+v, %v; want accepted", f, err)
	}
	fl, err := b.app.db.Follower(ctx, a.urls.Actor())
	if err != nil || fl.State != store.Accepted || fl.FollowIRI != f.FollowIRI {
		t.Fatalf("B's follower A = %+v, %v; want accepted with A's Follow id %s", fl, err, f.FollowIRI)
	}
	if n, _ := b.app.db.CountFollowers(ctx, store.Accepted); n != 1 {
		t.Errorf("B has %d followers; want 1", n)
	}

	// And back: A unfollows, B forgets the follower.
	if _, err := a.app.ap.Unfollow(ctx, "@bob@"+b.urls.Domain()); err != nil {
		t.Fatal(err)
	}
	settle(t, a, b)
	if n, _ := b.app.db.CountFollowers(ctx, store.Accepted); n != 0 {
		t.Errorf("B has %d followers after A's Undo; want 0", n)
	}
}
