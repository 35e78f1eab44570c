package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"kith/store"
	"kith/store/storetest"
)

func testActor(iri, host, keyID string) *store.Actor {
	return &store.Actor{IRI: iri, Type: "Person", Host: host, Inbox: iri + "/inbox", KeyID: keyID,
		PublicKeyPEM: "PEM of " + iri, FetchedAt: time.Now()}
}

// TestKeyStaysWithItsOwner: a key is stored only with an actor on the
// key's host, and a second actor claiming a key that another holds does
// not take it, unless it was found through the key itself (PutKeyOwner).
func TestKeyStaysWithItsOwner(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	const key = "https://a.example/users/alice#main-key"
	alice := testActor("https://a.example/users/alice", "a.example", key)
	if err := db.PutActor(ctx, alice); err != nil {
		t.Fatal(err)
	}

	// Another server's actor claiming alice's key is refused outright.
	mallory := testActor("https://m.example/users/mallory", "m.example", key)
	if err := db.PutActor(ctx, mallory); err == nil {
		t.Error("stored an actor with a key on another host")
	}

	// An actor of the same server claiming it is stored without the key.
	twin := testActor("https://a.example/users/twin", "a.example", key)
	if err := db.PutActor(ctx, twin); err != nil {
		t.Fatal(err)
	}
	if got, err := db.ActorByKeyID(ctx, key); err != nil || got.IRI != alice.IRI || got.PublicKeyPEM != alice.PublicKeyPEM {
		t.Fatalf("key %s belongs to %+v, %v; want alice still", key, got, err)
	}
	if got, _ := db.ActorByIRI(ctx, twin.IRI); got == nil || got.KeyID != "" || got.PublicKeyPEM != "" {
		t.Errorf("the second claimant was stored with key %q, %q; want none", got.KeyID, got.PublicKeyPEM)
	}

	// Found through the key's own document, the new owner takes it.
	twin = testActor(twin.IRI, "a.example", key)
	if err := db.PutKeyOwner(ctx, twin); err != nil {
		t.Fatal(err)
	}
	if got, err := db.ActorByKeyID(ctx, key); err != nil || got.IRI != twin.IRI {
		t.Fatalf("after PutKeyOwner the key belongs to %v, %v; want the new owner", got, err)
	}
	if got, _ := db.ActorByIRI(ctx, alice.IRI); got.KeyID != "" {
		t.Errorf("the former holder still has key %q", got.KeyID)
	}
	// Refreshing an actor keeps its own key.
	if err := db.PutActor(ctx, testActor(twin.IRI, "a.example", key)); err != nil {
		t.Fatal(err)
	}
	if got, err := db.ActorByKeyID(ctx, key); err != nil || got.IRI != twin.IRI {
		t.Errorf("after a refresh the key belongs to %v, %v", got, err)
	}
	if _, err := db.ActorByKeyID(ctx, ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ActorByKeyID(\"\") = %v; want ErrNotFound (actors without a key share no key)", err)
	}
}
