package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"kith/store"
	"kith/store/storetest"
)

// TestLocalPostCounts: the counts kept by triggers agree with counting the
// posts table after inserts, edits, visibility changes, deletions and
// remote posts.
func TestLocalPostCounts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kith.db")
	db := storetest.OpenAt(t, path)
	now := time.Now()
	put := func(iri, local, vis string) *store.Post {
		p := &store.Post{IRI: iri, LocalID: local, AuthorIRI: "https://k.example/users/me", Type: "Note", Visibility: vis, Published: now}
		if err := db.Update(ctx, func(tx *store.Tx) error { return tx.PutPost(ctx, p) }); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for i := range 5 {
		put(fmt.Sprintf("https://k.example/p/%d", i), fmt.Sprintf("l%d", i), store.Public)
	}
	put("https://k.example/p/u", "lu", store.Unlisted)
	put("https://k.example/p/f", "lf", store.Followers)
	put("https://r.example/p/1", "", store.Public)     // remote: not ours
	put("https://k.example/p/0", "l0", store.Public)   // an edit (the upsert's update arm)
	put("https://k.example/p/1", "l1", store.Unlisted) // visibility changed
	if err := db.Update(ctx, func(tx *store.Tx) error { return tx.MarkPostDeleted(ctx, "l2", now) }); err != nil {
		t.Fatal(err)
	}

	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, vis := range [][]string{{store.Public}, {store.Unlisted}, {store.Public, store.Unlisted}, nil} {
		got, err := db.CountLocalPosts(ctx, vis...)
		if err != nil {
			t.Fatal(err)
		}
		q := `SELECT count(*) FROM posts WHERE local_id IS NOT NULL AND deleted_at IS NULL`
		var args []any
		if vis != nil {
			q += ` AND visibility IN (` + fmt.Sprint(placeholders(len(vis))) + `)`
			for _, v := range vis {
				args = append(args, v)
			}
		}
		var want int
		if err := raw.QueryRow(q, args...).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("CountLocalPosts(%v) = %d; counting the table gives %d", vis, got, want)
		}
	}
	if got, _ := db.CountLocalPosts(ctx, store.Public); got != 3 {
		t.Errorf("public = %d; want 3 (5 - 1 made unlisted - 1 deleted)", got)
	}
}

func placeholders(n int) string {
	s := "?"
	for range n - 1 {
		s += ", ?"
	}
	return s
}
