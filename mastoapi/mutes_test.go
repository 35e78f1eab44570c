package mastoapi

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

// TestTimedMuteEnds: POST /api/v1/accounts/:id/mute with Mastodon's
// duration and notifications; GET /api/v1/mutes says when each ends. Once
// the clock passes an end, the relationship and the mutes list say so at
// once, and after housekeeping the row is gone and the author's posts are
// back on home, in search and in notifications; a longer timed mute and
// one until lifted stay.
func TestTimedMuteEnds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The clock starts at the real time: the remote's signatures are
	// dated by it.
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	clock := aptest.NewClock(t0)
	k := newKit(t, aptest.InstanceOptions{Now: clock.Now})
	tok := k.login("read write follow")
	remote := aptest.NewRemote(t, false)
	type who struct {
		name, id, iri string
	}
	var people []*who
	for i, name := range []string{"bob", "carol", "dave"} {
		a := remote.AddActor(name, aptest.Key(t, []string{"remote", "remote2", "other"}[i]))
		note := a.IRI + "/notes/1"
		k.mentionOwner(remote, a, map[string]any{"id": note, "type": "Note", "content": "<p>@me quince season, says " + name + "</p>"})
		err := k.inst.DB.Update(ctx, func(tx *store.Tx) error {
			p, err := tx.PostByIRI(ctx, note)
			if err != nil {
				return err
			}
			return tx.AddToHome(ctx, p, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
		actor, err := k.inst.Service.ResolveActor(ctx, "@"+name+"@"+remote.Host)
		if err != nil {
			t.Fatal(err)
		}
		people = append(people, &who{name, strconv.FormatInt(actor.ID, 10), a.IRI})
	}
	bob, carol, dave := people[0], people[1], people[2]

	mute := func(w *who, form url.Values) Relationship {
		t.Helper()
		return decode[Relationship](t, k.do(request{method: "POST", path: "/api/v1/accounts/" + w.id + "/mute", token: tok, form: form}), 200)
	}
	if rel := mute(bob, url.Values{"duration": {"3600"}}); !rel.Muting || !rel.MutingNotifications {
		t.Errorf("bob muted for an hour: %+v", rel)
	}
	if rel := mute(carol, url.Values{"duration": {"86400"}, "notifications": {"false"}}); !rel.Muting || rel.MutingNotifications {
		t.Errorf("carol muted for a day, not her notifications: %+v", rel)
	}
	if rel := mute(dave, nil); !rel.Muting || !rel.MutingNotifications {
		t.Errorf("dave muted: %+v", rel)
	}
	if rec := k.do(request{method: "POST", path: "/api/v1/accounts/" + dave.id + "/mute", token: tok, form: url.Values{"duration": {"soon"}}}); rec.Code != 422 {
		t.Errorf("duration=soon: %d %s", rec.Code, rec.Body)
	}

	mutes := func() map[string]any {
		t.Helper()
		out := map[string]any{}
		for _, m := range decode[[]map[string]any](t, k.do(request{method: "GET", path: "/api/v1/mutes", token: tok}), 200) {
			out[m["id"].(string)] = m["mute_expires_at"]
		}
		return out
	}
	if got := mutes(); len(got) != 3 || got[bob.id] != timeJSON(t0.Add(time.Hour)) || got[carol.id] != timeJSON(t0.Add(24*time.Hour)) || got[dave.id] != nil {
		t.Errorf("mutes: %v", got)
	}
	// What the owner sees of the three, by name.
	seen := func() (home, search, notes []string) {
		t.Helper()
		names := func(statuses []map[string]any) []string {
			var out []string
			for _, s := range statuses {
				out = append(out, s["account"].(map[string]any)["username"].(string))
			}
			slices.Sort(out)
			return out
		}
		home = names(decode[[]map[string]any](t, k.do(request{method: "GET", path: "/api/v1/timelines/home", token: tok}), 200))
		search = names(decode[searchAnswer](t, k.do(request{method: "GET", path: "/api/v2/search?q=quince", token: tok}), 200).Statuses)
		for _, n := range decode[[]map[string]any](t, k.do(request{method: "GET", path: "/api/v1/notifications", token: tok}), 200) {
			notes = append(notes, n["account"].(map[string]any)["username"].(string))
		}
		slices.Sort(notes)
		return home, search, notes
	}
	if home, search, notes := seen(); len(home)+len(search) != 0 || !slices.Equal(notes, []string{"carol"}) {
		t.Errorf("all muted: home %v, search %v, notifications %v; want only carol's notification", home, search, notes)
	}

	// At bob's end: not muted for every read that reports it, at once.
	clock.Advance(time.Hour)
	rel := decode[[]Relationship](t, k.do(request{method: "GET", path: "/api/v1/accounts/relationships?id[]=" + bob.id + "&id[]=" + carol.id, token: tok}), 200)
	if len(rel) != 2 || rel[0].Muting || rel[0].MutingNotifications || !rel[1].Muting {
		t.Errorf("relationships at bob's end: %+v", rel)
	}
	if got := mutes(); len(got) != 2 || got[bob.id] != nil {
		t.Errorf("mutes at bob's end: %v", got)
	}

	// Housekeeping deletes the row: bob is back everywhere.
	k.inst.Service.Housekeep(ctx)
	if muted, err := k.inst.DB.IsMuted(ctx, bob.iri, t0); err != nil || muted {
		t.Errorf("bob's mute row after housekeeping: %v, %v", muted, err)
	}
	if home, search, notes := seen(); !slices.Equal(home, []string{"bob"}) || !slices.Equal(search, []string{"bob"}) || !slices.Equal(notes, []string{"bob", "carol"}) {
		t.Errorf("after bob's end: home %v, search %v, notifications %v", home, search, notes)
	}
	for _, w := range []*who{carol, dave} {
		if muted, err := k.inst.DB.IsMuted(ctx, w.iri, clock.Now()); err != nil || !muted {
			t.Errorf("%s no longer muted: %v, %v", w.name, muted, err)
		}
	}
}
