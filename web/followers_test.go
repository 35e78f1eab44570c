package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

// TestFollowersPage: on a locked account, follow requests wait on the
// followers page (and the menu says how many); Approve makes one a
// follower and sends Accept, Turn down and Remove send Reject and delete
// the relation; bad forms get a clear 4xx and change nothing.
func TestFollowersPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{Locked: true})
	remote := aptest.NewRemote(t, false)
	var ann, bob *aptest.RemoteActor
	for _, name := range []string{"ann", "bob"} {
		a := remote.AddActor(name, aptest.Key(t, "remote"))
		if resp := a.Post(t, remote.Client, k.inst.URLs.Inbox(), aptest.JSON(t, follow(a, k.inst))); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("Follow: status %d", resp.StatusCode)
		}
		if name == "ann" {
			ann = a
		} else {
			bob = a
		}
	}
	if _, err := k.inst.Service.ProcessInbox(ctx); err != nil {
		t.Fatal(err)
	}

	if rec := k.visitor().get("/followers"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(location(t, rec), "/login") {
		t.Errorf("a visitor gets status %d; want a redirect to the login page", rec.Code)
	}
	k.login()
	page := k.get("/followers").Body.String()
	for _, want := range []string{
		`<span class="badge">2 waiting</span>`,
		"Your account is locked",
		`<h2>Follow requests</h2>`,
		"@ann@" + remote.Host, "@bob@" + remote.Host,
		`name="actor" value="` + ann.IRI + `"`,
		`value="approve">Approve</button>`,
		"<h2>0 followers</h2>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("followers page lacks %q", want)
		}
	}

	sent := 0
	expect := func(step, typ, path string) {
		t.Helper()
		k.inst.Service.Deliverer().RunOnce(ctx)
		got := remote.Received()[sent:]
		sent += len(got)
		if len(got) != 1 || got[0].Type() != typ || got[0].Path != path || got[0].VerifyErr != nil {
			var desc []string
			for _, r := range got {
				desc = append(desc, r.Type()+" "+r.Path)
			}
			t.Errorf("%s: sent %v; want one signed %s to %s", step, desc, typ, path)
		}
	}
	state := func(a *aptest.RemoteActor) string {
		f, err := k.inst.DB.Follower(ctx, a.IRI)
		if errors.Is(err, store.ErrNotFound) {
			return "none"
		} else if err != nil {
			t.Fatal(err)
		}
		return f.State
	}

	rec := k.post("/followers", url.Values{"actor": {ann.IRI}, "action": {"approve"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("approve: status %d\n%s", rec.Code, rec.Body)
	}
	expect("approve", "Accept", "/users/ann/inbox")
	if got := state(ann); got != store.Accepted {
		t.Errorf("ann is %s; want accepted", got)
	}
	page = k.get(location(t, rec)).Body.String()
	for _, want := range []string{"@ann@" + remote.Host + " now follows you.", "<h2>1 follower</h2>", `<span class="badge">1 waiting</span>`, `value="reject" class="link">Remove</button>`} {
		if !strings.Contains(page, want) {
			t.Errorf("after approval the page lacks %q", want)
		}
	}

	if rec := k.post("/followers", url.Values{"actor": {bob.IRI}, "action": {"reject"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("turn down: status %d", rec.Code)
	}
	expect("turn down", "Reject", "/users/bob/inbox")
	if rec := k.post("/followers", url.Values{"actor": {ann.IRI}, "action": {"reject"}}); rec.Code != http.StatusSeeOther || !strings.Contains(location(t, rec), "done=removed") {
		t.Fatalf("remove: status %d", rec.Code)
	}
	expect("remove", "Reject", "/users/ann/inbox")

	// Removing with "unfollow" also blocks and lifts the block; ann
	// follows again first.
	ann.Post(t, remote.Client, k.inst.URLs.Inbox(), aptest.JSON(t, map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": ann.IRI + "#follows/2", "type": "Follow", "actor": ann.IRI, "object": k.inst.URLs.Actor(),
	}))
	k.inst.Service.ProcessInbox(ctx)
	if rec := k.post("/followers", url.Values{"actor": {ann.IRI}, "action": {"approve"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("approve again: status %d", rec.Code)
	}
	expect("approve again", "Accept", "/users/ann/inbox")
	rec = k.post("/followers", url.Values{"actor": {ann.IRI}, "action": {"force"}})
	if rec.Code != http.StatusSeeOther || !strings.Contains(location(t, rec), "done=forced") {
		t.Fatalf("remove and unfollow: status %d", rec.Code)
	}
	k.inst.Service.Deliverer().RunOnce(ctx)
	var types []string
	for _, r := range remote.Received()[sent:] {
		types = append(types, r.Type())
	}
	sent = len(remote.Received())
	sorted := slices.Sorted(slices.Values(types))
	if !slices.Equal(sorted, []string{"Block", "Reject", "Undo"}) || slices.Index(types, "Undo") < slices.Index(types, "Block") {
		t.Errorf("remove and unfollow sent %v; want Reject, Block, then Undo", types)
	}
	if page := k.get("/followers?done=forced&who=" + url.QueryEscape("@ann@"+remote.Host)).Body.String(); !strings.Contains(page, "their server was made to drop the follow") {
		t.Error("no notice after remove and unfollow")
	}
	if state(ann) != "none" || state(bob) != "none" {
		t.Errorf("after turning down and removing: ann %s, bob %s; want both gone", state(ann), state(bob))
	}
	if page := k.get("/followers").Body.String(); strings.Contains(page, "waiting</span>") || !strings.Contains(page, "None waiting.") {
		t.Error("the page still shows waiting requests")
	}

	// The notice repeats only a handle from its URL, which anyone can write.
	page = k.get("/followers?done=approved&who=" + url.QueryEscape("Your key was revoked; run kith passwd. Also @x@y.example")).Body.String()
	if strings.Contains(page, "Your key was revoked") || !strings.Contains(page, "Approved: the account now follows you.") {
		t.Error("the notice repeated free text from the URL")
	}

	// Bad forms: each refused with its status, nothing sent.
	for _, tc := range []struct {
		name string
		form url.Values
		want int
	}{
		{"no actor", url.Values{"action": {"approve"}}, http.StatusBadRequest},
		{"unknown action", url.Values{"actor": {ann.IRI}, "action": {"block"}}, http.StatusBadRequest},
		{"not a follower", url.Values{"actor": {"https://nowhere.example/users/x"}, "action": {"approve"}}, http.StatusNotFound},
		{"no CSRF token", url.Values{"actor": {ann.IRI}, "action": {"approve"}, "csrf": {"forged"}}, http.StatusForbidden},
	} {
		if rec := k.post("/followers", tc.form); rec.Code != tc.want {
			t.Errorf("%s: status %d; want %d", tc.name, rec.Code, tc.want)
		}
	}
	k.inst.Service.Deliverer().RunOnce(ctx)
	if n := len(remote.Received()) - sent; n != 0 {
		t.Errorf("bad forms sent %d activities; want none", n)
	}
}

// TestFollowersPageCapsRequests: a wave of follow requests shows as one
// page of the newest, with a word about the rest, not one huge page.
func TestFollowersPageCapsRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{Locked: true})
	n := requestsShown + 5
	err := k.inst.DB.Update(ctx, func(tx *store.Tx) error {
		for i := range n {
			iri := fmt.Sprintf("https://spam.example/users/u%d", i)
			a := &store.Actor{IRI: iri, Type: "Person", Username: fmt.Sprintf("u%d", i), Host: "spam.example", Inbox: iri + "/inbox"}
			if err := tx.PutActor(ctx, a); err != nil {
				return err
			}
			if _, err := tx.PutFollower(ctx, a.ID, iri+"#follow", store.Pending, time.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	k.login()
	page := k.get("/followers").Body.String()
	if got := strings.Count(page, `value="approve"`); got != requestsShown {
		t.Errorf("%d requests on the page; want %d", got, requestsShown)
	}
	if want := fmt.Sprintf("The newest %d of %d requests are shown", requestsShown, n); !strings.Contains(page, want) {
		t.Errorf("page lacks %q", want)
	}
}
