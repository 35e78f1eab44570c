package ap_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

// follow builds a Mastodon-style Follow of the instance's account by a.
func follow(a *aptest.RemoteActor, inst *aptest.Instance, id string) map[string]any {
	return map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       a.IRI + "#follows/" + id,
		"type":     "Follow",
		"actor":    a.IRI,
		"object":   inst.URLs.Actor(),
	}
}

// TestFollowIsAcceptedAndDelivered is the core flow: a Mastodon-like server
// follows kith with a signed Follow; kith answers 202, stores the follower,
// and delivers a signed Accept embedding the Follow, which the remote
// verifies with its own signature check.
func TestFollowIsAcceptedAndDelivered(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	remote := aptest.NewRemote(t, true)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))

	f := follow(alice, inst, "1")
	resp := alice.Post(t, remote.Client, inst.URLs.SharedInbox(), aptest.JSON(t, f))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST Follow: status %d; want 202", resp.StatusCode)
	}
	if n, err := inst.Service.ProcessInbox(ctx); err != nil || n != 1 {
		t.Fatalf("ProcessInbox = %d, %v; want 1, nil", n, err)
	}
	fl, err := inst.DB.Follower(ctx, alice.IRI)
	if err != nil {
		t.Fatalf("follower not stored: %v", err)
	}
	if fl.State != store.Accepted || fl.FollowIRI != f["id"] {
		t.Errorf("follower = %+v; want accepted with Follow id %v", fl, f["id"])
	}

	inst.Service.Deliverer().RunOnce(ctx)
	got := remote.Received()
	if len(got) != 1 {
		t.Fatalf("remote received %d requests; want 1 (the Accept)", len(got))
	}
	acc := got[0]
	if acc.VerifyErr != nil {
		t.Errorf("remote could not verify the Accept's signature: %v", acc.VerifyErr)
	}
	if acc.Path != "/users/alice/inbox" {
		t.Errorf("Accept went to %s; want alice's inbox", acc.Path)
	}
	if acc.KeyID != inst.URLs.KeyID() {
		t.Errorf("signed with key %q; want %q", acc.KeyID, inst.URLs.KeyID())
	}
	if acc.Type() != "Accept" || acc.Activity["actor"] != inst.URLs.Actor() {
		t.Errorf("got %s by %v; want an Accept by %s", acc.Type(), acc.Activity["actor"], inst.URLs.Actor())
	}
	obj, _ := acc.Activity["object"].(map[string]any)
	if obj["id"] != f["id"] || obj["type"] != "Follow" || obj["actor"] != alice.IRI || obj["object"] != inst.URLs.Actor() {
		t.Errorf("Accept object = %v; want the Follow embedded", obj)
	}
	if ct := acc.Header.Get("Content-Type"); ct != "application/activity+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	// Delivered means gone from the queue.
	if st, _ := inst.DB.DeliveryStats(ctx, time.Now()); st.Pending != 0 {
		t.Errorf("queue holds %d deliveries after success; want 0", st.Pending)
	}
}

// TestInboxRejects: each kind of bad request gets its precise status, and
// nothing is stored for it.
func TestInboxRejects(t *testing.T) {
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	bob := remote.AddActor("bob", aptest.Key(t, "remote2"))
	inbox := inst.URLs.Inbox()
	good := aptest.JSON(t, follow(alice, inst, "x"))

	tests := []struct {
		name   string
		req    func() *http.Request
		status int
	}{
		{"unsigned", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, inbox, bytes.NewReader(good))
			r.Header.Set("Content-Type", "application/activity+json")
			return r
		}, http.StatusUnauthorized},
		{"wrong key", func() *http.Request {
			impostor := *alice
			impostor.Key = aptest.Key(t, "other") // alice's keyId, another key
			return impostor.NewPost(t, inbox, good, time.Now())
		}, http.StatusUnauthorized},
		{"digest mismatch", func() *http.Request {
			r := alice.NewPost(t, inbox, good, time.Now())
			tampered := bytes.Replace(good, []byte("#follows/x"), []byte("#follows/y"), 1)
			r.Body = ioNopCloser(tampered)
			r.ContentLength = int64(len(tampered))
			return r
		}, http.StatusBadRequest},
		{"stale date", func() *http.Request {
			return alice.NewPost(t, inbox, good, time.Now().Add(-2*time.Hour))
		}, http.StatusUnauthorized},
		{"date from the future", func() *http.Request {
			return alice.NewPost(t, inbox, good, time.Now().Add(2*time.Hour))
		}, http.StatusUnauthorized},
		{"key owner is not the actor", func() *http.Request {
			return bob.NewPost(t, inbox, good, time.Now()) // bob signs alice's Follow
		}, http.StatusUnauthorized},
		{"oversized body", func() *http.Request {
			big := append([]byte(`{"type":"Note","actor":"`+alice.IRI+`","content":"`), bytes.Repeat([]byte("a"), 1<<20)...)
			big = append(big, `"}`...)
			return alice.NewPost(t, inbox, big, time.Now())
		}, http.StatusRequestEntityTooLarge},
		{"malformed JSON", func() *http.Request {
			return alice.NewPost(t, inbox, []byte(`{"type":"Follow","actor":`), time.Now())
		}, http.StatusBadRequest},
		{"no actor", func() *http.Request {
			return alice.NewPost(t, inbox, []byte(`{"type":"Follow","object":"x"}`), time.Now())
		}, http.StatusBadRequest},
		{"not ActivityPub", func() *http.Request {
			r := alice.NewPost(t, inbox, good, time.Now())
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, http.StatusUnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := remote.Client.Do(tt.req())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d; want %d", resp.StatusCode, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("error answer Content-Type %q; want JSON with a reason", ct)
			}
		})
	}
	total, _, err := inst.DB.CountInbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if total != 0 {
		t.Errorf("%d activities stored from rejected requests; want 0", total)
	}
}

// TestForeignActivityIDIsRefused: an activity whose id lies on another
// host than its actor's is refused before it is stored, so it cannot take
// the id of a real activity and make that one look like a duplicate.
func TestForeignActivityIDIsRefused(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	home := aptest.NewRemote(t, false)
	alice := home.AddActor("alice", aptest.Key(t, "remote"))
	elsewhere := aptest.NewRemote(t, false)
	eve := elsewhere.AddActor("eve", aptest.Key(t, "remote2"))

	real := follow(alice, inst, "1")
	forged := follow(eve, inst, "1")
	forged["id"] = real["id"] // alice's Follow id, sent first by eve
	if resp := eve.Post(t, elsewhere.Client, inst.URLs.Inbox(), aptest.JSON(t, forged)); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("forged id: status %d; want 400", resp.StatusCode)
	}
	if resp := alice.Post(t, home.Client, inst.URLs.Inbox(), aptest.JSON(t, real)); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("real Follow: status %d; want 202", resp.StatusCode)
	}
	inst.Service.ProcessInbox(ctx)
	if f, err := inst.DB.Follower(ctx, alice.IRI); err != nil || f.State != store.Accepted {
		t.Errorf("alice: %+v, %v; want an accepted follower", f, err)
	}
	if _, err := inst.DB.Follower(ctx, eve.IRI); err == nil {
		t.Error("eve became a follower through a forged activity id")
	}
}

// TestBlockedServerIsNotFetched: an activity from a blocked server is
// accepted and dropped without fetching the signer's key.
func TestBlockedServerIsNotFetched(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	if err := inst.DB.Block(ctx, remote.Host, time.Now()); err != nil {
		t.Fatal(err)
	}
	if resp := alice.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "1"))); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d; want 202", resp.StatusCode)
	}
	if _, err := inst.DB.ActorByIRI(ctx, alice.IRI); err == nil {
		t.Error("the blocked server's actor was fetched and stored")
	}
	if total, _, _ := inst.DB.CountInbox(ctx); total != 0 {
		t.Errorf("%d activities stored from a blocked server; want 0", total)
	}
}

// TestDuplicateFollowKeepsOneFollower: a redelivered Follow (same id) is
// stored once; a new Follow from an accepted follower gets a new Accept.
func TestDuplicateFollowKeepsOneFollower(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	body := aptest.JSON(t, follow(alice, inst, "1"))
	for range 3 {
		if resp := alice.Post(t, remote.Client, inst.URLs.Inbox(), body); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status %d; want 202", resp.StatusCode)
		}
	}
	if total, _, _ := inst.DB.CountInbox(ctx); total != 1 {
		t.Errorf("stored %d copies of one Follow; want 1", total)
	}
	// A second Follow with a new id (a lost Accept, retried by the remote).
	alice.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "2")))
	inst.Service.ProcessInbox(ctx)
	if n, _ := inst.DB.CountFollowers(ctx, store.Accepted); n != 1 {
		t.Errorf("%d followers; want 1", n)
	}
	inst.Service.Deliverer().RunOnce(ctx)
	if got := len(remote.Received()); got != 2 {
		t.Errorf("%d Accepts delivered; want 2, one per distinct Follow", got)
	}
}

// TestUnknownTypeIsAcceptedAndIgnored: an activity type kith does not
// handle is answered 202, stored, marked processed, and changes nothing.
func TestUnknownTypeIsAcceptedAndIgnored(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	act := map[string]any{"id": alice.IRI + "#wiggle/1", "type": "Wiggle", "actor": alice.IRI, "object": inst.URLs.Actor()}
	if resp := alice.Post(t, remote.Client, inst.URLs.SharedInbox(), aptest.JSON(t, act)); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d; want 202", resp.StatusCode)
	}
	if n, err := inst.Service.ProcessInbox(ctx); n != 1 || err != nil {
		t.Fatalf("ProcessInbox = %d, %v", n, err)
	}
	_, pending, _ := inst.DB.CountInbox(ctx)
	if pending != 0 {
		t.Errorf("%d activities still pending; want 0", pending)
	}
	if n, _ := inst.DB.CountFollowers(ctx, store.Accepted); n != 0 {
		t.Errorf("%d followers after an unknown activity", n)
	}
	if st, _ := inst.DB.DeliveryStats(ctx, time.Now()); st.Pending != 0 {
		t.Errorf("%d deliveries queued after an unknown activity", st.Pending)
	}
}

// TestLockedAccountKeepsFollowPending: with manual approval on, a Follow
// waits and nothing is sent.
func TestLockedAccountKeepsFollowPending(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{Locked: true})
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	alice.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "1")))
	inst.Service.ProcessInbox(ctx)
	fl, err := inst.DB.Follower(ctx, alice.IRI)
	if err != nil || fl.State != store.Pending {
		t.Fatalf("follower = %+v, %v; want pending", fl, err)
	}
	inst.Service.Deliverer().RunOnce(ctx)
	if got := len(remote.Received()); got != 0 {
		t.Errorf("%d activities sent for a pending follow; want 0", got)
	}
}

// TestUndoFollowRemovesFollower covers the embedded form Mastodon sends and
// the bare form snac sends (object = our actor).
func TestUndoFollowRemovesFollower(t *testing.T) {
	for _, form := range []string{"embedded", "by id", "snac"} {
		t.Run(form, func(t *testing.T) {
			ctx := context.Background()
			inst := aptest.NewInstance(t, aptest.InstanceOptions{})
			remote := aptest.NewRemote(t, false)
			alice := remote.AddActor("alice", aptest.Key(t, "remote"))
			f := follow(alice, inst, "1")
			alice.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, f))
			inst.Service.ProcessInbox(ctx)

			undo := map[string]any{"id": alice.IRI + "#undo/1", "type": "Undo", "actor": alice.IRI}
			switch form {
			case "embedded":
				undo["object"] = f
			case "by id":
				undo["object"] = f["id"]
			case "snac":
				undo["object"] = inst.URLs.Actor()
			}
			if resp := alice.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, undo)); resp.StatusCode != http.StatusAccepted {
				t.Fatalf("status %d", resp.StatusCode)
			}
			inst.Service.ProcessInbox(ctx)
			if n, _ := inst.DB.CountFollowers(ctx, store.Accepted); n != 0 {
				t.Errorf("%d followers after Undo; want 0", n)
			}
		})
	}
}

// TestUndoByAnotherActorIsIgnored: only the follower can undo its Follow.
// bob follows too, so that an Undo of alice's Follow acted on would show:
// the removal is keyed on the Undo's actor, and it is the guards (the
// embedded Follow's actor, the Follow id) that keep bob from being removed
// by an Undo of what is not his.
func TestUndoByAnotherActorIsIgnored(t *testing.T) {
	for _, form := range []string{"embedded", "by id"} {
		t.Run(form, func(t *testing.T) {
			ctx := context.Background()
			inst := aptest.NewInstance(t, aptest.InstanceOptions{})
			remote := aptest.NewRemote(t, false)
			alice := remote.AddActor("alice", aptest.Key(t, "remote"))
			bob := remote.AddActor("bob", aptest.Key(t, "remote2"))
			f := follow(alice, inst, "1")
			alice.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, f))
			bob.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(bob, inst, "1")))
			inst.Service.ProcessInbox(ctx)
			if n, _ := inst.DB.CountFollowers(ctx, store.Accepted); n != 2 {
				t.Fatalf("%d followers; want alice and bob", n)
			}
			undo := map[string]any{"id": bob.IRI + "#undo/1", "type": "Undo", "actor": bob.IRI, "object": f}
			if form == "by id" {
				undo["object"] = f["id"]
			}
			if resp := bob.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, undo)); resp.StatusCode != http.StatusAccepted {
				t.Fatalf("status %d", resp.StatusCode)
			}
			inst.Service.ProcessInbox(ctx)
			for _, a := range []*aptest.RemoteActor{alice, bob} {
				if _, err := inst.DB.Follower(ctx, a.IRI); err != nil {
					t.Errorf("%s no longer follows after bob's Undo of alice's Follow: %v", a.Name, err)
				}
			}
		})
	}
}

// TestDeleteActorRemovesFollower: a follower's account deletion removes it;
// a deletion of an actor we never knew is answered 202 without fetching
// anything (its key is usually gone already).
func TestDeleteActorRemovesFollower(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	alice.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "1")))
	inst.Service.ProcessInbox(ctx)

	del := map[string]any{"id": alice.IRI + "#delete", "type": "Delete", "actor": alice.IRI, "object": alice.IRI,
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"}}
	if resp := alice.Post(t, remote.Client, inst.URLs.SharedInbox(), aptest.JSON(t, del)); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	inst.Service.ProcessInbox(ctx)
	if n, _ := inst.DB.CountFollowers(ctx, store.Accepted); n != 0 {
		t.Errorf("%d followers after the follower's deletion; want 0", n)
	}
	if _, err := inst.DB.ActorByIRI(ctx, alice.IRI); err == nil {
		t.Error("deleted actor still cached")
	}

	// An unknown actor's Delete, signed with a key that cannot be fetched.
	ghost := remote.AddActor("ghost", aptest.Key(t, "other"))
	ghost.KeyID = remote.Base + "/gone#main-key"
	gdel := map[string]any{"id": ghost.IRI + "#delete", "type": "Delete", "actor": ghost.IRI, "object": ghost.IRI}
	if resp := ghost.Post(t, remote.Client, inst.URLs.SharedInbox(), aptest.JSON(t, gdel)); resp.StatusCode != http.StatusAccepted {
		t.Errorf("Delete of an unknown actor: status %d; want 202", resp.StatusCode)
	}
	if total, _, _ := inst.DB.CountInbox(ctx); total != 2 {
		t.Errorf("%d activities stored; want 2 (the unknown actor's Delete is dropped)", total)
	}
}

// TestKeyRotationRefetchesOnce: after the remote changes its key, the
// cached key fails, kith refetches the actor once and accepts the request.
func TestKeyRotationRefetchesOnce(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	alice.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "1")))
	before, err := inst.DB.ActorByIRI(ctx, alice.IRI)
	if err != nil {
		t.Fatal(err)
	}
	alice.Key = aptest.Key(t, "remote2") // rotated on the remote; its document now serves the new key
	resp := alice.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "2")))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("after key rotation: status %d; want 202", resp.StatusCode)
	}
	after, _ := inst.DB.ActorByIRI(ctx, alice.IRI)
	if after.PublicKeyPEM == before.PublicKeyPEM {
		t.Error("cached key was not refreshed")
	}
}

func ioNopCloser(b []byte) *nopCloser { return &nopCloser{bytes.NewReader(b)} }

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

var _ = fmt.Sprintf
