package ap_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
)

// waitFor polls cond until it holds or the deadline passes. It is for
// background workers under test, with a generous bound; it measures
// nothing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLeftoversProcessedAtStart: an activity stored (and answered 202) by
// a process that died before handling it is handled by the next run.
func TestLeftoversProcessedAtStart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kith.db")
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))

	first := aptest.NewInstance(t, aptest.InstanceOptions{DBPath: path})
	if resp := alice.Post(t, remote.Client, first.URLs.Inbox(), aptest.JSON(t, follow(alice, first, "1"))); resp.StatusCode != 202 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	first.Close() // "crash": stored, never processed

	second := aptest.NewInstance(t, aptest.InstanceOptions{DBPath: path})
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { second.Service.Run(runCtx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	waitFor(t, "the follower to be stored and the Accept delivered", func() bool {
		f, err := second.DB.Follower(ctx, alice.IRI)
		return err == nil && f.State == store.Accepted && len(remote.Received()) == 1
	})
}

// TestDeliveryQueuedByAnotherProcess: a delivery written to the database by
// another process (kith post) is sent by the running deliverer without a
// wake-up, through its poll.
func TestDeliveryQueuedByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kith.db")
	inst, remote, _ := followerSetupAt(t, path)
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { inst.Service.Run(runCtx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	waitFor(t, "the Accept", func() bool { return len(remote.Received()) == 1 })

	// Another process: its own connection to the same file, its own
	// service, no way to wake the running one.
	other, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	svc, err := ap.New(ctx, ap.Config{URLs: inst.URLs, DB: other, Client: remote.Client, AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Publish(ctx, ap.Draft{Source: "from the shell"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the Create queued by the other process", func() bool {
		got := remote.Received()
		return len(got) == 2 && got[1].Type() == "Create"
	})
}

func followerSetupAt(t *testing.T, path string) (*aptest.Instance, *aptest.Remote, *aptest.RemoteActor) {
	t.Helper()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{DBPath: path})
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	alice.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "1")))
	return inst, remote, alice
}

// TestGoToSocialKeyStub: a keyId that answers with a stub (GoToSocial's
// …/main-key) is followed to its owner, whose document must list the key.
func TestGoToSocialKeyStub(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	key := aptest.Key(t, "remote")
	var base string
	mux := http.NewServeMux()
	actorDoc := func(keyID string) map[string]any {
		return map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams", "id": base + "/users/bob", "type": "Person",
			"preferredUsername": "bob", "inbox": base + "/users/bob/inbox",
			"publicKey": map[string]any{"id": keyID, "owner": base + "/users/bob", "publicKeyPem": aptest.PublicPEM(t, key)},
		}
	}
	serveJSON := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/activity+json")
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /users/bob/main-key", func(w http.ResponseWriter, r *http.Request) {
		// The stub: an actor without an inbox, naming the real owner.
		serveJSON(w, map[string]any{"id": base + "/users/bob/main-key", "type": "Person",
			"publicKey": map[string]any{"id": base + "/users/bob/main-key", "owner": base + "/users/bob", "publicKeyPem": aptest.PublicPEM(t, key)}})
	})
	mux.HandleFunc("GET /users/bob", func(w http.ResponseWriter, r *http.Request) { serveJSON(w, actorDoc(base+"/users/bob/main-key")) })
	mux.HandleFunc("GET /users/liar", func(w http.ResponseWriter, r *http.Request) { serveJSON(w, actorDoc(base+"/users/liar/other-key")) })
	mux.HandleFunc("GET /users/liar/main-key", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(w, map[string]any{"id": base + "/users/liar/main-key", "type": "Key", "owner": base + "/users/bob", "publicKeyPem": aptest.PublicPEM(t, key)})
	})
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	base = srv.URL

	bob := &aptest.RemoteActor{Name: "bob", IRI: base + "/users/bob", KeyID: base + "/users/bob/main-key", Key: key}
	f := map[string]any{"id": bob.IRI + "#f", "type": "Follow", "actor": bob.IRI, "object": inst.URLs.Actor()}
	if resp := bob.Post(t, srv.Client(), inst.URLs.Inbox(), aptest.JSON(t, f)); resp.StatusCode != 202 {
		t.Fatalf("GoToSocial-style key: status %d; want 202", resp.StatusCode)
	}
	a, err := inst.DB.ActorByIRI(ctx, bob.IRI)
	if err != nil || a.KeyID != bob.KeyID || a.Inbox != base+"/users/bob/inbox" {
		t.Errorf("cached actor = %+v, %v", a, err)
	}
	// A key whose claimed owner does not list it is refused.
	liar := &aptest.RemoteActor{Name: "liar", IRI: base + "/users/bob", KeyID: base + "/users/liar/main-key", Key: key}
	f2 := map[string]any{"id": bob.IRI + "#f2", "type": "Follow", "actor": bob.IRI, "object": inst.URLs.Actor()}
	resp := liar.Post(t, srv.Client(), inst.URLs.Inbox(), aptest.JSON(t, f2))
	if resp.StatusCode != 401 {
		t.Errorf("key not claimed by its owner: status %d; want 401", resp.StatusCode)
	}
}
