package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"kith/ap/aptest"
	"kith/store"
)

// TestFollowingPage: the owner follows alice (accepted), bob (no answer
// yet) and cat (whose server says no); the page lists each in its state
// with avatars through kith, and unfollowing from it sends the Undo and
// takes alice off the list.
func TestFollowingPage(t *testing.T) {
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	remote := aptest.NewRemote(t, false)
	actors := map[string]*aptest.RemoteActor{}
	for _, n := range []string{"alice", "bob", "cat"} {
		a := remote.AddActor(n, aptest.Key(t, "remote"))
		a.Extra = map[string]any{"icon": map[string]any{"type": "Image", "url": remote.Base + "/media/" + n + ".png"}}
		actors[n] = a
		if _, err := k.inst.Service.Follow(ctx, "@"+n+"@"+remote.Host); err != nil {
			t.Fatal(err)
		}
	}
	k.inst.Service.Deliverer().RunOnce(ctx)
	follows := map[string]any{}
	for _, rec := range remote.Received() {
		follows[rec.Activity["object"].(string)] = rec.Activity["id"]
	}
	answer := func(name, typ string) {
		a := actors[name]
		a.Post(t, remote.Client, k.inst.URLs.Inbox(), aptest.JSON(t, map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams", "id": a.IRI + "#answers/1", "type": typ,
			"actor": a.IRI, "object": follows[a.IRI],
		}))
	}
	answer("alice", "Accept")
	answer("cat", "Reject")
	k.inst.Service.ProcessInbox(ctx)
	if f, err := k.inst.DB.Following(ctx, actors["cat"].IRI); err != nil || f.State != store.Rejected {
		t.Fatalf("cat's follow after the Reject: %v, %v; want rejected", f, err)
	}

	body := k.get("/following").Body.String()
	sections := []string{"<h2>Requested</h2>", "@bob@", "<h2>Turned down</h2>", "@cat@", "You follow 1 account", "@alice@"}
	at := 0
	for _, s := range sections {
		i := strings.Index(body[at:], s)
		if i < 0 {
			t.Fatalf("the following page lacks %q after the previous section\n%s", s, body)
		}
		at += i
	}
	if !strings.Contains(body, `src="/avatars?actor=`+url.QueryEscape(actors["alice"].IRI)+`"`) {
		t.Error("alice's avatar does not come through kith")
	}
	if !strings.Contains(body, `href="/people?actor=`+url.QueryEscape(actors["alice"].IRI)+`"`) {
		t.Error("alice's name does not link to her profile in kith")
	}

	rec := k.post("/following", url.Values{"actor": {actors["alice"].IRI}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("unfollow: status %d\n%s", rec.Code, rec.Body)
	}
	body = k.get(location(t, rec)).Body.String()
	if !strings.Contains(body, "You no longer follow @alice@") || !strings.Contains(body, "You follow 0 accounts") {
		t.Errorf("after unfollowing, the page does not say so")
	}
	k.inst.Service.Deliverer().RunOnce(ctx)
	got := remote.Received()
	if last := got[len(got)-1]; last.Type() != "Undo" || last.Path != "/users/alice/inbox" {
		t.Errorf("last activity: %s to %s; want the Undo to alice", last.Type(), last.Path)
	}
	// A rejected follow is forgotten without telling anyone.
	before := len(got)
	if rec := k.post("/following", url.Values{"actor": {actors["cat"].IRI}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("forget: status %d", rec.Code)
	}
	k.inst.Service.Deliverer().RunOnce(ctx)
	if n := len(remote.Received()) - before; n != 0 {
		t.Errorf("forgetting a rejected follow sent %d activities; want none", n)
	}
	if rec := k.post("/following", url.Values{"actor": {actors["cat"].IRI}}); rec.Code != http.StatusConflict {
		t.Errorf("unfollowing someone not followed: status %d; want 409", rec.Code)
	}
	if rec := k.post("/following", nil); rec.Code != http.StatusBadRequest {
		t.Errorf("no actor: status %d; want 400", rec.Code)
	}
}
