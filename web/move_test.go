package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"kith/ap/aptest"
)

// TestMovingPage: the owner adds an old account by its address, which
// shows on the page and as alsoKnownAs on the actor document; moving to an
// account that does not list this one is refused with the reason; once it
// does, the profile says where the owner went and the actor has movedTo.
func TestMovingPage(t *testing.T) {
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	remote := aptest.NewRemote(t, true)
	old := remote.AddActor("old", aptest.Key(t, "remote"))
	next := remote.AddActor("next", aptest.Key(t, "remote2"))

	rec := k.post("/settings/moving", url.Values{"action": {"alias"}, "target": {"@old@" + remote.Host}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("adding an alias: %d\n%s", rec.Code, rec.Body)
	}
	if body := k.get("/settings/moving").Body.String(); !strings.Contains(body, "@old@"+remote.Host) {
		t.Errorf("the moving page does not list the old account:\n%s", body)
	}
	_, doc := k.fedGET(k.inst.URLs.Actor())
	if aka, _ := doc["alsoKnownAs"].([]any); !slices.Contains(aka, any(old.IRI)) {
		t.Errorf("alsoKnownAs = %v; want %s", doc["alsoKnownAs"], old.IRI)
	}

	rec = k.post("/settings/moving", url.Values{"action": {"moved"}, "target": {next.IRI}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "alsoKnownAs") {
		t.Errorf("moving to an account without the alias: %d; want 400 naming alsoKnownAs\n%s", rec.Code, rec.Body)
	}
	nd := next.Document()
	nd["alsoKnownAs"] = []string{k.inst.URLs.Actor()}
	remote.SetDocument("/users/next", nd)
	if rec = k.post("/settings/moving", url.Values{"action": {"moved"}, "target": {next.IRI}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("moving out: %d\n%s", rec.Code, rec.Body)
	}
	if _, doc = k.fedGET(k.inst.URLs.Actor()); doc["movedTo"] != next.IRI {
		t.Errorf("movedTo = %v; want %s", doc["movedTo"], next.IRI)
	}
	if body := k.visitor().get(k.h.localPath(k.inst.URLs.Profile())).Body.String(); !strings.Contains(body, "@next@"+remote.Host) {
		t.Errorf("the profile does not say where the owner went:\n%s", body)
	}
}
