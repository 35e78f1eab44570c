package storetest

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"testing"
	"time"

	"kith/store"
)

// Real documents (testdata/README.md), stored as the raw JSON of the
// thread's posts and authors: a row as long as a real one spreads a
// thread over as many pages as a real thread.
var (
	//go:embed testdata/mastodon-note.json
	noteDocument string
	//go:embed testdata/mastodon-actor-person.json
	actorDocument string
)

// SeedThread stores a conversation of 201 posts by the actors (from
// SeedActors, at least 700 of them), each with content as its HTML: a
// root, 40 replies to it, and four answers under each reply, a second
// apart from an hour ago. Each post keeps a real Note's JSON as its raw
// document, and has up to four likes and two boosts by other actors; each
// author gets a real actor document, a bio, a profile URL and an avatar,
// as actors fetched from their servers have. It returns the IRI of the
// 21st reply, where the benchmarks open the thread.
func SeedThread(tb testing.TB, db *store.DB, actors []string, content string) (focus string) {
	tb.Helper()
	ctx := context.Background()
	start := time.Now().Add(-time.Hour)
	root := actors[0] + "/statuses/thread-root"
	authors := []string{}
	err := db.Update(ctx, func(tx *store.Tx) error {
		put := func(iri, author, parent string, n int) error {
			authors = append(authors, author)
			published := start.Add(time.Duration(n) * time.Second)
			p := &store.Post{IRI: iri, AuthorIRI: author, Type: "Note", ContentHTML: content,
				Visibility: store.Public, InReplyTo: parent, Published: published, Raw: noteDocument}
			if err := tx.PutPost(ctx, p); err != nil {
				return err
			}
			// Reactions by actors past the authors' range.
			for k := range n % 5 {
				fan := actors[400+(n+k*37)%300]
				if _, err := tx.PutLike(ctx, &store.Like{IRI: fmt.Sprintf("%s#likes/%d", fan, n), ActorIRI: fan,
					PostID: p.ID, CreatedAt: published.Add(time.Minute)}); err != nil {
					return err
				}
			}
			for k := range n % 3 {
				fan := actors[400+(n+k*53)%300]
				if _, err := tx.PutBoost(ctx, &store.Boost{IRI: fmt.Sprintf("%s/statuses/%d/activity", fan, n), ActorIRI: fan,
					PostID: p.ID, Visibility: store.Public, Published: published.Add(time.Minute)}); err != nil {
					return err
				}
			}
			return nil
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
	fetchedAuthors(tb, db.Path(), authors)
	return fmt.Sprintf("%s/statuses/thread-%d", actors[21], 20)
}

// fetchedAuthors gives the actors what a fetch from their server stores:
// the actor document, a bio, a profile page and an avatar.
func fetchedAuthors(tb testing.TB, path string, iris []string) {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	const bio = `<p>Writes about the small web, self-hosting and trains. Mostly here for the conversations. ` +
		`Pronouns: they/them. <a href="https://example.org/blog" rel="nofollow noopener noreferrer">example.org/blog</a></p>`
	for _, iri := range iris {
		if _, err := tx.Exec(`UPDATE actors SET raw = ?, summary_html = ?, url = ?, icon_url = ? WHERE iri = ?`,
			actorDocument, bio, iri+"/profile", iri+"/avatar.png", iri); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}
