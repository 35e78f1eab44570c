package ap_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
)

// TestPublishPollHideTotals: a poll that hides its totals is stored so,
// and goes out as Mastodon sends one (its NoteSerializer): each option's
// replies.totalItems null while it is open, votersCount still given; the
// Question served at its IRI shows the counts once it has ended.
func TestPublishPollHideTotals(t *testing.T) {
	ctx := context.Background()
	clock := aptest.NewClock(goldenTime)
	inst := aptest.NewInstance(t, aptest.InstanceOptions{Now: clock.Now, NewID: aptest.Sequence("p")})
	out, err := inst.Service.Publish(ctx, ap.Draft{Source: "Tea or coffee?", Language: "en",
		Poll: &ap.DraftPoll{Options: []string{"Tea", "Coffee"}, Duration: time.Hour, HideTotals: true}})
	if err != nil {
		t.Fatal(err)
	}
	aptest.Golden(t, *update, "create-question-hidden.json", activityBody(t, inst, inst.URLs.PostActivity(out.Post.LocalID)), inst.URLs.Domain(), "kith.test")
	if poll, err := inst.DB.PollOf(ctx, out.Post.ID); err != nil || !poll.HideTotals {
		t.Fatalf("stored poll %+v, %v; want HideTotals", poll, err)
	}

	served := func() map[string]any {
		t.Helper()
		req, _ := http.NewRequest("GET", out.Post.IRI, nil)
		req.Header.Set("Accept", "application/activity+json")
		resp, err := inst.Server.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("GET %s: %d %s", out.Post.IRI, resp.StatusCode, b)
		}
		return doc
	}
	totals := func(doc map[string]any) []any {
		var out []any
		opts, _ := doc["oneOf"].([]any)
		for _, o := range opts {
			replies, _ := o.(map[string]any)["replies"].(map[string]any)
			out = append(out, replies["totalItems"])
		}
		return out
	}
	open := served()
	if got := totals(open); len(got) != 2 || got[0] != nil || got[1] != nil {
		t.Errorf("open: totalItems %v; want null for each option", got)
	}
	if open["votersCount"] != float64(0) {
		t.Errorf("open: votersCount %v; want 0", open["votersCount"])
	}
	clock.Advance(time.Hour)
	if got := totals(served()); len(got) != 2 || got[0] != float64(0) || got[1] != float64(0) {
		t.Errorf("ended: totalItems %v; want the counts", got)
	}
}

// TestQuestionWithHiddenCounts: a remote poll whose options' counts are all
// null (what Mastodon sends for hide_totals) hides them rather than show
// zeros; one with counts shows them.
func TestQuestionWithHiddenCounts(t *testing.T) {
	e := newReadEnv(t)
	choice := func(name string, total any) map[string]any {
		return map[string]any{"type": "Note", "name": name, "replies": map[string]any{"type": "Collection", "totalItems": total}}
	}
	end := e.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	e.create(e.alice, e.note(e.alice, "hidden", "Tea?", map[string]any{
		"type": "Question", "endTime": end, "votersCount": 3, "oneOf": []any{choice("Yes", nil), choice("No", nil)},
	}))
	e.create(e.alice, e.note(e.alice, "shown", "Coffee?", map[string]any{
		"type": "Question", "endTime": end, "votersCount": 3, "oneOf": []any{choice("Yes", 2), choice("No", 1)},
	}))
	hidden, shown := e.post(e.alice.IRI+"/statuses/hidden"), e.post(e.alice.IRI+"/statuses/shown")
	if hidden == nil || shown == nil {
		t.Fatal("the polls were not stored")
	}
	hp, err := e.inst.DB.PollOf(e.ctx, hidden.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !hp.HideTotals || hp.ShowTotals(e.clock.Now()) {
		t.Errorf("null counts: %+v; want them hidden while open", hp)
	}
	if !hp.ShowTotals(e.clock.Now().Add(time.Hour)) {
		t.Error("null counts stay hidden after the poll ended")
	}
	sp, err := e.inst.DB.PollOf(e.ctx, shown.ID)
	if err != nil || sp.HideTotals || sp.Options[0].Votes != 2 {
		t.Errorf("counted poll: %+v, %v; want its counts shown", sp, err)
	}
}
