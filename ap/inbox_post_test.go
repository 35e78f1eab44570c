package ap_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

// TestDeletedPostsStayDeleted: deliveries arrive in any order and are
// retried for days, so a Create may come after its Delete, or again after
// it. Neither brings a deleted post back, a replayed Create does not
// overwrite what is held, a Delete by another host's actor remembers
// nothing, and the memory of deletions is pruned after about a week.
func TestDeletedPostsStayDeleted(t *testing.T) {
	ctx := context.Background()
	clock := aptest.NewClock(time.Now())
	inst := aptest.NewInstance(t, aptest.InstanceOptions{Now: clock.Now})
	home := aptest.NewRemote(t, false)
	alice := home.AddActor("alice", aptest.Key(t, "remote"))
	elsewhere := aptest.NewRemote(t, false)
	eve := elsewhere.AddActor("eve", aptest.Key(t, "remote2"))

	sent := 0
	send := func(r *aptest.Remote, a *aptest.RemoteActor, typ string, object any) {
		t.Helper()
		sent++
		act := map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams",
			"id":       fmt.Sprintf("%s#activities/%d", a.IRI, sent),
			"type":     typ, "actor": a.IRI, "object": object,
			"to": []string{inst.URLs.Actor()},
		}
		resp, err := r.Client.Do(a.NewPost(t, inst.URLs.Inbox(), aptest.JSON(t, act), clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%s: status %d", typ, resp.StatusCode)
		}
		inst.Service.ProcessInbox(ctx)
	}
	note := func(id, text string) map[string]any {
		return map[string]any{
			"id": id, "type": "Note", "attributedTo": alice.IRI, "content": "<p>" + text + "</p>",
			"to": []string{inst.URLs.Actor()}, "published": clock.Now().UTC().Format(time.RFC3339),
		}
	}
	content := func(iri string) string {
		t.Helper()
		p, err := inst.DB.PostByIRI(ctx, iri)
		if errors.Is(err, store.ErrNotFound) {
			return "(none)"
		} else if err != nil {
			t.Fatal(err)
		}
		return p.ContentHTML
	}

	early := alice.IRI + "/statuses/early"
	send(home, alice, "Delete", map[string]any{"id": early, "type": "Tombstone"})
	send(home, alice, "Create", note(early, "too late"))
	if got := content(early); got != "(none)" {
		t.Errorf("a Create after its Delete stored %q", got)
	}

	kept := alice.IRI + "/statuses/kept"
	send(home, alice, "Create", note(kept, "first"))
	send(home, alice, "Create", note(kept, "replayed with other words"))
	if got := content(kept); got != "<p>first</p>" {
		t.Errorf("after a replayed Create the post says %q; want the first version", got)
	}
	send(home, alice, "Delete", kept)
	send(home, alice, "Create", note(kept, "back again"))
	if got := content(kept); got != "(none)" {
		t.Errorf("a redelivered Create brought a deleted post back: %q", got)
	}

	// eve cannot delete, in advance, a post on alice's host.
	other := alice.IRI + "/statuses/other"
	send(elsewhere, eve, "Delete", other)
	send(home, alice, "Create", note(other, "mine"))
	if got := content(other); got != "<p>mine</p>" {
		t.Errorf("after another host's Delete, alice's post is %q; want it stored", got)
	}

	// About a week on, the deletion is forgotten.
	clock.Advance(9 * 24 * time.Hour)
	inst.Service.Housekeep(ctx)
	send(home, alice, "Create", note(early, "much later"))
	if got := content(early); got != "<p>much later</p>" {
		t.Errorf("nine days after the Delete a Create stored %q; want the post", got)
	}
}
