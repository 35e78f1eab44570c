package ap_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
)

// fixedClock is the time of the golden files.
var goldenTime = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// activityBody returns the stored JSON of an outgoing activity.
func activityBody(t *testing.T, inst *aptest.Instance, iri string) []byte {
	t.Helper()
	act, err := inst.DB.ActivityByIRI(context.Background(), iri)
	if err != nil {
		t.Fatalf("activity %s not stored: %v", iri, err)
	}
	return act.Body
}

// TestPublishGolden pins what other servers receive for a note, an article,
// an edit and a deletion in each visibility: the addressing of
// protocol.md §5.1, the Mention and Hashtag tags, the content warning.
func TestPublishGolden(t *testing.T) {
	for _, vis := range []string{store.Public, store.Unlisted, store.Followers, store.Direct} {
		t.Run(vis, func(t *testing.T) {
			ctx := context.Background()
			clock := aptest.NewClock(goldenTime)
			inst := aptest.NewInstance(t, aptest.InstanceOptions{Now: clock.Now, NewID: aptest.Sequence("p")})
			remote := aptest.NewRemote(t, true)
			remote.AddActor("alice", aptest.Key(t, "remote"))
			repl := []string{inst.URLs.Domain(), "kith.test", remote.Host, "remote.test"}

			note, err := inst.Service.Publish(ctx, ap.Draft{
				Source:     "Hello @alice@" + remote.Host + ", this is about #Go and *kith*.",
				Summary:    "kith news",
				Visibility: vis,
				Language:   "en",
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(note.Unresolved) != 0 {
				t.Fatalf("unresolved mentions %v", note.Unresolved)
			}
			aptest.Golden(t, *update, "create-note-"+vis+".json", activityBody(t, inst, inst.URLs.PostActivity(note.Post.LocalID)), repl...)

			article, err := inst.Service.Publish(ctx, ap.Draft{
				Title:      "A longer piece",
				Source:     "# Heading\n\nA paragraph with a [link](https://example.org/) for @alice@" + remote.Host + ".\n\n| a | b |\n|---|---|\n| 1 | 2 |",
				Visibility: vis,
			})
			if err != nil {
				t.Fatal(err)
			}
			aptest.Golden(t, *update, "create-article-"+vis+".json", activityBody(t, inst, inst.URLs.PostActivity(article.Post.LocalID)), repl...)

			clock.Advance(time.Hour)
			if _, err := inst.Service.Edit(ctx, note.Post.LocalID, ap.Draft{
				Source:  "Hello again @alice@" + remote.Host + ", edited. #Go",
				Summary: "kith news", Language: "en",
			}); err != nil {
				t.Fatal(err)
			}
			// The third id of the sequence is the Update's.
			aptest.Golden(t, *update, "update-"+vis+".json", activityBody(t, inst, inst.URLs.Activity("updates", "p3")), repl...)

			clock.Advance(time.Hour)
			if err := inst.Service.DeletePost(ctx, note.Post.LocalID); err != nil {
				t.Fatal(err)
			}
			aptest.Golden(t, *update, "delete-"+vis+".json", activityBody(t, inst, note.Post.IRI+"#delete"), repl...)
		})
	}
}

// TestPublishPollGolden pins the Create{Question} other servers receive
// for a poll of one choice (oneOf) and of several (anyOf): the options
// with replies.totalItems, endTime and votersCount, as Mastodon reads
// them; and the Question served at the post's IRI. Bad polls are refused
// before anything is stored.
func TestPublishPollGolden(t *testing.T) {
	ctx := context.Background()
	clock := aptest.NewClock(goldenTime)
	inst := aptest.NewInstance(t, aptest.InstanceOptions{Now: clock.Now, NewID: aptest.Sequence("p")})
	repl := []string{inst.URLs.Domain(), "kith.test"}
	for _, multiple := range []bool{false, true} {
		name := map[bool]string{false: "create-question-oneof.json", true: "create-question-anyof.json"}[multiple]
		out, err := inst.Service.Publish(ctx, ap.Draft{Source: "Tea or coffee?", Language: "en",
			Poll: &ap.DraftPoll{Options: []string{"Tea", " Coffee "}, Duration: 24 * time.Hour, Multiple: multiple}})
		if err != nil {
			t.Fatal(err)
		}
		aptest.Golden(t, *update, name, activityBody(t, inst, inst.URLs.PostActivity(out.Post.LocalID)), repl...)
		poll, err := inst.DB.PollOf(ctx, out.Post.ID)
		if err != nil || len(poll.Options) != 2 || poll.Options[1].Title != "Coffee" || poll.Multiple != multiple || !poll.ExpiresAt.Equal(goldenTime.Add(24*time.Hour)) {
			t.Errorf("stored poll: %+v, %v", poll, err)
		}
	}
	for _, bad := range []ap.DraftPoll{
		{Options: []string{"Only one"}, Duration: time.Hour},
		{Options: []string{"a", "b", "c", "d", "e"}, Duration: time.Hour},
		{Options: []string{"a", "a"}, Duration: time.Hour},
		{Options: []string{"a", ""}, Duration: time.Hour},
		{Options: []string{"a", strings.Repeat("b", ap.MaxPollOptionRunes+1)}, Duration: time.Hour},
		{Options: []string{"a", "b"}, Duration: time.Minute},
		{Options: []string{"a", "b"}, Duration: 40 * 24 * time.Hour},
	} {
		if _, err := inst.Service.Publish(ctx, ap.Draft{Source: "A bad poll", Poll: &bad}); !errors.Is(err, ap.ErrInvalid) {
			t.Errorf("poll %+v: err = %v; want ErrInvalid", bad, err)
		}
	}
}

// TestAddressing checks the visibility table of protocol.md §5.1 directly.
func TestAddressing(t *testing.T) {
	const f = "https://k.example/users/me/followers"
	m := []string{"https://r.example/users/a"}
	tests := []struct {
		vis    string
		to, cc string
	}{
		{store.Public, ap.Public, f + " " + m[0]},
		{store.Unlisted, f, ap.Public + " " + m[0]},
		{store.Followers, f, m[0]},
		{store.Direct, m[0], ""},
	}
	for _, tt := range tests {
		to, cc := ap.Addressing(tt.vis, f, m)
		if got := strings.Join(to, " "); got != tt.to {
			t.Errorf("%s: to = %q; want %q", tt.vis, got, tt.to)
		}
		if got := strings.Join(cc, " "); got != tt.cc {
			t.Errorf("%s: cc = %q; want %q", tt.vis, got, tt.cc)
		}
	}
}

// TestFanOutOnePerInbox: 10 followers on 3 servers, two with a shared
// inbox and one without: one post makes exactly one delivery per shared
// inbox and one per personal inbox on the third, each verified by the
// receiving server.
func TestFanOutOnePerInbox(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	shared1 := aptest.NewRemote(t, true)
	shared2 := aptest.NewRemote(t, true)
	personal := aptest.NewRemote(t, false)
	followers := map[*aptest.Remote][]string{
		shared1:  {"a1", "a2", "a3", "a4"},
		shared2:  {"b1", "b2", "b3"},
		personal: {"c1", "c2", "c3"},
	}
	for r, names := range followers {
		for _, n := range names {
			a := r.AddActor(n, aptest.Key(t, "remote"))
			a.Post(t, r.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(a, inst, n)))
		}
	}
	inst.Service.ProcessInbox(ctx)
	if n, _ := inst.DB.CountFollowers(ctx, store.Accepted); n != 10 {
		t.Fatalf("%d followers; want 10", n)
	}
	inst.Service.Deliverer().RunOnce(ctx) // the ten Accepts
	before := map[*aptest.Remote]int{shared1: len(shared1.Received()), shared2: len(shared2.Received()), personal: len(personal.Received())}

	res, err := inst.Service.Publish(ctx, ap.Draft{Source: "Hello, followers!"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Deliveries != 5 {
		t.Errorf("queued %d deliveries; want 5 (2 shared inboxes + 3 personal)", res.Deliveries)
	}
	inst.Service.Deliverer().RunOnce(ctx)
	for r, want := range map[*aptest.Remote][]string{
		shared1:  {"/inbox"},
		shared2:  {"/inbox"},
		personal: {"/users/c1/inbox", "/users/c2/inbox", "/users/c3/inbox"},
	} {
		got := r.Received()[before[r]:]
		var paths []string
		for _, rec := range got {
			paths = append(paths, rec.Path)
			if rec.VerifyErr != nil {
				t.Errorf("%s%s: signature rejected: %v", r.Host, rec.Path, rec.VerifyErr)
			}
			if rec.Type() != "Create" {
				t.Errorf("%s%s got %s; want Create", r.Host, rec.Path, rec.Type())
			}
		}
		sort.Strings(paths)
		if strings.Join(paths, " ") != strings.Join(want, " ") {
			t.Errorf("%s received at %v; want %v", r.Host, paths, want)
		}
	}
	// The activity is stored once, whatever the number of inboxes.
	if act, err := inst.DB.ActivityByIRI(ctx, inst.URLs.PostActivity(res.Post.LocalID)); err != nil || act.Type != "Create" {
		t.Errorf("Create not stored once: %+v %v", act, err)
	}
}

// TestDirectPostReachesOnlyTheMentioned: a direct post goes to the
// mentioned actor's inbox and nowhere else, followers included.
func TestDirectPostReachesOnlyTheMentioned(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	fans := aptest.NewRemote(t, true)
	for _, n := range []string{"f1", "f2"} {
		a := fans.AddActor(n, aptest.Key(t, "remote"))
		a.Post(t, fans.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(a, inst, n)))
	}
	inst.Service.ProcessInbox(ctx)
	inst.Service.Deliverer().RunOnce(ctx)
	fansBefore := len(fans.Received())

	other := aptest.NewRemote(t, true)
	bob := other.AddActor("bob", aptest.Key(t, "remote2"))
	res, err := inst.Service.Publish(ctx, ap.Draft{Source: "psst @bob@" + other.Host, Visibility: store.Direct})
	if err != nil {
		t.Fatal(err)
	}
	inst.Service.Deliverer().RunOnce(ctx)
	if got := len(fans.Received()) - fansBefore; got != 0 {
		t.Errorf("followers' server received %d requests for a direct post; want 0", got)
	}
	got := other.Received()
	if len(got) != 1 || got[0].Path != "/users/bob/inbox" || got[0].VerifyErr != nil {
		t.Fatalf("bob's server received %+v; want one verified POST to bob's own inbox", got)
	}
	obj, _ := got[0].Activity["object"].(map[string]any)
	if to, _ := obj["to"].([]any); len(to) != 1 || to[0] != bob.IRI {
		t.Errorf("direct post to = %v; want only bob", obj["to"])
	}
	if len(res.Post.Mentions) != 1 || res.Post.Mentions[0].ActorIRI != bob.IRI {
		t.Errorf("mentions = %+v", res.Post.Mentions)
	}
}

// TestMentionsAndHashtags: mentions are resolved through WebFinger into
// Mention tags, links and deliveries; hashtags become Hashtag tags and
// links to our tag pages; a mention that cannot be resolved stays plain
// text and is reported.
func TestMentionsAndHashtags(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	remote := aptest.NewRemote(t, true)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	src := "Hi @alice@" + remote.Host + " and @nobody@" + remote.Host + "! #Fediverse #go `#notatag @x@y.example`"
	res, err := inst.Service.Publish(ctx, ap.Draft{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Unresolved, ","); got != "@nobody@"+remote.Host {
		t.Errorf("unresolved = %q; want @nobody@%s", got, remote.Host)
	}
	p := res.Post
	if len(p.Mentions) != 1 || p.Mentions[0].ActorIRI != alice.IRI || p.Mentions[0].Name != "@alice@"+remote.Host {
		t.Errorf("mentions = %+v", p.Mentions)
	}
	if strings.Join(p.Tags, ",") != "fediverse,go" {
		t.Errorf("tags = %v; want fediverse, go", p.Tags)
	}
	for _, want := range []string{
		`<a href="` + remote.Base + `/@alice" class="u-url mention">@<span>alice</span></a>`,
		`<a href="` + inst.URLs.Tag("fediverse") + `" class="mention hashtag" rel="tag">#<span>Fediverse</span></a>`,
		"@nobody@" + remote.Host,
		"<code>#notatag @x@y.example</code>",
	} {
		if !strings.Contains(p.ContentHTML, want) {
			t.Errorf("content lacks %q:\n%s", want, p.ContentHTML)
		}
	}
	var create struct {
		Object struct {
			Tag []struct{ Type, Href, Name string }
		}
	}
	json.Unmarshal(activityBody(t, inst, inst.URLs.PostActivity(p.LocalID)), &create)
	var tags []string
	for _, tg := range create.Object.Tag {
		tags = append(tags, tg.Type+" "+tg.Name)
	}
	if got := strings.Join(tags, ", "); got != "Mention @alice@"+remote.Host+", Hashtag #fediverse, Hashtag #go" {
		t.Errorf("tags sent = %s", got)
	}
	// The mentioned actor gets the post even though she does not follow us.
	inst.Service.Deliverer().RunOnce(ctx)
	if got := remote.Received(); len(got) != 1 || got[0].Type() != "Create" {
		t.Errorf("mentioned actor's server received %d activities; want the Create", len(got))
	}
}

// TestPublishRejectsBadDrafts: problems the owner can fix come back as
// ErrInvalid with a message, and nothing is stored.
func TestPublishRejectsBadDrafts(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	// One more valid image than a post takes, so that only the cap can
	// refuse the draft that carries them all.
	var buf bytes.Buffer
	png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 8, 8)))
	images := make([]ap.DraftMedia, ap.MaxAttachments+1)
	for i := range images {
		m, err := inst.Service.StoreUpload(ctx, bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		images[i] = ap.DraftMedia{ID: m.ID, Description: "a square"}
	}
	tests := map[string]ap.Draft{
		"empty":                {Source: "  \n "},
		"bad visibility":       {Source: "x", Visibility: "everyone"},
		"too long":             {Source: strings.Repeat("a", ap.MaxPostRunes+1)},
		"title too long":       {Source: "x", Title: strings.Repeat("t", ap.MaxTitleRunes+1)},
		"too many images":      {Source: "x", Media: images},
		"missing upload":       {Source: "x", Media: []ap.DraftMedia{{ID: "nope"}}},
		"bad language":         {Source: "x", Language: "<script>"},
		"language as a name":   {Source: "x", Language: "English"},
		"language with space":  {Source: "x", Language: "en us"},
		"language digit first": {Source: "x", Language: "1en"},
		"invalid UTF-8 text":   {Source: "x\xff"},
	}
	for name, d := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := inst.Service.Publish(ctx, d)
			if !errors.Is(err, ap.ErrInvalid) {
				t.Errorf("err = %v; want ErrInvalid", err)
			}
			if want := fmt.Sprintf("at most %d fit", ap.MaxAttachments); name == "too many images" && !strings.Contains(fmt.Sprint(err), want) {
				t.Errorf("err = %v; want the attachment cap's (%q)", err, want)
			}
		})
	}
	if n, _ := inst.DB.CountLocalPosts(ctx); n != 0 {
		t.Errorf("%d posts stored from bad drafts", n)
	}
	// The same images, as many as fit, make a post.
	if _, err := inst.Service.Publish(ctx, ap.Draft{Source: "x", Media: images[:ap.MaxAttachments]}); err != nil {
		t.Errorf("%d valid images: %v", ap.MaxAttachments, err)
	}
}

// TestLanguageTags: the language tags people use pass.
func TestLanguageTags(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	for _, tag := range []string{"en", "de", "pt-BR", "zh-Hant-TW", "es-419", "yue", "sr-Latn"} {
		if _, err := inst.Service.Publish(ctx, ap.Draft{Source: "x", Language: tag}); err != nil {
			t.Errorf("language %q: %v", tag, err)
		}
	}
}

// TestPostServedAsObjectAndTombstone: our post's IRI serves the Note to
// ActivityPub clients and a 410 Tombstone once deleted; non-public posts
// need a signature from someone allowed to see them.
func TestPostServedAsObjectAndTombstone(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	pub, _ := inst.Service.Publish(ctx, ap.Draft{Source: "public"})
	priv, _ := inst.Service.Publish(ctx, ap.Draft{Source: "followers only", Visibility: store.Followers})
	path := func(p *store.Post) string { return strings.TrimPrefix(p.IRI, inst.URLs.Base()) }

	resp, body := get(t, inst, path(pub.Post), "application/activity+json")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"type":"Note"`) {
		t.Fatalf("public post: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, inst, path(pub.Post)+"/activity", "application/activity+json"); resp.StatusCode != 200 {
		t.Errorf("Create activity: status %d", resp.StatusCode)
	}
	if resp, _ := get(t, inst, path(priv.Post), "application/activity+json"); resp.StatusCode != 404 {
		t.Errorf("followers-only post, unsigned: status %d; want 404", resp.StatusCode)
	}
	// A signed fetch by an accepted follower may see it.
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	alice.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "1")))
	inst.Service.ProcessInbox(ctx)
	req, _ := http.NewRequest(http.MethodGet, priv.Post.IRI, nil)
	req.Header.Set("Accept", "application/activity+json")
	signGET(t, alice, req)
	if resp, err := remote.Client.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("followers-only post, signed by a follower: %v %v; want 200", resp.StatusCode, err)
	}

	if err := inst.Service.DeletePost(ctx, pub.Post.LocalID); err != nil {
		t.Fatal(err)
	}
	resp, body = get(t, inst, path(pub.Post), "application/activity+json")
	if resp.StatusCode != http.StatusGone || !strings.Contains(string(body), `"type":"Tombstone"`) {
		t.Errorf("deleted post: %d %s; want 410 with a Tombstone", resp.StatusCode, body)
	}
	if err := inst.Service.DeletePost(ctx, pub.Post.LocalID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice: %v; want ErrNotFound", err)
	}
}

func signGET(t *testing.T, a *aptest.RemoteActor, req *http.Request) {
	t.Helper()
	a.Sign(t, req, nil, time.Now())
}

// TestEditKeepsMentionsWhenTheirServerIsDown: a day after a direct post
// to bob, his server is unreachable while the owner edits it. The edit
// keeps bob as the mention and addressee, from the copy of his actor kept
// since, and queues the Update to his inbox rather than to nobody.
func TestEditKeepsMentionsWhenTheirServerIsDown(t *testing.T) {
	ctx := context.Background()
	clock := aptest.NewClock(time.Now())
	inst := aptest.NewInstance(t, aptest.InstanceOptions{Now: clock.Now})
	other := aptest.NewRemote(t, true)
	bob := other.AddActor("bob", aptest.Key(t, "remote2"))
	res, err := inst.Service.Publish(ctx, ap.Draft{Source: "psst @bob@" + other.Host, Visibility: store.Direct})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(25 * time.Hour) // the cached actor is stale now
	other.Server.Close()

	ed, err := inst.Service.Edit(ctx, res.Post.LocalID, ap.Draft{Source: "psst @bob@" + other.Host + ", edited"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ed.Unresolved) != 0 || len(ed.Post.Mentions) != 1 || ed.Post.Mentions[0].ActorIRI != bob.IRI {
		t.Fatalf("after the edit: unresolved %v, mentions %+v; want bob kept", ed.Unresolved, ed.Post.Mentions)
	}
	if ed.Deliveries != 1 {
		t.Errorf("the Update is queued for %d inboxes; want bob's", ed.Deliveries)
	}
	if !strings.Contains(ed.Post.ContentHTML, `href="`) {
		t.Errorf("the mention lost its link: %s", ed.Post.ContentHTML)
	}
}
