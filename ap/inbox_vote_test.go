package ap_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
)

// TestRemoteVoteCounted: a signed vote from another server in the owner's
// poll counts once; the same vote again, and a second choice in a
// single-choice poll, change nothing; each counted vote sends
// Update{Question} with the new counts to the followers; a vote is not
// stored as a post, and a vote after the end is refused.
func TestRemoteVoteCounted(t *testing.T) {
	e := newReadEnv(t)
	actor, err := e.inst.Service.ResolveActor(e.ctx, e.alice.IRI)
	if err != nil {
		t.Fatal(err)
	}
	err = e.inst.DB.Update(e.ctx, func(tx *store.Tx) error {
		_, err := tx.PutFollower(e.ctx, actor.ID, e.alice.IRI+"#follow/1", store.Accepted, e.clock.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.inst.Service.Publish(e.ctx, ap.Draft{Source: "Tea or coffee?",
		Poll: &ap.DraftPoll{Options: []string{"Tea", "Coffee"}, Duration: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	poll := out.Post
	d := e.inst.Service.Deliverer()
	d.RunOnce(e.ctx)
	seen := len(e.remote.Received())

	voteBy := func(v *aptest.RemoteActor, id, choice string) {
		n := map[string]any{"id": v.IRI + "/votes/" + id, "type": "Note", "attributedTo": v.IRI,
			"name": choice, "inReplyTo": poll.IRI, "to": []string{e.inst.URLs.Actor()}}
		a := e.activity(v, "Create", n)
		a["to"], a["cc"] = []string{e.inst.URLs.Actor()}, nil
		e.send(v, aptest.JSON(t, a))
	}
	vote := func(id, choice string) { voteBy(e.bob, id, choice) }
	counts := func() (int, int, int) {
		t.Helper()
		pl, err := e.inst.DB.PollOf(e.ctx, poll.ID)
		if err != nil {
			t.Fatal(err)
		}
		return pl.Options[0].Votes, pl.Options[1].Votes, pl.VotersCount
	}
	vote("1", "Tea")
	if tea, coffee, voters := counts(); tea != 1 || coffee != 0 || voters != 1 {
		t.Fatalf("after one vote: tea %d, coffee %d, voters %d; want 1, 0, 1", tea, coffee, voters)
	}
	vote("1", "Tea")    // the same vote, in a new activity
	vote("2", "Coffee") // a second choice in a single-choice poll
	vote("3", "Milk")   // no such option
	if tea, coffee, voters := counts(); tea != 1 || coffee != 0 || voters != 1 {
		t.Fatalf("after the replays: tea %d, coffee %d, voters %d; want 1, 0, 1", tea, coffee, voters)
	}
	if p := e.post(e.bob.IRI + "/votes/1"); p != nil {
		t.Error("the vote was stored as a post")
	}
	d.RunOnce(e.ctx)
	got := e.remote.Received()[seen:]
	if len(got) != 1 || got[0].Type() != "Update" {
		t.Fatalf("sent %d activities; want one Update", len(got))
	}
	obj, _ := got[0].Activity["object"].(map[string]any)
	opts, _ := obj["oneOf"].([]any)
	if obj["type"] != "Question" || len(opts) != 2 || obj["votersCount"] != float64(1) {
		t.Fatalf("Update object = %v; want the Question with one voter", obj)
	}
	tea, _ := opts[0].(map[string]any)["replies"].(map[string]any)
	if tea["totalItems"] != float64(1) {
		t.Errorf("Tea replies = %v; want totalItems 1", tea)
	}

	e.clock.Advance(2 * time.Hour)
	voteBy(e.alice, "4", "Coffee") // a first vote, but too late
	if _, coffee, _ := counts(); coffee != 0 {
		t.Error("a vote after the end was counted")
	}
}

// TestPollEndNotified: housekeeping tells the owner, once, that their own
// poll ended and that a poll they voted in ended; a poll they did not vote
// in, and one not yet over, bring nothing.
func TestPollEndNotified(t *testing.T) {
	e := newReadEnv(t)
	if _, err := e.inst.Service.Publish(e.ctx, ap.Draft{Source: "Tea or coffee?",
		Poll: &ap.DraftPoll{Options: []string{"Tea", "Coffee"}, Duration: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	question := func(id string, ends time.Duration) string {
		q := e.note(e.alice, id, "Which?", map[string]any{"type": "Question",
			"endTime": e.clock.Now().Add(ends).UTC().Format(time.RFC3339),
			"oneOf": []any{map[string]any{"type": "Note", "name": "A", "replies": map[string]any{"type": "Collection", "totalItems": 0}},
				map[string]any{"type": "Note", "name": "B", "replies": map[string]any{"type": "Collection", "totalItems": 0}}}})
		e.create(e.alice, q)
		return q["id"].(string)
	}
	voted := question("1", 30*time.Minute)
	question("2", 30*time.Minute) // not voted in
	question("3", 10*time.Hour)   // voted in, not over
	for _, iri := range []string{voted, e.alice.IRI + "/statuses/3"} {
		p := e.post(iri)
		if p == nil {
			t.Fatalf("%s not stored", iri)
		}
		if err := e.inst.DB.Update(e.ctx, func(tx *store.Tx) error {
			return tx.RecordVote(e.ctx, p.ID, []int{0}, e.clock.Now())
		}); err != nil {
			t.Fatal(err)
		}
	}
	polls := func() []string {
		var out []string
		for _, n := range e.notifications() {
			if strings.HasPrefix(n, "poll ") {
				out = append(out, n)
			}
		}
		slices.Sort(out)
		return out
	}
	e.inst.Service.Housekeep(e.ctx)
	if got := polls(); len(got) != 0 {
		t.Fatalf("before the ends: %v", got)
	}
	e.clock.Advance(2 * time.Hour)
	e.inst.Service.Housekeep(e.ctx)
	e.inst.Service.Housekeep(e.ctx)
	want := []string{"poll " + e.alice.IRI, "poll " + e.inst.URLs.Actor()}
	slices.Sort(want)
	if got := polls(); !slices.Equal(got, want) {
		t.Fatalf("poll notifications = %v; want %v", got, want)
	}
}
