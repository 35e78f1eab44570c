package ap_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
)

// readEnv is one kith instance whose owner follows alice, and a stranger,
// bob, on the same fake server; mallory is on another server.
type readEnv struct {
	t        *testing.T
	ctx      context.Context
	clock    *aptest.Clock
	inst     *aptest.Instance
	remote   *aptest.Remote
	alice    *aptest.RemoteActor // followed
	bob      *aptest.RemoteActor // a stranger
	other    *aptest.Remote
	mallory  *aptest.RemoteActor // on another host
	sent     int
	ownPosts map[string]*store.Post
}

func newReadEnv(t *testing.T) *readEnv {
	t.Helper()
	e := &readEnv{t: t, ctx: context.Background(), clock: aptest.NewClock(time.Now().Truncate(time.Second))}
	e.inst = aptest.NewInstance(t, aptest.InstanceOptions{Now: e.clock.Now})
	e.remote = aptest.NewRemote(t, true)
	e.alice = e.remote.AddActor("alice", aptest.Key(t, "remote"))
	e.bob = e.remote.AddActor("bob", aptest.Key(t, "remote2"))
	e.other = aptest.NewRemote(t, true)
	e.mallory = e.other.AddActor("mallory", aptest.Key(t, "other"))
	e.setFollowing(e.alice, store.Accepted)
	return e
}

// setFollowing records that the owner follows a (state), as an accepted
// Follow would have.
func (e *readEnv) setFollowing(a *aptest.RemoteActor, state string) {
	e.t.Helper()
	actor, err := e.inst.Service.ResolveActor(e.ctx, a.IRI)
	if err != nil {
		e.t.Fatal(err)
	}
	err = e.inst.DB.Update(e.ctx, func(tx *store.Tx) error {
		return tx.PutFollowing(e.ctx, actor.ID, e.inst.URLs.Actor()+"#follows/"+a.Name, state, e.clock.Now())
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// publish makes a post of the owner's and returns it.
func (e *readEnv) publish(text string) *store.Post {
	e.t.Helper()
	p, err := e.inst.Service.Publish(e.ctx, ap.Draft{Source: text})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Post
}

// send delivers body, signed by a, to the shared inbox and processes it.
func (e *readEnv) send(a *aptest.RemoteActor, body []byte) {
	e.t.Helper()
	r := e.remote
	if strings.HasPrefix(a.IRI, e.other.Base) {
		r = e.other
	}
	resp, err := r.Client.Do(a.NewPost(e.t, e.inst.URLs.SharedInbox(), body, e.clock.Now()))
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		e.t.Fatalf("POST: status %d; want 202", resp.StatusCode)
	}
	if _, err := e.inst.Service.ProcessInbox(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

// activity builds an activity by a with a fresh id.
func (e *readEnv) activity(a *aptest.RemoteActor, typ string, object any) map[string]any {
	e.sent++
	return map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       fmt.Sprintf("%s#activities/%d", a.IRI, e.sent),
		"type":     typ, "actor": a.IRI, "object": object,
		"to": []string{ap.Public}, "cc": []string{a.IRI + "/followers"},
		"published": e.clock.Now().UTC().Format(time.RFC3339),
	}
}

// note builds a public Note by a; extra properties are merged in.
func (e *readEnv) note(a *aptest.RemoteActor, id, text string, extra map[string]any) map[string]any {
	n := map[string]any{
		"id": a.IRI + "/statuses/" + id, "type": "Note", "attributedTo": a.IRI,
		"content": "<p>" + text + "</p>", "to": []string{ap.Public}, "cc": []string{a.IRI + "/followers"},
		"published": e.clock.Now().UTC().Format(time.RFC3339),
	}
	for k, v := range extra {
		n[k] = v
	}
	return n
}

// create sends Create{note} by a.
func (e *readEnv) create(a *aptest.RemoteActor, note map[string]any) {
	e.t.Helper()
	e.send(a, aptest.JSON(e.t, e.activity(a, "Create", note)))
}

// post returns the stored post iri, or nil.
func (e *readEnv) post(iri string) *store.Post {
	e.t.Helper()
	p, err := e.inst.DB.PostByIRI(e.ctx, iri)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// home returns the sids... of the home timeline as "post IRI" or
// "boost:booster:post IRI", newest first.
func (e *readEnv) home() []string {
	e.t.Helper()
	entries, err := e.inst.DB.Home(e.ctx, store.HomeQuery{Owner: e.inst.URLs.Actor(), Page: store.Page{Limit: 100}})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, en := range entries {
		if en.Post.LocalID != "" && en.Boost == nil {
			continue // the owner's own posts
		}
		if en.Boost != nil {
			out = append(out, "boost:"+en.Boost.ActorIRI+":"+en.Post.IRI)
		} else {
			out = append(out, en.Post.IRI)
		}
	}
	return out
}

// notifications returns the owner's notifications as "type actor [emoji]".
func (e *readEnv) notifications() []string {
	e.t.Helper()
	ns, err := e.inst.DB.Notifications(e.ctx, store.NotificationQuery{Owner: e.inst.URLs.Actor(), Page: store.Page{Limit: 100}})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, n := range ns {
		s := n.Type + " " + n.ActorIRI
		if n.Emoji != "" {
			s += " " + n.Emoji
		}
		if n.Target != "" {
			s += " -> " + n.Target
		}
		out = append(out, s)
	}
	return out
}

// rehost makes a fixture's activity come from a: its original actor and
// host become a's, so that a's signature covers it.
func rehost(b []byte, a *aptest.RemoteActor, oldActor, oldBase string) []byte {
	base := a.IRI[:strings.Index(a.IRI, "/users/")]
	b = bytes.ReplaceAll(b, []byte(oldActor), []byte(a.IRI))
	return bytes.ReplaceAll(b, []byte(oldBase), []byte(base))
}

// TestCreateEveryKindOfPost: real posts from Mastodon, Misskey, Pleroma,
// GoToSocial, Lemmy, PeerTube and Pixelfed, sent by an account the owner
// follows, are stored with what the timeline needs (a poll with its
// counts, a card for a video, the quoted post, media) and join the home
// timeline; none is dropped.
func TestCreateEveryKindOfPost(t *testing.T) {
	tests := []struct {
		file, actor, base string
		check             func(t *testing.T, p *store.Post)
	}{
		{"mastodon-create-question.json", "https://mastodon.sdf.org/users/rinpatch", "https://mastodon.sdf.org", func(t *testing.T, p *store.Post) {
			if p.Poll == nil || len(p.Poll.Options) != 4 || p.Poll.Multiple {
				t.Fatalf("poll = %+v; want four options, one answer", p.Poll)
			}
			if o := p.Poll.Options[1]; o.Title != "Everyone knows that!" || o.Votes != 1 {
				t.Errorf("option 2 = %+v", o)
			}
			if p.Poll.VotersCount != 2 || p.Poll.ExpiresAt.IsZero() {
				t.Errorf("voters %d, expires %v; want 2 and the endTime", p.Poll.VotersCount, p.Poll.ExpiresAt)
			}
		}},
		{"peertube-video.json", "https://tilvids.com/accounts/thelinuxexperiment", "https://tilvids.com", func(t *testing.T, p *store.Post) {
			if p.Type != "Video" || p.Title == "" || p.URL == "" || p.ContentHTML == "" {
				t.Errorf("video card: type %q, title %q, url %q, content %d bytes", p.Type, p.Title, p.URL, len(p.ContentHTML))
			}
			if p.Summary != "" {
				t.Errorf("a video's description became a content warning: %q", p.Summary)
			}
		}},
		{"misskey-note-quote.json", "https://misskey.io/users/93492q0ip0", "https://misskey.io", func(t *testing.T, p *store.Post) {
			if p.QuoteIRI != "https://example.com/objects/43479e20-c0f8-4f49-bf7f-13fab8234924" {
				t.Errorf("quote = %q", p.QuoteIRI)
			}
		}},
		{"fep-044f-quote-note.json", "https://example.com/users/bob", "https://example.com/users/bob", func(t *testing.T, p *store.Post) {
			if p.QuoteIRI != "https://example.com/users/alice/statuses/1" {
				t.Errorf("quote = %q", p.QuoteIRI)
			}
		}},
		{"pleroma-note.json", "https://queer.hacktivis.me/users/lanodan", "https://queer.hacktivis.me", func(t *testing.T, p *store.Post) {
			if p.ContentHTML != "Have what?" || p.InReplyTo == "" {
				t.Errorf("content %q, in reply to %q", p.ContentHTML, p.InReplyTo)
			}
		}},
		{"gotosocial-note-emoji-hashtag-attachment.json", "http://localhost:8080/users/admin", "http://localhost:8080", func(t *testing.T, p *store.Post) {
			if len(p.Attachments) != 1 || p.Attachments[0].MediaType != "image/jpeg" || p.Attachments[0].Description == "" {
				t.Errorf("attachments = %+v", p.Attachments)
			}
		}},
		{"lemmy-page.json", "https://enterprise.lemmy.ml/u/picard", "https://enterprise.lemmy.ml", func(t *testing.T, p *store.Post) {
			if p.Type != "Page" || p.Title == "" {
				t.Errorf("page: type %q, title %q", p.Type, p.Title)
			}
			if len(p.Attachments) != 1 || p.Attachments[0].MediaType != "image/png" {
				t.Errorf("the image link is not kept as an image: %+v", p.Attachments)
			}
		}},
		{"pixelfed-create-note-image.json", "https://pixelfed.social/users/mczachurski", "https://pixelfed.social", func(t *testing.T, p *store.Post) {
			if len(p.Attachments) != 1 || p.Attachments[0].Description == "" {
				t.Errorf("attachments = %+v", p.Attachments)
			}
		}},
		{"mastodon-note-attachment-mention.json", "https://floss.social/users/kde", "https://floss.social", func(t *testing.T, p *store.Post) {
			if len(p.Attachments) != 1 {
				t.Errorf("attachments = %+v", p.Attachments)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			e := newReadEnv(t)
			raw := rehost(fixture(t, tt.file), e.alice, tt.actor, tt.base)
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			if doc["type"] != "Create" {
				// A bare object: wrap it as its author would.
				if _, ok := doc["attributedTo"].(string); !ok {
					doc["attributedTo"] = e.alice.IRI
				}
				doc = e.activity(e.alice, "Create", doc)
			}
			obj := doc["object"].(map[string]any)
			e.send(e.alice, aptest.JSON(t, doc))
			p := e.post(obj["id"].(string))
			if p == nil {
				t.Fatalf("%s was not stored", obj["id"])
			}
			views := []store.Post{*p}
			views[0].Attachments, views[0].Tags, views[0].Mentions = nil, nil, nil
			if err := e.inst.DB.LoadPostViews(e.ctx, views, e.inst.URLs.Actor()); err != nil {
				t.Fatal(err)
			}
			tt.check(t, &views[0])
			if got := e.home(); len(got) != 1 || got[0] != p.IRI {
				t.Errorf("home = %v; want the post", got)
			}
		})
	}
}

// TestCreateKeepsOnlyMediaKithShows: an attachment that says it is a web
// page (issue 7: a tracking pixel on every visitor's screen) or any type
// kith does not play is not stored as media; an image without a type is
// known by its name.
func TestCreateKeepsOnlyMediaKithShows(t *testing.T) {
	e := newReadEnv(t)
	att := func(mt, url string) map[string]any {
		a := map[string]any{"type": "Document", "url": e.remote.Base + url, "name": "alt"}
		if mt != "" {
			a["mediaType"] = mt
		}
		return a
	}
	e.create(e.alice, e.note(e.alice, "media", "media", map[string]any{"attachment": []any{
		att("text/html", "/pixel"),
		att("image/svg+xml", "/a.svg"),
		att("application/pdf", "/a.pdf"),
		att("image/png", "/ok.png"),
		att("", "/guessed.jpg"),
		att("", "/unknown"),
		att("video/mp4; codecs=avc1", "/v.mp4"),
	}}))
	p := e.post(e.alice.IRI + "/statuses/media")
	var got []string
	for _, a := range p.Attachments {
		got = append(got, a.MediaType+" "+strings.TrimPrefix(a.URL, e.remote.Base))
	}
	want := []string{"image/png /ok.png", "image/jpeg /guessed.jpg", "video/mp4 /v.mp4"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("attachments = %v; want %v", got, want)
	}
}

// TestCreateNotifiesAndHoldsStrangersReplies: a mention and a reply tell
// the owner; a reply from someone who is neither followed nor a follower
// waits for approval and is not among the replies shown on the public
// page, while a followed account's reply is shown at once. A stranger's
// post that concerns the owner in no way is not stored.
func TestCreateNotifiesAndHoldsStrangersReplies(t *testing.T) {
	e := newReadEnv(t)
	mine := e.publish("Hello, world")
	me := e.inst.URLs.Actor()

	e.create(e.bob, e.note(e.bob, "nothing", "not for you", nil))
	if e.post(e.bob.IRI+"/statuses/nothing") != nil {
		t.Error("a stranger's post that concerns the owner was stored")
	}

	e.create(e.bob, e.note(e.bob, "reply", "spam", map[string]any{"inReplyTo": mine.IRI}))
	e.create(e.alice, e.note(e.alice, "reply", "nice", map[string]any{"inReplyTo": mine.IRI}))
	e.create(e.bob, e.note(e.bob, "mention", "hi @me", map[string]any{
		"to":  []string{me},
		"tag": []any{map[string]any{"type": "Mention", "href": me, "name": "@me"}},
	}))

	if p := e.post(e.bob.IRI + "/statuses/reply"); p == nil || p.Approval != store.Pending {
		t.Errorf("stranger's reply = %+v; want stored, pending", p)
	}
	if p := e.post(e.alice.IRI + "/statuses/reply"); p == nil || p.Approval != store.Shown {
		t.Errorf("followed account's reply = %+v; want shown", p)
	}
	shown, err := e.inst.DB.Replies(e.ctx, mine.IRI, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(shown) != 1 || shown[0].AuthorIRI != e.alice.IRI {
		t.Errorf("replies shown under the post: %d; want alice's only", len(shown))
	}
	got := e.notifications()
	slices.Sort(got)
	want := []string{"mention " + e.alice.IRI, "mention " + e.bob.IRI, "mention " + e.bob.IRI}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("notifications = %v; want %v", got, want)
	}
	// The direct mention by a stranger is not on the home timeline.
	if h := e.home(); len(h) != 1 || h[0] != e.alice.IRI+"/statuses/reply" {
		t.Errorf("home = %v; want alice's reply only", h)
	}

	// With the policy "everyone", a stranger's reply shows at once.
	if err := e.inst.DB.SetReplyPolicy(e.ctx, store.RepliesEveryone); err != nil {
		t.Fatal(err)
	}
	e.create(e.bob, e.note(e.bob, "reply2", "ok", map[string]any{"inReplyTo": mine.IRI}))
	if p := e.post(e.bob.IRI + "/statuses/reply2"); p == nil || p.Approval != store.Shown {
		t.Errorf("with policy everyone, reply = %+v; want shown", p)
	}
}

// TestCreateQuoteOfOwnersPost: a quote of one of the owner's posts tells
// the owner.
func TestCreateQuoteOfOwnersPost(t *testing.T) {
	e := newReadEnv(t)
	mine := e.publish("quote me")
	e.create(e.bob, e.note(e.bob, "q", "quoting", map[string]any{"_misskey_quote": mine.IRI}))
	if p := e.post(e.bob.IRI + "/statuses/q"); p == nil || p.QuoteIRI != mine.IRI {
		t.Fatalf("quote = %+v", p)
	}
	if got := e.notifications(); len(got) != 1 || got[0] != "quote "+e.bob.IRI {
		t.Errorf("notifications = %v; want a quote", got)
	}
}

// TestForgedOriginChangesNothing: an object embedded by a signer whose host
// does not own it is fetched from its origin, and the origin's copy is what
// counts: mallory cannot put words in alice's mouth by Create, change her
// post by Update, delete it, or pass off her own post as alice's.
func TestForgedOriginChangesNothing(t *testing.T) {
	e := newReadEnv(t)
	path := "/users/alice/statuses/real"
	genuine := e.note(e.alice, "real", "genuine", nil)
	e.remote.SetDocument(path, genuine)
	forged := e.note(e.alice, "real", "forged", nil)

	e.create(e.mallory, forged)
	p := e.post(genuine["id"].(string))
	if p == nil || p.ContentHTML != "<p>genuine</p>" || p.AuthorIRI != e.alice.IRI {
		t.Fatalf("after mallory's Create: %+v; want alice's genuine post, fetched from her server", p)
	}
	if n := countOf(e.remote.Gets(), path); n != 1 {
		t.Errorf("alice's post fetched %d times; want 1", n)
	}

	forged["updated"] = e.clock.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	e.send(e.mallory, aptest.JSON(t, e.activity(e.mallory, "Update", forged)))
	e.send(e.mallory, aptest.JSON(t, e.activity(e.mallory, "Delete", genuine["id"])))
	if p := e.post(genuine["id"].(string)); p == nil || p.ContentHTML != "<p>genuine</p>" {
		t.Errorf("after mallory's Update and Delete: %+v; want it unchanged", p)
	}

	// A post on mallory's host claiming alice as its author.
	claim := e.note(e.mallory, "claim", "alice said this", map[string]any{"attributedTo": e.alice.IRI,
		"to": []string{e.inst.URLs.Actor()}})
	e.create(e.mallory, claim)
	if p := e.post(claim["id"].(string)); p != nil {
		t.Errorf("a post attributed to another host's actor was stored: %+v", p)
	}
	// An unknown object that its origin does not serve stores nothing.
	e.create(e.mallory, e.note(e.alice, "missing", "never written", nil))
	if p := e.post(e.alice.IRI + "/statuses/missing"); p != nil {
		t.Errorf("an object its origin does not serve was stored: %+v", p)
	}
}

// countOf counts s in list.
func countOf(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// TestCreateOfHeldPostJoinsHome: a post already stored (fetched with a
// thread, say) joins the home timeline when its followed author's Create
// arrives, and keeps what is held.
func TestCreateOfHeldPostJoinsHome(t *testing.T) {
	e := newReadEnv(t)
	n := e.note(e.alice, "held", "as fetched", nil)
	err := e.inst.DB.Update(e.ctx, func(tx *store.Tx) error {
		return tx.PutPost(e.ctx, &store.Post{IRI: n["id"].(string), AuthorIRI: e.alice.IRI, Type: "Note",
			ContentHTML: "<p>as fetched</p>", Visibility: store.Public, Published: e.clock.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	n["content"] = "<p>replayed</p>"
	e.create(e.alice, n)
	if h := e.home(); len(h) != 1 || h[0] != n["id"] {
		t.Errorf("home = %v; want the held post", h)
	}
	if p := e.post(n["id"].(string)); p.ContentHTML != "<p>as fetched</p>" {
		t.Errorf("content = %q; want what was held", p.ContentHTML)
	}
}
