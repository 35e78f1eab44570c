package ap_test

import (
	"strings"
	"testing"

	"kith/ap/aptest"
	"kith/store"
)

// TestReplyPolicyOneRuleForBothPaths: a reply to one of the owner's posts
// is shown or held by the owner's reply policy in the same way whether its
// author delivers it to the inbox or kith finds it in a replies collection
// while fetching a thread. Before, the thread fetch held every such reply,
// even a followed account's under the policy "everyone", and kept a
// blocked account's.
func TestReplyPolicyOneRuleForBothPaths(t *testing.T) {
	tests := []struct {
		policy string
		author string // "followed", "follower", "stranger" or "blocked"
		want   string // the reply's approval; "" when it is not stored
	}{
		{store.RepliesKnown, "followed", store.Shown},
		{store.RepliesKnown, "follower", store.Shown},
		{store.RepliesKnown, "stranger", store.Pending},
		{store.RepliesFollowing, "followed", store.Shown},
		{store.RepliesFollowing, "follower", store.Pending},
		{store.RepliesEveryone, "stranger", store.Shown},
		{store.RepliesEveryone, "blocked", ""},
		{store.RepliesNobody, "followed", store.Pending},
	}
	for _, path := range []string{"inbox", "thread"} {
		for _, tt := range tests {
			t.Run(path+"/"+tt.policy+"/"+tt.author, func(t *testing.T) {
				e := newReadEnv(t)
				if err := e.inst.DB.SetReplyPolicy(e.ctx, tt.policy); err != nil {
					t.Fatal(err)
				}
				author := e.bob // a stranger
				switch tt.author {
				case "followed":
					author = e.alice
				case "follower":
					e.setFollower(e.bob)
				case "blocked":
					if err := e.inst.DB.Block(e.ctx, e.bob.IRI, e.clock.Now()); err != nil {
						t.Fatal(err)
					}
				}
				mine := e.publish("Hello, world")
				reply := e.note(author, "reply", "an answer", map[string]any{"inReplyTo": mine.IRI})
				iri := reply["id"].(string)
				switch path {
				case "inbox":
					e.create(author, reply)
				case "thread":
					// The reply is listed in the replies collection of a
					// remote post the owner opens.
					root := e.note(e.alice, "root", "a post", map[string]any{"replies": map[string]any{
						"id": e.alice.IRI + "/statuses/root/replies", "type": "Collection",
						"first": map[string]any{"type": "CollectionPage", "items": []string{iri}},
					}})
					e.remote.SetDocument(strings.TrimPrefix(root["id"].(string), e.remote.Base), root)
					e.remote.SetDocument(strings.TrimPrefix(iri, e.remote.Base), reply)
					if _, err := e.inst.Service.FetchThread(e.ctx, root["id"].(string)); err != nil {
						t.Fatal(err)
					}
					if e.post(root["id"].(string)) == nil {
						t.Fatal("the thread's root was not stored")
					}
				}
				got := ""
				if p := e.post(iri); p != nil {
					got = p.Approval
				}
				if got != tt.want {
					t.Errorf("approval = %q; want %q", got, tt.want)
				}
			})
		}
	}
}

// setFollower records that a follows the owner (accepted).
func (e *readEnv) setFollower(a *aptest.RemoteActor) {
	e.t.Helper()
	actor, err := e.inst.Service.ResolveActor(e.ctx, a.IRI)
	if err != nil {
		e.t.Fatal(err)
	}
	err = e.inst.DB.Update(e.ctx, func(tx *store.Tx) error {
		_, err := tx.PutFollower(e.ctx, actor.ID, a.IRI+"#follow", store.Accepted, e.clock.Now())
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
}
