package ap_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
)

// serveFollowers serves a's followers collection on its server from the
// real Mastodon fixtures (a collection with totalItems and first, then a
// page of 12 actor ids with next), moved to a's IRI, with the first two
// followers of the page replaced by listed. The next page is missing (404),
// which ends the walk.
func (e *readEnv) serveFollowers(a *aptest.RemoteActor, listed ...*aptest.RemoteActor) {
	e.t.Helper()
	fix := func(name string) map[string]any {
		raw := strings.ReplaceAll(string(fixture(e.t, name)), "http://remote.org/users/masto_closed/followers?page=", a.IRI+"/followers/page")
		raw = strings.ReplaceAll(raw, "http://remote.org/users/masto_closed", a.IRI)
		for i, old := range []string{"https://testing.uguu.ltd/users/rin", "https://patch.cx/users/rin"}[:len(listed)] {
			raw = strings.ReplaceAll(raw, `"`+old+`"`, `"`+listed[i].IRI+`"`)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(raw), &doc); err != nil {
			e.t.Fatal(err)
		}
		return doc
	}
	base := strings.TrimPrefix(a.IRI, e.remote.Base)
	e.remote.SetDocument(base+"/followers", fix("mastodon-followers-collection.json"))
	e.remote.SetDocument(base+"/followers/page1", fix("mastodon-followers-page.json"))
}

// follow sends a's Follow of the owner and returns the follower's state.
func (e *readEnv) follow(a *aptest.RemoteActor) string {
	e.t.Helper()
	e.send(a, aptest.JSON(e.t, e.activity(a, "Follow", e.inst.URLs.Actor())))
	f, err := e.inst.DB.Follower(e.ctx, a.IRI)
	if err != nil {
		e.t.Fatal(err)
	}
	return f.State
}

// movedHere makes a's server say a moved to the owner's account.
func (e *readEnv) movedHere(a *aptest.RemoteActor) {
	doc := a.Document()
	doc["movedTo"] = e.inst.URLs.Actor()
	e.remote.SetDocument(strings.TrimPrefix(a.IRI, e.remote.Base), doc)
}

// lockWithAlias locks the owner's account, adds old (a handle or IRI) as
// an alias, and reads its followers as the background loop would.
func (e *readEnv) lockWithAlias(old string) {
	e.t.Helper()
	if err := e.inst.Service.SetLocked(e.ctx, true); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.inst.Service.AddAlias(e.ctx, old); err != nil {
		e.t.Fatal(err)
	}
	if n, err := e.inst.Service.ReadAliasFollowers(e.ctx); err != nil || n != 1 {
		e.t.Fatalf("ReadAliasFollowers = %d, %v; want the alias read", n, err)
	}
}

// TestMoveIn: the owner lists an old account (found through WebFinger) as
// an alias, which reaches the actor document and the followers as an
// Update, and kith reads its followers collection. A signed Move of that
// account to kith, confirmed by its movedTo, makes the Follows of its
// listed followers accepted on a locked account, including one that came
// before the Move and waited; a stranger's Follow in the same window waits
// for approval. A Move from an account that is not an alias changes
// nothing. Removing the alias forgets its followers.
func TestMoveIn(t *testing.T) {
	e := newReadEnv(t)
	carol := e.other.AddActor("carol", aptest.Key(t, "remote2"))
	e.serveFollowers(e.bob, e.alice, carol)
	e.lockWithAlias("@bob@" + e.remote.Host)
	acct, err := e.inst.DB.Account(e.ctx)
	if err != nil || len(acct.AlsoKnownAs) != 1 || acct.AlsoKnownAs[0] != e.bob.IRI {
		t.Fatalf("aliases = %v, %v; want bob", acct.AlsoKnownAs, err)
	}
	if read, listed, _ := e.inst.DB.AliasRead(e.ctx, e.bob.IRI); !read || listed != 12 {
		t.Errorf("bob's followers: read %v, %d listed; want the page's 12", read, listed)
	}

	if s := e.follow(e.alice); s != store.Pending {
		t.Errorf("a listed follower's Follow before any Move is %s; want pending", s)
	}

	// mallory is no alias: her Move here changes nothing.
	stray := e.activity(e.mallory, "Move", e.mallory.IRI)
	stray["target"] = e.inst.URLs.Actor()
	e.send(e.mallory, aptest.JSON(t, stray))
	if _, moved, _ := e.inst.DB.MovedInAt(e.ctx, e.mallory.IRI); moved {
		t.Fatal("a Move from an account that is not an alias was recorded")
	}

	// bob's server says he moved here, then sends the Move.
	e.movedHere(e.bob)
	move := e.activity(e.bob, "Move", e.bob.IRI)
	move["target"] = e.inst.URLs.Actor()
	e.send(e.bob, aptest.JSON(t, move))
	if f, err := e.inst.DB.Follower(e.ctx, e.alice.IRI); err != nil || f.State != store.Accepted {
		t.Errorf("alice, listed and waiting, after the Move: %+v, %v; want accepted", f, err)
	}
	if s := e.follow(carol); s != store.Accepted {
		t.Errorf("a listed follower arriving after the Move is %s; want accepted", s)
	}
	if s := e.follow(e.mallory); s != store.Pending {
		t.Errorf("a stranger arriving after the Move is %s; want pending", s)
	}
	e.inst.Service.Deliverer().RunOnce(e.ctx)
	accepts := map[string]int{}
	for _, r := range []*aptest.Remote{e.remote, e.other} {
		for _, got := range r.Received() {
			if got.Type() == "Accept" {
				accepts[r.Host]++
			}
		}
	}
	if accepts[e.remote.Host] != 1 || accepts[e.other.Host] != 1 {
		t.Errorf("Accepts delivered per host = %v; want one for alice, one for carol", accepts)
	}

	// Removing the alias forgets its followers.
	if err := e.inst.Service.RemoveAlias(e.ctx, e.bob.IRI); err != nil {
		t.Fatal(err)
	}
	if origins, _ := e.inst.DB.AliasFollowerOrigins(e.ctx, carol.IRI); len(origins) != 0 {
		t.Errorf("after removing the alias, carol is still listed following %v", origins)
	}
	if read, _, _ := e.inst.DB.AliasRead(e.ctx, e.bob.IRI); read {
		t.Error("after removing the alias, its read is still recorded")
	}
}

// TestMoveInWithoutMove: the Move goes to the old account's followers,
// which the owner's new account seldom is. A listed follower's Follow then
// makes kith ask the old account's server: before it names kith in
// movedTo the Follow waits, after it the Follow is accepted and the Move
// recorded, and the next listed follower costs no such GET. A stranger
// still waits. An old account that hides its followers lists no one.
func TestMoveInWithoutMove(t *testing.T) {
	e := newReadEnv(t)
	carol := e.other.AddActor("carol", aptest.Key(t, "remote2"))
	e.serveFollowers(e.bob, e.alice, carol)
	e.lockWithAlias(e.bob.IRI)
	bobGets := func() int {
		n := 0
		for _, p := range e.remote.Gets() {
			if p == "/users/bob" {
				n++
			}
		}
		return n
	}
	before := bobGets()
	if s := e.follow(e.alice); s != store.Pending {
		t.Errorf("a listed follower before the move is %s; want pending", s)
	}
	if bobGets() != before+1 {
		t.Errorf("bob's server was asked %d times; want once", bobGets()-before)
	}
	e.movedHere(e.bob)
	if s := e.follow(carol); s != store.Accepted {
		t.Errorf("a listed follower after the move is %s; want accepted", s)
	}
	if f, _ := e.inst.DB.Follower(e.ctx, e.alice.IRI); f == nil || f.State != store.Accepted {
		t.Errorf("alice, listed and waiting, after the move: %+v; want accepted", f)
	}
	if _, moved, _ := e.inst.DB.MovedInAt(e.ctx, e.bob.IRI); !moved {
		t.Error("the move was not recorded")
	}
	asked := bobGets()
	if s := e.follow(e.mallory); s != store.Pending {
		t.Errorf("a stranger after the move is %s; want pending", s)
	}
	if bobGets() != asked {
		t.Error("a stranger's Follow made kith ask the old server")
	}
}

// TestAliasFollowersHidden: a followers collection that shows only its
// totalItems (Mastodon's "hide your social graph") is read as hidden, and
// every Follow after the move waits.
func TestAliasFollowersHidden(t *testing.T) {
	e := newReadEnv(t)
	var doc map[string]any
	raw := strings.ReplaceAll(string(fixture(t, "mastodon-followers-collection.json")), "http://remote.org/users/masto_closed", e.bob.IRI)
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "first")
	e.remote.SetDocument("/users/bob/followers", doc)
	e.lockWithAlias(e.bob.IRI)
	if read, listed, _ := e.inst.DB.AliasRead(e.ctx, e.bob.IRI); !read || listed != -1 {
		t.Errorf("bob's hidden followers: read %v, listed %d; want read, -1", read, listed)
	}
	e.movedHere(e.bob)
	if s := e.follow(e.alice); s != store.Pending {
		t.Errorf("a Follow after the move of an account hiding its followers is %s; want pending", s)
	}
}

// TestMoveOut: moving to an account that does not list kith's in
// alsoKnownAs is refused with a message saying so; once it does, movedTo
// is set and every follower's server (two hosts) gets a signed Move.
func TestMoveOut(t *testing.T) {
	e := newReadEnv(t)
	for _, a := range []*aptest.RemoteActor{e.alice, e.mallory} {
		e.send(a, aptest.JSON(t, e.activity(a, "Follow", e.inst.URLs.Actor())))
	}
	newAcct := e.remote.AddActor("carol", aptest.Key(t, "remote"))
	_, err := e.inst.Service.MoveTo(e.ctx, newAcct.IRI)
	if !errors.Is(err, ap.ErrInvalid) || !strings.Contains(err.Error(), "alsoKnownAs") {
		t.Fatalf("moving to an account without the alias: %v; want a refusal naming alsoKnownAs", err)
	}
	if acct, _ := e.inst.DB.Account(e.ctx); acct.MovedTo != "" {
		t.Fatalf("movedTo set after a refusal: %q", acct.MovedTo)
	}

	doc := newAcct.Document()
	doc["alsoKnownAs"] = []string{e.inst.URLs.Actor()}
	e.remote.SetDocument("/users/carol", doc)
	if _, err := e.inst.Service.MoveTo(e.ctx, "@carol@"+e.remote.Host); err != nil {
		t.Fatal(err)
	}
	if acct, _ := e.inst.DB.Account(e.ctx); acct.MovedTo != newAcct.IRI {
		t.Errorf("movedTo = %q; want %s", acct.MovedTo, newAcct.IRI)
	}
	e.inst.Service.Deliverer().RunOnce(e.ctx)
	for _, r := range []*aptest.Remote{e.remote, e.other} {
		moves := 0
		for _, got := range r.Received() {
			if got.Type() != "Move" {
				continue
			}
			moves++
			if got.VerifyErr != nil {
				t.Errorf("%s: Move signature: %v", r.Host, got.VerifyErr)
			}
			if got.Activity["object"] != e.inst.URLs.Actor() || got.Activity["target"] != newAcct.IRI {
				t.Errorf("%s: Move = %v", r.Host, got.Activity)
			}
		}
		if moves != 1 {
			t.Errorf("%s got %d Moves; want 1", r.Host, moves)
		}
	}
}
