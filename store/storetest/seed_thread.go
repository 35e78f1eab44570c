package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"kith/store"
)

// SeedThread stores a conversation of 201 posts by the actors (from
// SeedActors, at least 260 of them), each with content as its HTML: a
// root, 40 replies to it, and four answers under each reply, a second
// apart from an hour ago. It returns the IRI of the 21st reply, where
// the benchmarks open the thread.
func SeedThread(tb testing.TB, db *store.DB, actors []string, content string) (focus string) {
	tb.Helper()
	ctx := context.Background()
	start := time.Now().Add(-time.Hour)
	root := actors[0] + "/statuses/thread-root"
	err := db.Update(ctx, func(tx *store.Tx) error {
		put := func(iri, author, parent string, n int) error {
			return tx.PutPost(ctx, &store.Post{IRI: iri, AuthorIRI: author, Type: "Note", ContentHTML: content,
				Visibility: store.Public, InReplyTo: parent, Published: start.Add(time.Duration(n) * time.Second)})
		}
		if err := put(root, actors[0], "", 0); err != nil {
			return err
		}
		n := 1
		for i := range 40 {
			reply := fmt.Sprintf("%s/statuses/thread-%d", actors[i+1], i)
			if err := put(reply, actors[i+1], root, n); err != nil {
				return err
			}
			n++
			for j := range 4 {
				if err := put(fmt.Sprintf("%s/statuses/thread-%d-%d", actors[100+i*4+j], i, j), actors[100+i*4+j], reply, n); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf("%s/statuses/thread-%d", actors[21], 20)
}
