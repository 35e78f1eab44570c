package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"kith/store"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/status.golden")

// TestStatus: kith status on a seeded database against
// testdata/status.golden, with the data path, the sizes and the version
// normalised; and kith status beside a running server.
func TestStatus(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	args := []string{"--listen", "127.0.0.1:0", "--data", data}
	startServe(t, args, nil).stop()

	db, err := store.Open(ctx, filepath.Join(data, "kith.db"))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var actors []*store.Actor
	for i, host := range []string{"a.example", "b.example", "c.example"} {
		a := &store.Actor{IRI: fmt.Sprintf("https://%s/users/u%d", host, i), Type: "Person", Username: fmt.Sprintf("u%d", i),
			Host: host, Inbox: fmt.Sprintf("https://%s/users/u%d/inbox", host, i), Raw: "{}", FetchedAt: at}
		if err := db.PutActor(ctx, a); err != nil {
			t.Fatal(err)
		}
		actors = append(actors, a)
	}
	err = db.Update(ctx, func(tx *store.Tx) error {
		for i, a := range actors {
			state := store.Accepted
			if i == 2 {
				state = store.Pending
			}
			if _, err := tx.PutFollower(ctx, a.ID, a.IRI+"#follow", state, at); err != nil {
				return err
			}
		}
		if err := tx.PutFollowing(ctx, actors[0].ID, "https://localhost:8080/follow/1", store.Accepted, at); err != nil {
			return err
		}
		act := &store.Activity{IRI: "http://localhost:8080/users/me/statuses/1/activity", Type: "Create", Body: []byte("{}"), CreatedAt: at}
		_, err := tx.Enqueue(ctx, act, []string{actors[0].Inbox, actors[1].Inbox, actors[2].Inbox}, at)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	due, err := db.DueDeliveries(ctx, at, 10)
	if err != nil || len(due) != 3 {
		t.Fatalf("due deliveries: %d, %v", len(due), err)
	}
	if _, err := db.DeliveryRetry(ctx, &due[1], at.Add(time.Hour), "503 Service Unavailable: <html>\n<body>down for maintenance</body></html>", at, 72*time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := db.DeliveryGiveUp(ctx, &due[2], "410 Gone", at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	var out bytes.Buffer
	if err := run(ctx, []string{"status", "--data", data}, env(nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	got := strings.ReplaceAll(out.String(), filepath.Join(data, "kith.db"), "DATA/kith.db")
	got = regexp.MustCompile(`\d+(\.\d)? (kB|MB|bytes)( \(and .* in its WAL file\))?`).ReplaceAllString(got, "SIZE")
	got = strings.Replace(got, version+", schema version "+fmt.Sprint(store.SchemaVersion()), "VERSION", 1)
	const golden = "testdata/status.golden"
	if *updateGolden {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("kith status differs from %s (run with -update if intended):\n--- got\n%s--- want\n%s", golden, got, want)
	}

	// The server keeps the database open and writing; status reads beside it.
	startServe(t, args, nil)
	out.Reset()
	if err := run(ctx, []string{"status", "--data", data}, env(nil), nil, &out, io.Discard); err != nil || !strings.Contains(out.String(), "@me@localhost:8080") {
		t.Errorf("status while serving: %v\n%s", err, out.String())
	}
}
