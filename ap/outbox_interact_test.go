package ap_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
)

// interactSetup is an instance followed by alice (remote) that knows a
// public post by ann, on another server with a shared inbox. The Accept
// to alice has been delivered.
type interactSetup struct {
	inst        *aptest.Instance
	clock       *aptest.Clock
	followers   *aptest.Remote
	authors     *aptest.Remote
	ann         *aptest.RemoteActor
	post        *store.Post
	seenF, seen int // deliveries already looked at, per remote
}

func newInteractSetup(t *testing.T) *interactSetup {
	t.Helper()
	ctx := context.Background()
	clock := aptest.NewClock(time.Now().UTC().Truncate(time.Second))
	inst, followers, _ := followerSetup(t, aptest.InstanceOptions{Now: clock.Now, NewID: aptest.Sequence("i")})
	inst.Service.Deliverer().RunOnce(ctx) // the Accept
	authors := aptest.NewRemote(t, true)
	ann := authors.AddActor("ann", aptest.Key(t, "remote2"))
	if _, err := inst.Service.ResolveActor(ctx, ann.IRI); err != nil {
		t.Fatal(err)
	}
	s := &interactSetup{inst: inst, clock: clock, followers: followers, authors: authors, ann: ann, seenF: 1}
	s.post = s.store(t, "1", store.Public)
	return s
}

// store keeps a post by ann as if it had arrived.
func (s *interactSetup) store(t *testing.T, n, visibility string) *store.Post {
	t.Helper()
	p := &store.Post{IRI: s.ann.IRI + "/statuses/" + n, AuthorIRI: s.ann.IRI, Type: "Note",
		ContentHTML: "<p>Post " + n + "</p>", Visibility: visibility, Published: s.clock.Now().Add(-time.Hour)}
	if err := s.inst.DB.Update(context.Background(), func(tx *store.Tx) error { return tx.PutPost(context.Background(), p) }); err != nil {
		t.Fatal(err)
	}
	return p
}

// sent delivers what is queued and returns what each remote received.
func (s *interactSetup) sent(t *testing.T) (toFollowers, toAuthors []aptest.Received) {
	t.Helper()
	s.inst.Service.Deliverer().RunOnce(context.Background())
	f, a := s.followers.Received()[s.seenF:], s.authors.Received()[s.seen:]
	s.seenF += len(f)
	s.seen += len(a)
	for _, r := range append(append([]aptest.Received{}, f...), a...) {
		if r.VerifyErr != nil {
			t.Errorf("%s to %s: signature rejected: %v", r.Type(), r.Path, r.VerifyErr)
		}
	}
	return f, a
}

// golden pins one delivered body, with the hosts and the time made fixed.
func (s *interactSetup) golden(t *testing.T, name string, r aptest.Received) {
	t.Helper()
	aptest.Golden(t, *update, name, r.Body, s.inst.URLs.Domain(), "kith.test", s.authors.Host, "remote.test",
		s.clock.Now().Format(time.RFC3339), "2026-11-23T12:00:00Z")
}

// views reads the post as the owner's pages see it.
func (s *interactSetup) views(t *testing.T, p *store.Post) store.Post {
	t.Helper()
	got, err := s.inst.DB.PostByIRI(context.Background(), p.IRI)
	if err != nil {
		t.Fatal(err)
	}
	list := []store.Post{*got}
	if err := s.inst.DB.LoadPostViews(context.Background(), list, s.inst.URLs.Actor()); err != nil {
		t.Fatal(err)
	}
	return list[0]
}

// TestLikeAndUnlike: a like is stored and sent to the author alone; a
// second like sends nothing; the unlike sends Undo{Like} naming the Like.
func TestLikeAndUnlike(t *testing.T) {
	ctx := context.Background()
	s := newInteractSetup(t)
	if err := s.inst.Service.Like(ctx, s.post.IRI); err != nil {
		t.Fatal(err)
	}
	f, a := s.sent(t)
	if len(f) != 0 || len(a) != 1 || a[0].Path != "/users/ann/inbox" {
		t.Fatalf("like went to %d followers and %v; want ann's own inbox only", len(f), a)
	}
	s.golden(t, "like.json", a[0])
	if v := s.views(t, s.post); !v.Own.Liked || v.Counts.Likes != 1 {
		t.Errorf("after the like: own %+v, counts %+v", v.Own, v.Counts)
	}
	if err := s.inst.Service.Like(ctx, s.post.IRI); err != nil {
		t.Fatal(err)
	}
	if f, a := s.sent(t); len(f)+len(a) != 0 {
		t.Errorf("a second like sent %d activities; want none", len(f)+len(a))
	}

	if err := s.inst.Service.Unlike(ctx, s.post.IRI); err != nil {
		t.Fatal(err)
	}
	_, a = s.sent(t)
	if len(a) != 1 || a[0].Type() != "Undo" {
		t.Fatalf("unlike sent %v; want one Undo", a)
	}
	s.golden(t, "undo-like.json", a[0])
	if v := s.views(t, s.post); v.Own.Liked || v.Counts.Likes != 0 {
		t.Errorf("after the unlike: own %+v, counts %+v", v.Own, v.Counts)
	}
	if err := s.inst.Service.Unlike(ctx, s.post.IRI); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unlike of a post not liked: %v; want store.ErrNotFound", err)
	}
}

// TestAnnounceAndUndo: a boost goes to the followers and the author, and
// shows on the home timeline at once; its Undo goes the same way and takes
// it off. A followers-only post cannot be boosted.
func TestAnnounceAndUndo(t *testing.T) {
	ctx := context.Background()
	s := newInteractSetup(t)
	if err := s.inst.Service.Announce(ctx, s.post.IRI); err != nil {
		t.Fatal(err)
	}
	f, a := s.sent(t)
	if len(f) != 1 || f[0].Path != "/users/alice/inbox" || len(a) != 1 || a[0].Path != "/inbox" {
		t.Fatalf("announce went to %v and %v; want alice's inbox and ann's shared inbox", f, a)
	}
	s.golden(t, "announce.json", a[0])
	home, err := s.inst.DB.Home(ctx, store.HomeQuery{Owner: s.inst.URLs.Actor()})
	if err != nil {
		t.Fatal(err)
	}
	if len(home) != 1 || home[0].Boost == nil || home[0].Post.IRI != s.post.IRI || !home[0].Post.Own.Boosted {
		t.Fatalf("home after the boost: %+v; want the boost of ann's post", home)
	}
	if err := s.inst.Service.Announce(ctx, s.post.IRI); err != nil {
		t.Fatal(err)
	}
	if f, a := s.sent(t); len(f)+len(a) != 0 {
		t.Errorf("a second boost sent %d activities; want none", len(f)+len(a))
	}

	if err := s.inst.Service.Unannounce(ctx, s.post.IRI); err != nil {
		t.Fatal(err)
	}
	f, a = s.sent(t)
	if len(f) != 1 || len(a) != 1 || a[0].Type() != "Undo" {
		t.Fatalf("unboost sent %v and %v; want an Undo to each", f, a)
	}
	s.golden(t, "undo-announce.json", a[0])
	if home, _ := s.inst.DB.Home(ctx, store.HomeQuery{}); len(home) != 0 {
		t.Errorf("home after the unboost has %d entries; want none", len(home))
	}

	private := s.store(t, "2", store.Followers)
	if err := s.inst.Service.Announce(ctx, private.IRI); !errors.Is(err, ap.ErrNotBoostable) {
		t.Errorf("boost of a followers-only post: %v; want ErrNotBoostable", err)
	}
	if f, a := s.sent(t); len(f)+len(a) != 0 {
		t.Errorf("a refused boost sent %d activities", len(f)+len(a))
	}
}

// TestBookmarkSendsNothing: bookmarks are the owner's alone.
func TestBookmarkSendsNothing(t *testing.T) {
	ctx := context.Background()
	s := newInteractSetup(t)
	if err := s.inst.Service.Bookmark(ctx, s.post.IRI); err != nil {
		t.Fatal(err)
	}
	if v := s.views(t, s.post); !v.Own.Bookmarked {
		t.Error("the post is not bookmarked")
	}
	if err := s.inst.Service.Unbookmark(ctx, s.post.IRI); err != nil {
		t.Fatal(err)
	}
	if v := s.views(t, s.post); v.Own.Bookmarked {
		t.Error("the post is still bookmarked")
	}
	if f, a := s.sent(t); len(f)+len(a) != 0 {
		t.Errorf("bookmarks sent %d activities; want none", len(f)+len(a))
	}
	if err := s.inst.Service.Like(ctx, "https://nowhere.example/1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("like of an unknown post: %v; want store.ErrNotFound", err)
	}
}

// TestVote: a vote is one Create{Note} per choice, named as the option and
// answering the Question, sent to its author only; it counts at once, and
// the poll takes no second vote.
func TestVote(t *testing.T) {
	ctx := context.Background()
	s := newInteractSetup(t)
	poll := s.store(t, "3", store.Public)
	err := s.inst.DB.Update(ctx, func(tx *store.Tx) error {
		return tx.PutPoll(ctx, poll.ID, &store.Poll{Multiple: true, ExpiresAt: s.clock.Now().Add(time.Hour), VotersCount: 2,
			UpdatedAt: s.clock.Now(), Options: []store.PollOption{{Title: "Tea", Votes: 1}, {Title: "Coffee", Votes: 1}, {Title: "Water"}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.inst.Service.Vote(ctx, poll.IRI, []int{7}); !errors.Is(err, ap.ErrInvalid) {
		t.Errorf("vote for a choice the poll lacks: %v; want ErrInvalid", err)
	}
	if err := s.inst.Service.Vote(ctx, poll.IRI, []int{2, 0, 2}); err != nil {
		t.Fatal(err)
	}
	f, a := s.sent(t)
	if len(f) != 0 || len(a) != 2 || a[0].Path != "/users/ann/inbox" {
		t.Fatalf("vote went to %d followers and %v; want two answers to ann's own inbox", len(f), a)
	}
	// The two answers may arrive in either order; the golden one is Tea's.
	if obj, _ := a[0].Activity["object"].(map[string]any); obj["name"] != "Tea" {
		a[0], a[1] = a[1], a[0]
	}
	s.golden(t, "vote.json", a[0])
	v := s.views(t, poll)
	if v.Poll == nil || !v.Poll.Voted() || !v.Poll.Options[0].OwnVote || v.Poll.Options[1].OwnVote ||
		!v.Poll.Options[2].OwnVote || v.Poll.Options[2].Votes != 1 || v.Poll.VotersCount != 3 {
		t.Errorf("poll after the vote: %+v", v.Poll)
	}
	if err := s.inst.Service.Vote(ctx, poll.IRI, []int{1}); !errors.Is(err, ap.ErrPollClosed) {
		t.Errorf("second vote: %v; want ErrPollClosed", err)
	}
}
