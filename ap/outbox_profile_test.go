package ap_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
)

// TestProfileChangesReachFollowers: saving the profile, locking the
// account and pinning a post each reach every follower's server once,
// signed, as Update{Person} carrying the new state (pins: Add or Remove on
// the featured collection, then Update{Person}), and the actor document
// agrees.
func TestProfileChangesReachFollowers(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	shared := aptest.NewRemote(t, true)
	personal := aptest.NewRemote(t, false)
	for r, names := range map[*aptest.Remote][]string{shared: {"s1", "s2"}, personal: {"p1"}} {
		for _, n := range names {
			a := r.AddActor(n, aptest.Key(t, "remote"))
			a.Post(t, r.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(a, inst, n)))
		}
	}
	inst.Service.ProcessInbox(ctx)
	inst.Service.Deliverer().RunOnce(ctx) // the Accepts

	// received returns, per remote, the activities that arrived since the
	// last call, after checking each signature.
	seen := map[*aptest.Remote]int{shared: len(shared.Received()), personal: len(personal.Received())}
	received := func(step string) map[*aptest.Remote][]aptest.Received {
		t.Helper()
		inst.Service.Deliverer().RunOnce(ctx)
		out := map[*aptest.Remote][]aptest.Received{}
		for _, r := range []*aptest.Remote{shared, personal} {
			got := r.Received()[seen[r]:]
			seen[r] += len(got)
			for _, rec := range got {
				if rec.VerifyErr != nil {
					t.Errorf("%s: %s%s: signature rejected: %v", step, r.Host, rec.Path, rec.VerifyErr)
				}
			}
			out[r] = got
		}
		return out
	}
	// each checks that each server got exactly the activities of the types
	// typs (in any order), at its shared inbox or at each personal inbox,
	// and returns them.
	each := func(step string, typs ...string) []map[string]any {
		t.Helper()
		var acts []map[string]any
		got := received(step)
		want := append([]string(nil), typs...)
		sort.Strings(want)
		for r, inboxes := range map[*aptest.Remote][]string{shared: {"/inbox"}, personal: {"/users/p1/inbox"}} {
			for _, inbox := range inboxes {
				var types []string
				for _, rec := range got[r] {
					if rec.Path != inbox {
						t.Errorf("%s: %s received at %s; want only %s", step, r.Host, rec.Path, inbox)
						continue
					}
					types = append(types, rec.Type())
					if rec.Activity["actor"] != inst.URLs.Actor() {
						t.Errorf("%s: actor %v; want %s", step, rec.Activity["actor"], inst.URLs.Actor())
					}
					acts = append(acts, rec.Activity)
				}
				sort.Strings(types)
				if strings.Join(types, " ") != strings.Join(want, " ") {
					t.Errorf("%s: %s%s got %v; want %v", step, r.Host, inbox, types, want)
				}
			}
		}
		return acts
	}
	one := func(step, typ string) []map[string]any { t.Helper(); return each(step, typ) }
	// byType picks the activities of one type.
	byType := func(acts []map[string]any, typ string) []map[string]any {
		var out []map[string]any
		for _, a := range acts {
			if a["type"] == typ {
				out = append(out, a)
			}
		}
		return out
	}

	_, err := inst.Service.UpdateProfile(ctx, ap.ProfileInput{
		DisplayName: "Ada Lovelace",
		Bio:         "Notes on **engines**.",
		Fields:      []store.Field{{Name: "Website", Value: "https://ada.example/"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, act := range one("profile", "Update") {
		obj, _ := act["object"].(map[string]any)
		if obj["type"] != "Person" || obj["id"] != inst.URLs.Actor() || obj["name"] != "Ada Lovelace" {
			t.Fatalf("profile: Update object = %v; want our Person with the new name", obj)
		}
		if s, _ := obj["summary"].(string); !strings.Contains(s, "<strong>engines</strong>") {
			t.Errorf("profile: summary %q; want the rendered bio", s)
		}
		att, _ := obj["attachment"].([]any)
		if len(att) != 1 {
			t.Fatalf("profile: attachment %v; want one field", obj["attachment"])
		}
		if f := att[0].(map[string]any); f["type"] != "PropertyValue" || !strings.Contains(f["value"].(string), `rel="me`) {
			t.Errorf("profile: field %v; want a PropertyValue linking with rel=me", f)
		}
		if to, _ := act["to"].([]any); len(to) != 1 || to[0] != ap.Public {
			t.Errorf("profile: to = %v; want public", act["to"])
		}
	}

	if err := inst.Service.SetLocked(ctx, true); err != nil {
		t.Fatal(err)
	}
	for _, act := range one("lock", "Update") {
		obj, _ := act["object"].(map[string]any)
		if obj["manuallyApprovesFollowers"] != true || obj["name"] != "Ada Lovelace" {
			t.Errorf("lock: object says locked %v, name %v; want locked and the name kept", obj["manuallyApprovesFollowers"], obj["name"])
		}
	}

	res, err := inst.Service.Publish(ctx, ap.Draft{Source: "Worth pinning."})
	if err != nil {
		t.Fatal(err)
	}
	one("publish", "Create")
	if err := inst.Service.Pin(ctx, res.Post.LocalID, true); err != nil {
		t.Fatal(err)
	}
	pinned := each("pin", "Add", "Update")
	for _, act := range byType(pinned, "Add") {
		if act["object"] != res.Post.IRI || act["target"] != inst.URLs.Featured() {
			t.Errorf("pin: Add object %v target %v; want the post added to %s", act["object"], act["target"], inst.URLs.Featured())
		}
	}
	// snac ignores Add and GoToSocial refetches featured only on a
	// profile Update, so the actor follows the Add.
	for _, act := range byType(pinned, "Update") {
		if obj, _ := act["object"].(map[string]any); obj["type"] != "Person" || obj["featured"] != inst.URLs.Featured() {
			t.Errorf("pin: Update object %v; want our Person with its featured collection", obj)
		}
	}
	if err := inst.Service.Pin(ctx, res.Post.LocalID, false); err != nil {
		t.Fatal(err)
	}
	each("unpin", "Remove", "Update")
}
