package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMigrationForgetsUnownedKeys: a database written before keys were
// bound to hosts may hold a key with an actor of another host, or one key
// with two actors. Migration keys_and_indexes forgets those keys (the
// actors are fetched again when needed) and keeps the rightful ones.
func TestMigrationForgetsUnownedKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kith.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	names, err := migrationNames()
	if err != nil {
		t.Fatal(err)
	}
	before := slices.IndexFunc(names, func(n string) bool { return strings.HasSuffix(n, "_keys_and_indexes.sql") })
	if before < 0 {
		t.Fatal("no keys_and_indexes migration")
	}
	for _, name := range names[:before] {
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	rows := []struct{ iri, host, key string }{
		{"https://a.example/users/alice", "a.example", "https://a.example/users/alice#main-key"},
		{"https://m.example/users/mallory", "m.example", "https://a.example/users/alice#main-key"},
		{"https://b.example/users/bob", "b.example", "https://b.example/users/bob#main-key"},
		{"https://b.example/users/bob2", "b.example", "https://b.example/users/bob#main-key"},
		{"https://c.example:8443/users/carol", "c.example:8443", "HTTPS://C.example:8443/users/carol/main-key"},
		{"https://d.example/users/dan", "d.example", "https://d.example.evil/users/dan#main-key"},
	}
	for _, r := range rows {
		if _, err := raw.Exec(`INSERT INTO actors (iri, type, host, inbox, key_id, public_key_pem, raw, fetched_at)
			VALUES (?, 'Person', ?, ?, ?, 'PEM', '{}', 1)`, r.iri, r.host, r.iri+"/inbox", r.key); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.Exec(fmt.Sprintf("PRAGMA user_version = %d", before)); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := map[string]string{
		"https://a.example/users/alice":      "https://a.example/users/alice#main-key",
		"https://m.example/users/mallory":    "",
		"https://b.example/users/bob":        "",
		"https://b.example/users/bob2":       "",
		"https://c.example:8443/users/carol": "HTTPS://C.example:8443/users/carol/main-key",
		"https://d.example/users/dan":        "",
	}
	for iri, key := range want {
		a, err := db.ActorByIRI(ctx, iri)
		if err != nil {
			t.Fatal(err)
		}
		if a.KeyID != key || (key == "") != (a.PublicKeyPEM == "") {
			t.Errorf("%s: key %q with PEM %q; want key %q", iri, a.KeyID, a.PublicKeyPEM, key)
		}
	}
}
