package ap_test

import (
	"context"
	"errors"
	"testing"

	"kith/ap/aptest"
	"kith/store"
)

// TestFollowRequests: on a locked account the owner approves one request
// (Accept sent), rejects another (Reject sent, relation gone), removes an
// accepted follower (Reject, as Mastodon does), and unlocking approves
// whatever still waits. Each answer embeds the follower's own Follow.
func TestFollowRequests(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{Locked: true})
	remote := aptest.NewRemote(t, false)
	actors := map[string]*aptest.RemoteActor{}
	for _, n := range []string{"ann", "bob", "cat"} {
		a := remote.AddActor(n, aptest.Key(t, "remote"))
		a.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(a, inst, "1")))
		actors[n] = a
	}
	inst.Service.ProcessInbox(ctx)
	if n, _ := inst.DB.CountFollowers(ctx, store.Pending); n != 3 {
		t.Fatalf("%d pending requests; want 3", n)
	}

	seen := 0
	// answer checks that the next activity sent is one answer of typ to a,
	// signed, embedding a's Follow.
	answer := func(step, typ string, a *aptest.RemoteActor) {
		t.Helper()
		inst.Service.Deliverer().RunOnce(ctx)
		got := remote.Received()[seen:]
		seen += len(got)
		if len(got) != 1 {
			t.Fatalf("%s: %d activities sent; want one %s", step, len(got), typ)
		}
		rec := got[0]
		if rec.VerifyErr != nil {
			t.Errorf("%s: signature rejected: %v", step, rec.VerifyErr)
		}
		if rec.Path != "/users/"+a.Name+"/inbox" || rec.Type() != typ {
			t.Errorf("%s: %s at %s; want %s at %s's inbox", step, rec.Type(), rec.Path, typ, a.Name)
		}
		obj, _ := rec.Activity["object"].(map[string]any)
		if obj["type"] != "Follow" || obj["id"] != a.IRI+"#follows/1" || obj["actor"] != a.IRI || obj["object"] != inst.URLs.Actor() {
			t.Errorf("%s: object %v; want %s's Follow", step, obj, a.Name)
		}
	}
	state := func(a *aptest.RemoteActor) string {
		f, err := inst.DB.Follower(ctx, a.IRI)
		if errors.Is(err, store.ErrNotFound) {
			return "none"
		} else if err != nil {
			t.Fatal(err)
		}
		return f.State
	}

	if _, err := inst.Service.AcceptFollower(ctx, actors["ann"].IRI); err != nil {
		t.Fatal(err)
	}
	answer("approve", "Accept", actors["ann"])
	if got := state(actors["ann"]); got != store.Accepted {
		t.Errorf("ann is %s after approval; want accepted", got)
	}
	// Approving twice sends nothing more.
	if _, err := inst.Service.AcceptFollower(ctx, actors["ann"].IRI); err != nil {
		t.Fatal(err)
	}
	inst.Service.Deliverer().RunOnce(ctx)
	if n := len(remote.Received()) - seen; n != 0 {
		t.Errorf("a second approval sent %d activities; want none", n)
	}

	if _, err := inst.Service.RejectFollower(ctx, actors["bob"].IRI); err != nil {
		t.Fatal(err)
	}
	answer("reject", "Reject", actors["bob"])
	if got := state(actors["bob"]); got != "none" {
		t.Errorf("bob is %s after rejection; want no relation", got)
	}

	if _, err := inst.Service.RejectFollower(ctx, actors["ann"].IRI); err != nil {
		t.Fatal(err)
	}
	answer("remove", "Reject", actors["ann"])
	if got := state(actors["ann"]); got != "none" {
		t.Errorf("ann is %s after removal; want no relation", got)
	}

	_, errAccept := inst.Service.AcceptFollower(ctx, actors["bob"].IRI)
	_, errReject := inst.Service.RejectFollower(ctx, "https://nowhere.example/users/x")
	for _, err := range []error{errAccept, errReject} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("answering a non-follower: err = %v; want ErrNotFound", err)
		}
	}

	// Unlocking approves cat, who still waits; cat's server then gets the
	// Accept and, as a follower now, the profile Update.
	if err := inst.Service.SetLocked(ctx, false); err != nil {
		t.Fatal(err)
	}
	if got := state(actors["cat"]); got != store.Accepted {
		t.Errorf("cat is %s after unlocking; want accepted", got)
	}
	inst.Service.Deliverer().RunOnce(ctx)
	var types []string
	for _, rec := range remote.Received()[seen:] {
		types = append(types, rec.Type())
	}
	if len(types) != 2 || !(types[0] == "Accept" && types[1] == "Update" || types[0] == "Update" && types[1] == "Accept") {
		t.Errorf("after unlocking cat's server got %v; want an Accept and an Update", types)
	}
}
