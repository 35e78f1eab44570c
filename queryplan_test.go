package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
	"kith/store/storetest"
	"kith/web"
)

// boundedTables may be read whole: each holds a handful of rows by design.
var boundedTables = map[string]string{
	"account":            "one row, the owner's",
	"local_post_counts":  "one row per visibility, four at most",
	"search_best":        "store.SearchPosts' best matches, at most its LIMIT",
	"prune_runs":         "the last 20 rounds of pruning, AddPruneRun forgets the rest",
	"thread_up":          "store.Thread's walk up a reply chain: one row per ancestor, bounded by its depth",
	"thread_down":        "store.Thread's walk down a conversation: bounded by its depth and LIMIT",
	"push_subscriptions": "one per app the owner let push (a phone or two); Notify queues a push for each",
	"scheduled_posts":    "ap.MaxScheduled (300) at most, Mastodon's bound; Schedule counts them",
}

// boundedStatement says why a statement that scans may: it reads a bounded
// number of rows in a way the plan does not show.
func boundedStatement(query string) string {
	if strings.Contains(query, "FROM delivery_failures ORDER BY id DESC LIMIT 1 OFFSET") {
		return "walks the newest rows in rowid order and stops after the OFFSET"
	}
	if strings.Contains(query, "UNION ALL") && strings.Contains(query, "FROM boosts WHERE actor_iri = ?") {
		return "store.PostsOf and OwnEntries: the scans are of their two subqueries, each one LIMITed range of an index ((author, sid), local_id)"
	}
	return ""
}

// TestHotPathQueryPlans runs kith's hot paths through the real handlers of
// two instances that federate with each other, records every SQL statement
// their stores send to SQLite (store.Options.Trace), and asks SQLite for
// the plan of each one with EXPLAIN QUERY PLAN and the arguments it ran
// with. A plan that reads a whole table fails the test, naming the step,
// the statement and its plan. Checking the SQL the code runs, rather than
// a list of queries kept here, means a new query on a hot path is checked
// the day it is written, and a query built from parts (paging, IN lists)
// is checked in the form it takes.
//
// The plans do not depend on the data: kith never runs ANALYZE, so SQLite
// plans as if every table were large, and a few rows are enough here. The
// figures at a year's size are the benchmarks' job (docs/benchmarks.md).
//
// To cover a new hot path (a timeline, a client API endpoint), add a step
// to the steps list below: a name and a function that drives the path the
// way a visitor, the owner or a remote server would, through
// planEnv.get/ownerGet (pages and API), the two nodes' ap.Service
// (publishing, following) and planEnv.settle (inbox processing and
// deliveries in both directions). Everything the step makes the stores run
// is checked. A table that stays tiny by design may go in boundedTables,
// with the reason.
func TestHotPathQueryPlans(t *testing.T) {
	e := newPlanEnv(t)
	ctx := context.Background()
	var post *store.Post // bob's post that alice answers

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"inbox: Follow, then the Accept back", func(t *testing.T) {
			if _, err := e.alice.app.ap.Follow(ctx, "@bob@"+e.bob.urls.Domain()); err != nil {
				t.Fatal(err)
			}
			e.settle(t)
		}},
		{"fan-out: a post to followers, and its Create arriving", func(t *testing.T) {
			p, err := e.bob.app.ap.Publish(ctx, ap.Draft{Source: "A post with a #tag for @alice@" + e.alice.urls.Domain()})
			if err != nil {
				t.Fatal(err)
			}
			post = p.Post
			e.settle(t)
		}},
		{"inbox: a reply arriving", func(t *testing.T) {
			if _, err := e.alice.app.ap.Publish(ctx, ap.Draft{Source: "A reply", InReplyTo: post.IRI}); err != nil {
				t.Fatal(err)
			}
			e.settle(t)
		}},
		{"inbox: an edit and a delete arriving", func(t *testing.T) {
			p, err := e.bob.app.ap.Publish(ctx, ap.Draft{Source: "Soon edited"})
			if err != nil {
				t.Fatal(err)
			}
			e.settle(t)
			if _, err := e.bob.app.ap.Edit(ctx, p.Post.LocalID, ap.Draft{Source: "Edited"}); err != nil {
				t.Fatal(err)
			}
			e.settle(t)
			if err := e.bob.app.ap.DeletePost(ctx, p.Post.LocalID); err != nil {
				t.Fatal(err)
			}
			e.settle(t)
		}},
		{"fan-out: an inbox that answers 410 Gone", func(t *testing.T) {
			e.goneFollower(t, e.bob)
			if _, err := e.bob.app.ap.Publish(ctx, ap.Draft{Source: "To a follower who is gone"}); err != nil {
				t.Fatal(err)
			}
			e.settle(t)
		}},
		{"profile page", func(t *testing.T) {
			e.get(t, e.bob, "/@bob")
			e.get(t, e.bob, "/@bob?before="+post.LocalID)
			e.get(t, e.bob, "/@bob?after="+post.LocalID)
			e.get(t, e.bob, "/tags/tag")
		}},
		{"post page with replies", func(t *testing.T) {
			e.get(t, e.bob, "/@bob/"+post.LocalID)
		}},
		{"owner pages", func(t *testing.T) {
			e.ownerGet(t, e.bob, "/@bob")
			e.ownerGet(t, e.bob, "/@bob/"+post.LocalID)
			e.ownerGet(t, e.bob, "/followers")
			e.ownerGet(t, e.alice, "/thread?iri="+url.QueryEscape(post.IRI))
			e.ownerGet(t, e.alice, "/search?q=tag")
			e.ownerGet(t, e.alice, "/search?q=a+post")
		}},
		{"remote profile page", func(t *testing.T) {
			e.ownerGet(t, e.alice, "/people?acct=bob@"+e.bob.urls.Domain())
			e.ownerGet(t, e.alice, "/people?actor="+url.QueryEscape(e.bob.urls.Actor()))
			e.ownerGet(t, e.alice, "/following")
			e.ownerGet(t, e.alice, "/settings/blocks")
		}},
		{"home timeline and the owner's interactions", func(t *testing.T) {
			svc := e.alice.app.ap
			for _, do := range []func(context.Context, string) error{svc.Like, svc.Announce, svc.Bookmark} {
				if err := do(ctx, post.IRI); err != nil {
					t.Fatal(err)
				}
			}
			e.settle(t)
			e.ownerGet(t, e.alice, "/home")
			e.ownerGet(t, e.alice, "/home?max_id=zzzzzzzzzzzzzzzzzzzzzzzzzz")
			e.ownerGet(t, e.alice, "/home?min_id=00000000000000000000000000")
			e.ownerGet(t, e.alice, "/bookmarks")
			// What a card's button reads its post with (web's formPost).
			if held, err := e.alice.app.db.PostByIRI(ctx, post.IRI); err != nil {
				t.Fatal(err)
			} else if _, err := e.alice.app.db.PostByEntrySID(ctx, held.SID); err != nil {
				t.Fatal(err)
			}
			e.ownerGet(t, e.alice, "/bookmarks?max_id=zzzzzzzzzzzzzzzzzzzzzzzzzz")
			e.ownerGet(t, e.alice, "/notifications")
			e.ownerGet(t, e.alice, "/notifications?max_id=zzzzzzzzzzzzzzzzzzzzzzzzzz")
			e.ownerGet(t, e.bob, "/replies")
			e.ownerGet(t, e.bob, "/replies/hidden")
			for _, undo := range []func(context.Context, string) error{svc.Unlike, svc.Unannounce, svc.Unbookmark} {
				if err := undo(ctx, post.IRI); err != nil {
					t.Fatal(err)
				}
			}
			e.settle(t)
		}},
		{"client API: timelines, statuses, notifications", func(t *testing.T) {
			tok := e.apiToken(t, e.alice)
			stored, err := e.alice.app.db.PostByIRI(ctx, post.IRI)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{
				"/api/v1/accounts/verify_credentials", "/api/v1/timelines/home?limit=40",
				"/api/v1/timelines/home?max_id=zzzzzzzzzzzzzzzzzzzzzzzzzz", "/api/v1/timelines/home?min_id=00000000000000000000000000",
				"/api/v1/accounts/0/statuses?exclude_replies=true", "/api/v1/accounts/0/statuses?min_id=00000000000000000000000000", "/api/v1/accounts/0/statuses?only_media=true&max_id=zzzzzzzzzzzzzzzzzzzzzzzzzz",
				"/api/v1/statuses/" + stored.SID, "/api/v1/statuses/" + stored.SID + "/context",
				"/api/v1/statuses/" + stored.SID + "/favourited_by", "/api/v1/statuses/" + stored.SID + "/reblogged_by",
				"/api/v1/notifications", "/api/v1/bookmarks", "/api/v1/favourites",
			} {
				e.apiGet(t, e.alice, tok, p)
			}
		}},
		{"scheduled posts: listed, read, and the scheduler's round", func(t *testing.T) {
			sp, err := e.bob.app.ap.Schedule(ctx, ap.Draft{Source: "Later"}, time.Now().Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			tok := e.apiToken(t, e.bob)
			for _, p := range []string{"/api/v1/scheduled_statuses", "/api/v1/scheduled_statuses?max_id=zzzzzzzzzzzzzzzzzzzzzzzzzz", "/api/v1/scheduled_statuses/" + sp.ID} {
				e.apiGet(t, e.bob, tok, p)
			}
			if _, err := e.bob.app.ap.PublishDue(ctx); err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.bob.app.db.NextScheduledAt(ctx); err != nil {
				t.Fatal(err)
			}
		}},
		{"housekeeping: pruning old remote posts", func(t *testing.T) {
			e.alice.app.ap.PruneRemotePosts(ctx)
		}},
		{"inbox: Undo of the Follow", func(t *testing.T) {
			if _, err := e.alice.app.ap.Unfollow(ctx, "@bob@"+e.bob.urls.Domain()); err != nil {
				t.Fatal(err)
			}
			e.settle(t)
		}},
		{"inbox: a Follow of a locked account, from a listed follower of its moved-in old account", func(t *testing.T) {
			// bob moved in from an old account alice followed: set up
			// unrecorded, as ReadAliasFollowers and a verified Move would.
			resume := e.rec.Pause()
			old := "https://old.example/users/bob"
			err := e.bob.app.db.Update(ctx, func(tx *store.Tx) error { return tx.SetAliases(ctx, []string{old}, time.Now()) })
			if err == nil {
				err = e.bob.app.db.AddAliasFollowers(ctx, old, []string{e.alice.urls.Actor()})
			}
			if err == nil {
				err = e.bob.app.db.RecordMoveIn(ctx, old, time.Now())
			}
			if err == nil {
				err = e.bob.app.ap.SetLocked(ctx, true)
			}
			resume()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.alice.app.ap.Follow(ctx, "@bob@"+e.bob.urls.Domain()); err != nil {
				t.Fatal(err)
			}
			e.settle(t)
			if f, err := e.bob.app.db.Follower(ctx, e.alice.urls.Actor()); err != nil || f.State != store.Accepted {
				t.Fatalf("alice's Follow: %+v, %v; want accepted", f, err)
			}
			resume = e.rec.Pause()
			defer resume()
			if err := e.bob.app.ap.SetLocked(ctx, false); err != nil {
				t.Fatal(err)
			}
		}},
		{"inbox: a Block arriving", func(t *testing.T) {
			if _, err := e.alice.app.ap.Follow(ctx, "@bob@"+e.bob.urls.Domain()); err != nil {
				t.Fatal(err)
			}
			e.settle(t)
			if _, err := e.bob.app.ap.Block(ctx, "@alice@"+e.alice.urls.Domain()); err != nil {
				t.Fatal(err)
			}
			e.settle(t)
		}},
	}
	for _, s := range steps {
		e.rec.Step(s.name)
		if !t.Run(s.name, s.run) {
			t.FailNow()
		}
	}

	stmts := e.rec.Statements()
	if len(stmts) < 20 {
		t.Fatalf("only %d distinct statements recorded; is tracing on?", len(stmts))
	}
	planner := storetest.NewPlanner(t, e.bob.app.db.Path())
	checked := 0
	for _, st := range stmts {
		plan, err := planner.Plan(ctx, st)
		if err != nil {
			t.Errorf("step %q: %v\n%s", st.Step, err, st.Query)
			continue
		}
		if plan != nil {
			checked++
		}
		if reason := boundedStatement(st.Query); reason != "" {
			continue
		}
		if scans := planner.FullScans(st, plan, boundedTables); len(scans) > 0 {
			t.Errorf("step %q reads a whole table (%s):\n%s\nplan:\n%s", st.Step, strings.Join(scans, "; "),
				strings.TrimSpace(st.Query), strings.Join(plan, "\n"))
		}
	}
	t.Logf("checked the plans of %d distinct statements", checked)
}

// TestPostPageQueriesDoNotGrowWithReplies: the post page reads its replies'
// authors in one query, not one per reply.
func TestPostPageQueriesDoNotGrowWithReplies(t *testing.T) {
	e := newPlanEnv(t)
	ctx := context.Background()
	db := e.bob.app.db
	queriesFor := func(replies int) int {
		t.Helper()
		p, err := e.bob.app.ap.Publish(ctx, ap.Draft{Source: fmt.Sprintf("A post with %d replies", replies)})
		if err != nil {
			t.Fatal(err)
		}
		for i := range replies {
			author := &store.Actor{
				IRI: fmt.Sprintf("https://r%d.example/users/u", i), Type: "Person", Username: "u",
				Host: fmt.Sprintf("r%d.example", i), Inbox: fmt.Sprintf("https://r%d.example/users/u/inbox", i),
				FetchedAt: time.Now(),
			}
			err := db.Update(ctx, func(tx *store.Tx) error {
				if err := tx.PutActor(ctx, author); err != nil {
					return err
				}
				return tx.PutPost(ctx, &store.Post{
					IRI: author.IRI + "/notes/" + p.Post.LocalID, AuthorIRI: author.IRI, Type: "Note",
					ContentHTML: "<p>reply</p>", Visibility: store.Public, InReplyTo: p.Post.IRI, Published: time.Now(),
				})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		before := e.rec.Runs()
		body := e.get(t, e.bob, "/@bob/"+p.Post.LocalID)
		if got := strings.Count(body, "<article"); got != replies+1 {
			t.Fatalf("the page shows %d posts; want the post and %d replies", got, replies)
		}
		return e.rec.Runs() - before
	}
	one, many := queriesFor(1), queriesFor(12)
	if many != one {
		t.Errorf("the post page ran %d statements with 1 reply and %d with 12; want the same number", one, many)
	}
}

// planEnv is two kith instances, alice and bob, on traced databases that
// report to one recorder.
type planEnv struct {
	rec          *storetest.Recorder
	alice, bob   *node
	ownerCookies map[*node]*http.Cookie
}

func newPlanEnv(t *testing.T) *planEnv {
	t.Helper()
	e := &planEnv{rec: &storetest.Recorder{}, ownerCookies: map[*node]*http.Cookie{}}
	e.alice = e.newNode(t, "alice")
	e.bob = e.newNode(t, "bob")
	return e
}

// newNode is federation_test.go's newNode on a traced database.
func (e *planEnv) newNode(t *testing.T, user string) *node {
	t.Helper()
	return newNodeOn(t, user, storetest.OpenTraced(t, e.rec))
}

// settle lets the two instances exchange everything that is queued. The
// queue statistics that tell it when to stop are the test's, not kith's,
// and are not recorded.
func (e *planEnv) settle(t *testing.T) {
	t.Helper()
	settleAside(t, e.rec.Pause, e.alice, e.bob)
	// The inbox worker asks for its next retry after each round (runInbox).
	for _, n := range []*node{e.alice, e.bob} {
		if _, _, err := n.app.db.NextInboxAttempt(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// get fetches path from n as a visitor and fails unless it answers 200.
func (e *planEnv) get(t *testing.T, n *node, path string) string {
	t.Helper()
	return e.do(t, n, path, nil)
}

// ownerGet fetches path from n logged in as its owner.
func (e *planEnv) ownerGet(t *testing.T, n *node, path string) string {
	t.Helper()
	c := e.ownerCookies[n]
	if c == nil {
		c = e.login(t, n)
		e.ownerCookies[n] = c
	}
	return e.do(t, n, path, c)
}

func (e *planEnv) do(t *testing.T, n *node, path string, cookie *http.Cookie) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, n.urls.Base()+path, nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	n.app.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d\n%s", path, rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// planPassword is the owner's password on the plan test's instances.
const planPassword = "correct horse battery staple"

// login sets a known password on n and logs in through the form.
func (e *planEnv) login(t *testing.T, n *node) *http.Cookie {
	t.Helper()
	hash, err := web.HashPassword(planPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.app.db.SetPasswordHash(context.Background(), hash, time.Now()); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"password": {planPassword}}
	req := httptest.NewRequest(http.MethodPost, n.urls.Base()+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", n.urls.Base())
	rec := httptest.NewRecorder()
	n.app.handler.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if strings.HasSuffix(c.Name, "kith_session") {
			return c
		}
	}
	t.Fatalf("login: status %d and no session cookie\n%s", rec.Code, rec.Body)
	return nil
}

// apiToken logs in to n's client API with the password grant, as toot
// does, and returns the token.
func (e *planEnv) apiToken(t *testing.T, n *node) string {
	t.Helper()
	if e.ownerCookies[n] == nil {
		e.ownerCookies[n] = e.login(t, n)
	}
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	e.apiPost(t, n, "/api/v1/apps", url.Values{"client_name": {"plan"}, "redirect_uris": {"urn:ietf:wg:oauth:2.0:oob"}, "scopes": {"read write"}}, &app)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	e.apiPost(t, n, "/oauth/token", url.Values{"grant_type": {"password"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret},
		"username": {n.urls.Username()}, "password": {planPassword}, "scope": {"read write"}}, &tok)
	return tok.AccessToken
}

func (e *planEnv) apiPost(t *testing.T, n *node, path string, form url.Values, v any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, n.urls.Base()+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	n.app.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), v) != nil {
		t.Fatalf("POST %s: status %d\n%s", path, rec.Code, rec.Body)
	}
}

// apiGet fetches an API path with the token and fails unless it answers
// 200.
func (e *planEnv) apiGet(t *testing.T, n *node, token, path string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, n.urls.Base()+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	n.app.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d\n%s", path, rec.Code, rec.Body)
	}
}

// goneFollower adds to n a follower whose inbox answers 410 Gone, as a
// deleted account's server does.
func (e *planEnv) goneFollower(t *testing.T, n *node) {
	t.Helper()
	remote := aptest.NewRemote(t, false)
	remote.SetInboxStatus(func(*http.Request) int { return http.StatusGone })
	gone := remote.AddActor("gone", aptest.Key(t, "remote"))
	ctx := context.Background()
	err := n.app.db.Update(ctx, func(tx *store.Tx) error {
		a := &store.Actor{IRI: gone.IRI, Type: "Person", Username: gone.Name, Host: remote.Host,
			Inbox: gone.Inbox, KeyID: gone.KeyID, PublicKeyPEM: aptest.PublicPEM(t, gone.Key), FetchedAt: time.Now()}
		if err := tx.PutActor(ctx, a); err != nil {
			return err
		}
		_, err := tx.PutFollower(ctx, a.ID, gone.IRI+"#follow", store.Accepted, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The remote's certificate is httptest's, which the node's client
	// already trusts; the node only needs to reach it.
}
