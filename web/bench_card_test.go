package web

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

// BenchmarkThreadTemplate makes 201 reply cards with the owner's buttons
// from posts already read, as BenchmarkThreadPage's thread shows them, and
// renders the thread page's template: the page's share beside the
// database, measured apart from the noise of the queries.
//
//	go test -run='^$' -bench=ThreadTemplate -benchtime=200x ./web
func BenchmarkThreadTemplate(b *testing.B) {
	now := time.Now()
	k := newKit(b, aptest.InstanceOptions{Now: func() time.Time { return now }})
	acct, err := k.inst.DB.Account(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	data := &threadPage{page: page{Title: "Thread", Lang: "en", Owner: true, CSRF: "csrf-token-0123456789", static: k.h.static}}
	c := k.h.cardContext(acct, &data.page, "/thread?iri=https%3A%2F%2Fremote.example%2Fusers%2Fa21%2Fstatuses%2Fthread-20")
	content := "<p>" + benchWords + "</p>"
	var posts []store.Post
	for i := range 201 {
		author := &store.Actor{IRI: fmt.Sprintf("https://remote.example/users/a%d", i), Username: fmt.Sprintf("a%d", i),
			Host: "remote.example", Name: fmt.Sprintf("Actor %d", i), IconURL: "https://remote.example/a.png"}
		p := store.Post{ID: int64(i + 1), SID: fmt.Sprintf("0000000001%06d", i), IRI: fmt.Sprintf("%s/statuses/%d", author.IRI, i),
			AuthorIRI: author.IRI, Author: author, ContentHTML: content, Visibility: store.Public,
			Published: now.Add(-time.Duration(201-i) * time.Minute), Counts: store.Counts{Likes: i % 3, Replies: i % 5}}
		if i > 0 {
			p.InReplyTo = "https://remote.example/users/a0/statuses/0"
		}
		posts = append(posts, p)
	}
	tpl := mustParse(b, k.h.pages["thread"])
	var buf bytes.Buffer
	var items []threadItem
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		items = items[:0]
		for i := range posts {
			items = append(items, threadItem{Card: k.h.cardOf(c, &posts[i], posts[i].SID), Indent: min(i%3, maxIndent), Focus: i == 21})
		}
		data.Items = writeThread(items)
		buf.Reset()
		if err := tpl.ExecuteTemplate(&buf, "layout", data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "page-bytes")
}

// benchWords is a paragraph of a remote post's length.
const benchWords = "A short post of a few sentences, as people write them in a thread: " +
	"an answer, a question, a link to https://example.org/somewhere and a #hashtag."
