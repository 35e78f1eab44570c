package ap_test

import (
	"errors"
	"strings"
	"testing"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
)

// TestMoveIn: the owner lists an old account (found through WebFinger) as
// an alias, which reaches the actor document and the followers as an
// Update; a signed Move of that account to kith, confirmed by its movedTo,
// makes the Follows that come next accepted on a locked account. Before
// the Move, and for an account that is not an alias, they wait.
func TestMoveIn(t *testing.T) {
	e := newReadEnv(t)
	if err := e.inst.Service.SetLocked(e.ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.inst.Service.AddAlias(e.ctx, "@bob@"+e.remote.Host); err != nil {
		t.Fatal(err)
	}
	acct, err := e.inst.DB.Account(e.ctx)
	if err != nil || len(acct.AlsoKnownAs) != 1 || acct.AlsoKnownAs[0] != e.bob.IRI {
		t.Fatalf("aliases = %v, %v; want bob", acct.AlsoKnownAs, err)
	}

	follow := func(a *aptest.RemoteActor) string {
		t.Helper()
		e.send(a, aptest.JSON(t, e.activity(a, "Follow", e.inst.URLs.Actor())))
		f, err := e.inst.DB.Follower(e.ctx, a.IRI)
		if err != nil {
			t.Fatal(err)
		}
		return f.State
	}
	if s := follow(e.alice); s != store.Pending {
		t.Errorf("a Follow before any Move is %s; want pending", s)
	}

	// mallory is no alias: her Move here changes nothing.
	stray := e.activity(e.mallory, "Move", e.mallory.IRI)
	stray["target"] = e.inst.URLs.Actor()
	e.send(e.mallory, aptest.JSON(t, stray))
	if ok, _ := e.inst.DB.MovedInSince(e.ctx, e.clock.Now().Add(-ap.MoveInWindow)); ok {
		t.Fatal("a Move from an account that is not an alias was recorded")
	}

	// bob's server says he moved here, then sends the Move.
	doc := e.bob.Document()
	doc["movedTo"] = e.inst.URLs.Actor()
	e.remote.SetDocument("/users/bob", doc)
	move := e.activity(e.bob, "Move", e.bob.IRI)
	move["target"] = e.inst.URLs.Actor()
	e.send(e.bob, aptest.JSON(t, move))
	if s := follow(e.mallory); s != store.Accepted {
		t.Errorf("a follower arriving after the Move is %s; want accepted", s)
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
