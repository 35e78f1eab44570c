package ap_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"kith/ap"
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

// TestForceRemoveFollower: "remove and make them unfollow" sends the
// Reject, undoes our own follow of them (their server drops it on the
// Block anyway), and sends a Block whose Undo leaves only once the Block
// was delivered: a failing Block holds the Undo back, since an Undo that
// overtook its Block would leave them blocked.
func TestForceRemoveFollower(t *testing.T) {
	ctx := context.Background()
	clock := aptest.NewClock(time.Now()) // the remote checks signatures against the real time
	inst := aptest.NewInstance(t, aptest.InstanceOptions{Now: clock.Now})
	remote := aptest.NewRemote(t, false)
	dan := remote.AddActor("dan", aptest.Key(t, "remote"))
	dan.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(dan, inst, "1")))
	inst.Service.ProcessInbox(ctx)
	if _, err := inst.Service.Follow(ctx, dan.IRI); err != nil {
		t.Fatal(err)
	}
	inst.Service.Deliverer().RunOnce(ctx) // Accept and Follow
	seen := len(remote.Received())

	failBlocks := true
	remote.SetInboxStatus(func(req *http.Request) int {
		for _, rec := range remote.Received() {
			if rec.Header.Get("Signature") == req.Header.Get("Signature") && rec.Type() == "Block" && failBlocks {
				return http.StatusServiceUnavailable
			}
		}
		return http.StatusAccepted
	})
	sent := func(step string, want ...string) []aptest.Received {
		t.Helper()
		inst.Service.Deliverer().RunOnce(ctx)
		got := remote.Received()[seen:]
		seen += len(got)
		var types []string
		for _, rec := range got {
			if rec.VerifyErr != nil || rec.Path != "/users/dan/inbox" {
				t.Errorf("%s: %s at %s, signature error %v", step, rec.Type(), rec.Path, rec.VerifyErr)
			}
			types = append(types, rec.Type())
		}
		slices.Sort(types)
		if !slices.Equal(types, want) {
			t.Fatalf("%s: sent %v; want %v", step, types, want)
		}
		return got
	}

	if _, err := inst.Service.ForceRemoveFollower(ctx, dan.IRI); err != nil {
		t.Fatal(err)
	}
	var block map[string]any
	for _, rec := range sent("remove", "Block", "Reject", "Undo") {
		switch rec.Type() {
		case "Block":
			block = rec.Activity
			if block["object"] != dan.IRI || block["actor"] != inst.URLs.Actor() {
				t.Errorf("Block = %v; want us blocking dan", block)
			}
		case "Undo":
			if obj, _ := rec.Activity["object"].(map[string]any); obj["type"] != "Follow" || obj["object"] != dan.IRI {
				t.Errorf("Undo object = %v; want our Follow of dan", obj)
			}
		}
	}
	if _, err := inst.DB.Follower(ctx, dan.IRI); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("dan still a follower: %v", err)
	}
	if _, err := inst.DB.Following(ctx, dan.IRI); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("still following dan: %v", err)
	}

	// The Block failed, so nothing more leaves until it is retried; then
	// the Undo follows it. Advances stay within the remote's 5 minutes.
	sent("nothing due")
	failBlocks = false
	clock.Advance(2 * time.Minute)
	got := sent("block through", "Block", "Undo")
	if got[0].Type() != "Block" {
		t.Fatalf("the Undo went out before its Block")
	}
	undo := got[1].Activity
	obj, _ := undo["object"].(map[string]any)
	if undo["id"] != block["id"].(string)+ap.UndoSuffix || obj["type"] != "Block" || obj["id"] != block["id"] || obj["object"] != dan.IRI {
		t.Errorf("Undo = %v; want the Block %v embedded", undo, block["id"])
	}
	sent("done")
}
