package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http/httptest"
	"strings"
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
	return newNodeOn(t, user, storetest.Open(t))
}

// newNodeOn is newNode on the database db.
func newNodeOn(t *testing.T, user string, db *store.DB) *node {
	t.Helper()
	return newNodeWith(t, user, db, io.Discard)
}

// newNodeWith is newNodeOn writing what the first start prints (the
// owner's password) to stdout.
func newNodeWith(t *testing.T, user string, db *store.DB, stdout io.Writer) *node {
	t.Helper()
	srv, setHandler := aptest.NewLateServer()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	cfg := &config{domain: srv.Listener.Addr().String(), user: user, allowPrivate: true, data: t.TempDir()}
	client := safenet.NewClient(safenet.Options{AllowPrivate: true, RootCAs: aptest.CertPool(srv), UserAgent: "kith-test"})
	a, err := setupWith(context.Background(), db, cfg, stdout, aptest.Logger(t), appOptions{client: client, scheme: "https"})
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
	settleAside(t, func() func() { return func() {} }, nodes...)
}

// settleAside is settle that runs its own queue statistics inside aside,
// so a test tracing the stores can leave them out.
func settleAside(t *testing.T, aside func() (resume func()), nodes ...*node) {
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
			resume := aside()
			st, err := n.app.db.DeliveryStats(ctx, time.Now())
			resume()
			if err != nil {
				t.Fatal(err)
			}
			if st.Due > 0 {
				busy = true
				n.app.ap.Deliverer().RunOnce(ctx)
			}
		}
		if !busy {
			return
		}
	}
	t.Fatal("the servers were still exchanging messages after 10 rounds")
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

// followingPair starts two nodes, alice (A) and bob (B), with A following B
// and the Accept come back.
func followingPair(t *testing.T) (a, b *node) {
	t.Helper()
	a = newNode(t, "alice")
	b = newNode(t, "bob")
	if _, err := a.app.ap.Follow(context.Background(), "@bob@"+b.urls.Domain()); err != nil {
		t.Fatal(err)
	}
	settle(t, a, b)
	return a, b
}

// pngImage is a small valid PNG for upload tests.
func pngImage(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: 200, G: uint8(x * 4), B: 60, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestTwoInstancesPublish: A follows B; B publishes a post with an image
// and a content warning, edits it twice in quick succession, and deletes
// it. A's store follows each step, and the image A was told about can be
// fetched from B.
func TestTwoInstancesPublish(t *testing.T) {
	ctx := context.Background()
	a, b := followingPair(t)

	m, err := b.app.ap.StoreUpload(ctx, bytes.NewReader(pngImage(t, 64, 48)))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := b.app.ap.Publish(ctx, ap.Draft{
		Source:  "Look at *this*.",
		Summary: "bright colours",
		Media:   []ap.DraftMedia{{ID: m.ID, Description: "a red gradient"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	settle(t, a, b)

	got, err := a.app.db.PostByIRI(ctx, pub.Post.IRI)
	if err != nil {
		t.Fatalf("A does not have B's post: %v", err)
	}
	if got.AuthorIRI != b.urls.Actor() || got.Summary != "bright colours" || !got.Sensitive || !strings.Contains(got.ContentHTML, "<em>this</em>") {
		t.Errorf("A's copy = %+v", got)
	}
	if len(got.Attachments) != 1 {
		t.Fatalf("A's copy has %d attachments; want 1", len(got.Attachments))
	}
	att := got.Attachments[0]
	if att.Description != "a red gradient" || att.MediaType != "image/png" || att.Width != 64 || att.Height != 48 || att.Blurhash == "" {
		t.Errorf("attachment = %+v", att)
	}
	// The image is where B said it is.
	resp, err := a.srv.Client().Get(att.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("GET %s: %d %s", att.URL, resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	for i, text := range []string{"Look at *this*, edited.", "Look at *this*, edited twice."} {
		if _, err := b.app.ap.Edit(ctx, pub.Post.LocalID, ap.Draft{Source: text, Summary: "bright colours", Media: []ap.DraftMedia{{ID: m.ID, Description: "a red gradient"}}}); err != nil {
			t.Fatal(err)
		}
		settle(t, a, b)
		got, err = a.app.db.PostByIRI(ctx, pub.Post.IRI)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"edited.", "edited twice."}[i]
		if !strings.Contains(got.ContentHTML, want) || got.Updated.IsZero() {
			t.Errorf("after edit %d A's copy says %q (updated %v); want %q", i+1, got.ContentHTML, got.Updated, want)
		}
	}

	if err := b.app.ap.DeletePost(ctx, pub.Post.LocalID); err != nil {
		t.Fatal(err)
	}
	settle(t, a, b)
	if _, err := a.app.db.PostByIRI(ctx, pub.Post.IRI); err != store.ErrNotFound {
		t.Errorf("after the Delete, A's copy: %v; want it gone", err)
	}
}
