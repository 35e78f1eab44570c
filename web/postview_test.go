package web

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

// renderCard runs the postcard partial on one card, as the pages do.
func renderCard(t *testing.T, k *kit, v cardView) string {
	t.Helper()
	var buf bytes.Buffer
	if err := mustParse(t, k.h.pages["post"]).ExecuteTemplate(&buf, "postcard", v); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestPostcard shows remote posts of every shape through the shared
// partial: what a reader must see (names isolated in <bdi>, warnings and
// sensitive media folded, alt text, poll results, the quote, the booster,
// times) and what must never reach their browser (a remote URL loaded
// directly, media that is not of an accepted type).
func TestPostcard(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	k := newKit(t, aptest.InstanceOptions{Now: func() time.Time { return now }})
	acct, err := k.inst.DB.Account(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	author := &store.Actor{IRI: "https://remote.example/users/ann", Username: "ann", Host: "remote.example",
		Name: "Ann \u202eevil", IconURL: "https://remote.example/ann.png", URL: "https://remote.example/@ann"}
	base := func() store.Post {
		return store.Post{
			SID: "0000000001abcdef", IRI: "https://remote.example/notes/1", AuthorIRI: author.IRI, Author: author,
			ContentHTML: "<p>Hello <b>world</b></p>", Visibility: store.Public, Published: now.Add(-90 * time.Minute),
		}
	}
	owner := cardContext{acct: acct, owner: true, csrf: "tok", back: "/home", now: now}
	visitor := cardContext{acct: acct, now: now}

	tests := []struct {
		name    string
		ctx     cardContext
		post    func(p *store.Post)
		boost   *store.Boost
		want    []string
		notWant []string
	}{
		{"plain note to the owner", owner, func(p *store.Post) {}, nil, []string{
			`<bdi>Ann ` + "\u202e" + `evil</bdi>`, `<bdi>@ann@remote.example</bdi>`, `<p>Hello <b>world</b></p>`,
			`<time datetime="2026-05-01T10:30:00Z" title="1 May 2026 10:30 UTC">1 h</time>`,
			`href="/thread?iri=https%3A%2F%2Fremote.example%2Fnotes%2F1"`, `src="/avatars?actor=https%3A%2F%2Fremote.example%2Fusers%2Fann"`,
			`href="/people?actor=`, `formaction="/like" name="sid" value="0000000001abcdef"`, `formaction="/boost"`, `formaction="/bookmark"`,
			`href="/compose?in_reply_to=https%3a%2f%2fremote.example%2fnotes%2f1"`,
		}, []string{"https://remote.example/ann.png", "<details"}},
		{"visitors get proxied avatars and no actions", visitor, func(p *store.Post) {}, nil, []string{
			`src="/proxy/`, `href="https://remote.example/@ann"`,
		}, []string{"https://remote.example/ann.png", `action="/like"`, "/avatars?", "/people?"}},
		{"content warning folds the text and media", owner, func(p *store.Post) {
			p.Summary, p.Sensitive = "spoilers", true
			p.Attachments = []store.Attachment{{URL: "https://remote.example/a.jpg", MediaType: "image/jpeg", Description: "a cat"}}
		}, nil, []string{`<details class="cw"><summary>spoilers</summary>`, `alt="a cat"`, `src="/proxy/`},
			[]string{`src="https://remote.example/a.jpg"`, `class="sensitive"`}},
		{"sensitive media without a warning", owner, func(p *store.Post) {
			p.Sensitive = true
			p.Attachments = []store.Attachment{{URL: "https://remote.example/a.png", MediaType: "image/png"}}
		}, nil, []string{`<details class="sensitive"><summary>Sensitive media: show 1 attachment</summary>`,
			`aria-label="Image without a description"`, `alt=""`}, nil},
		{"media of other types are only linked", visitor, func(p *store.Post) {
			p.Attachments = []store.Attachment{
				{URL: "https://tracker.example/pixel", MediaType: "text/html", Description: "pixel"},
				{URL: "https://remote.example/v.mp4", MediaType: "video/mp4", Description: "a clip"},
			}
		}, nil, []string{`<a class="attachment" href="https://tracker.example/pixel" rel="nofollow noopener noreferrer">Attachment: pixel</a>`,
			`>Video: a clip</a>`}, []string{`<img src="https://tracker.example`, `<img src="/proxy/`, "<video"}},
		{"poll with results", owner, func(p *store.Post) {
			p.Poll = &store.Poll{VotersCount: 4, VotedAt: now, Options: []store.PollOption{
				{Title: "Tea", Votes: 3, OwnVote: true}, {Title: "Coffee", Votes: 1}}}
		}, nil, []string{`<span class="pct">75%</span> Tea <span class="badge">your vote</span>`, `<span class="pct">25%</span> Coffee`,
			`4 votes · 4 people`, `you voted`}, []string{`action="/poll"`}},
		{"open poll that hides its counts", owner, func(p *store.Post) {
			p.Poll = &store.Poll{HideTotals: true, VotersCount: 4, VotedAt: now, ExpiresAt: now.Add(time.Hour), Options: []store.PollOption{
				{Title: "Tea", Votes: 3, OwnVote: true}, {Title: "Coffee", Votes: 1}}}
		}, nil, []string{`<li>Tea <span class="badge">your vote</span>`, `<li>Coffee`, `4 votes · 4 people`, `results when it ends`},
			[]string{`class="pct"`, "<progress", "75%"}},
		{"ended poll that hid its counts", owner, func(p *store.Post) {
			p.Poll = &store.Poll{HideTotals: true, VotersCount: 4, VotedAt: now, ExpiresAt: now.Add(-time.Hour), Options: []store.PollOption{
				{Title: "Tea", Votes: 3, OwnVote: true}, {Title: "Coffee", Votes: 1}}}
		}, nil, []string{`<span class="pct">75%</span> Tea`, `closed`}, []string{"results when it ends"}},
		{"open poll with a vote form", owner, func(p *store.Post) {
			p.Poll = &store.Poll{Multiple: true, VotersCount: -1, ExpiresAt: now.Add(3 * time.Hour),
				Options: []store.PollOption{{Title: "Tea"}, {Title: "Coffee"}}}
		}, nil, []string{`action="/poll"`, `type="checkbox" name="choice" value="1"`, `ends <time datetime="2026-05-01T15:00:00Z" title="1 May 2026 15:00 UTC">in 3 h</time>`},
			[]string{"-1", " people"}},
		{"quote inline", owner, func(p *store.Post) {
			p.Quote = &store.Post{IRI: "https://other.example/n/9", AuthorIRI: "https://other.example/u/bo",
				Author:      &store.Actor{IRI: "https://other.example/u/bo", Username: "bo", Host: "other.example"},
				ContentHTML: "<p>quoted words</p>", Published: now.Add(-48 * time.Hour)}
		}, nil, []string{`<blockquote class="quote">`, `<p>quoted words</p>`, `<bdi>@bo@other.example</bdi>`, `>2 d</time>`}, nil},
		{"boost header", owner, func(p *store.Post) {}, &store.Boost{ActorIRI: "https://third.example/u/cy", Published: now.Add(-5 * time.Minute)},
			[]string{`boosted · <time datetime="2026-05-01T11:55:00Z"`, `>5 min</time>`}, nil},
		{"a reply links its parent", owner, func(p *store.Post) { p.InReplyTo = "https://remote.example/notes/0" }, nil,
			[]string{`<a href="/thread?iri=https%3A%2F%2Fremote.example%2Fnotes%2F0">In reply to a post</a>`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base()
			tt.post(&p)
			e := store.Entry{SID: p.SID, Post: p, Boost: tt.boost}
			html := renderCard(t, k, k.h.entryCard(tt.ctx, &e, nil))
			for _, w := range tt.want {
				if !strings.Contains(html, w) {
					t.Errorf("missing %s in\n%s", w, html)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(html, w) {
					t.Errorf("unexpected %s in\n%s", w, html)
				}
			}
		})
	}
}

// TestRelativeTime covers the brief times of cards, past and future.
func TestRelativeTime(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "now"}, {-30 * time.Second, "now"}, {30 * time.Second, "now"}, {5 * time.Minute, "5 min"},
		{3 * time.Hour, "3 h"}, {50 * time.Hour, "2 d"}, {10 * 24 * time.Hour, "21 Apr"},
		{400 * 24 * time.Hour, "27 Mar 2025"}, {-3 * time.Hour, "in 3 h"}, {-30 * 24 * time.Hour, "31 May"},
	} {
		if got := relativeTime(now, now.Add(-tt.d)); got != tt.want {
			t.Errorf("%v ago: %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestPostcardArticleExcerpt: an article in a list shows its title and
// the start of its text with a link to the rest, not the whole text.
func TestPostcardArticleExcerpt(t *testing.T) {
	k := newKit(t, aptest.InstanceOptions{})
	acct, err := k.inst.DB.Account(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	long := "<p>" + strings.Repeat("Many words in a long article. ", 200) + "</p><p>THE END</p>"
	p := store.Post{SID: "x1", IRI: "https://remote.example/a/1", AuthorIRI: "https://remote.example/u/a", Title: "An article",
		ContentHTML: long, Visibility: store.Public, Published: time.Now()}
	html := renderCard(t, k, k.h.card(cardContext{acct: acct, owner: true, now: time.Now()}, &p))
	for _, want := range []string{`<h2><a href="/thread?iri=`, `<p class="excerpt">Many words`, `Read more<span class="visually-hidden"> of “An article”</span>`} {
		if !strings.Contains(html, want) {
			t.Errorf("missing %s in\n%s", want, html)
		}
	}
	if strings.Contains(html, "THE END") {
		t.Error("the whole article is on the card")
	}
}
