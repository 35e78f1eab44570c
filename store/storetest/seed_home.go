package storetest

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"kith/store"
)

// SeedHome stores n remote posts by the actors (from SeedActors), oldest
// first, five minutes apart, each with content as its HTML and on the home
// timeline, as a year of following leaves them. It returns their sids.
func SeedHome(b testing.TB, path string, actors []string, n int, content string) []string {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	post, err := tx.Prepare(`INSERT INTO posts (iri, author_iri, type, content_html, visibility, url, published, sid)
		VALUES (?, ?, 'Note', ?, 'public', ?, ?, ?) RETURNING id`)
	if err != nil {
		b.Fatal(err)
	}
	home, err := tx.Prepare(`INSERT INTO home (sid, post_id, actor_iri) VALUES (?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now().Add(-365 * 24 * time.Hour)
	sids := make([]string, n)
	for i := range n {
		author := actors[i%len(actors)]
		at := start.Add(time.Duration(i) * 5 * time.Minute)
		iri := fmt.Sprintf("%s/statuses/%d", author, i)
		sids[i] = store.NewID(at)
		var id int64
		if err := post.QueryRow(iri, author, content, iri, at.UnixMilli(), sids[i]).Scan(&id); err != nil {
			b.Fatal(err)
		}
		if _, err := home.Exec(sids[i], id, author); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return sids
}
