package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
)

// remoteThread is a fake server holding a conversation: actors and notes
// served from a map, or by a function for made-up paths.
type remoteThread struct {
	srv     *httptest.Server
	mu      sync.Mutex
	docs    map[string]any
	dynamic func(path string) any
}

func newRemoteThread(t *testing.T) *remoteThread {
	t.Helper()
	r := &remoteThread{docs: map[string]any{}}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		doc, ok := r.docs[req.URL.Path]
		r.mu.Unlock()
		if !ok && r.dynamic != nil {
			doc = r.dynamic(req.URL.Path)
		}
		if doc == nil {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "application/activity+json")
		json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *remoteThread) url(path string) string { return r.srv.URL + path }

func (r *remoteThread) actor(name string) string {
	id := r.url("/users/" + name)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.docs["/users/"+name] = map[string]any{"id": id, "type": "Person", "preferredUsername": name,
		"name": "User " + name, "inbox": id + "/inbox"}
	return id
}

// note serves a public note whose replies collection lists replies by id.
func (r *remoteThread) note(path, author, inReplyTo, content string, at time.Time, replies ...string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.docs[path] = remoteNote(r.url(path), author, inReplyTo, content, at, replies...)
	return r.url(path)
}

func remoteNote(id, author, inReplyTo, content string, at time.Time, replies ...string) map[string]any {
	doc := map[string]any{"id": id, "type": "Note", "attributedTo": author, "content": content,
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"}, "published": at.Format(time.RFC3339)}
	if inReplyTo != "" {
		doc["inReplyTo"] = inReplyTo
	}
	if len(replies) > 0 {
		doc["replies"] = map[string]any{"id": id + "/replies", "type": "OrderedCollection",
			"first": map[string]any{"type": "OrderedCollectionPage", "orderedItems": replies}}
	}
	return doc
}

// TestThreadPage: the owner opens a remote reply and reads the whole
// conversation, over two servers, in order, the reply highlighted; hostile
// HTML in a fetched post is sanitised; visitors are sent to log in; an
// address that is not a URL is refused.
func TestThreadPage(t *testing.T) {
	a, b := newRemoteThread(t), newRemoteThread(t)
	alice, bob := a.actor("alice"), b.actor("bob")
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	root := a.url("/notes/root")
	reply := b.note("/notes/reply", bob, root, "<p>FIRST ANSWER</p>", t0.Add(time.Minute), a.url("/notes/deep"))
	a.note("/notes/root", alice, "", "<p>THE ROOT<script>alert(1)</script></p>", t0, reply, a.url("/notes/later"))
	a.note("/notes/deep", alice, reply, "<p>DEEPER</p>", t0.Add(2*time.Minute))
	a.note("/notes/later", alice, root, "<p>LATER ANSWER</p>", t0.Add(3*time.Minute))

	k := newKit(t, aptest.InstanceOptions{})
	if rec := k.get("/thread?iri=" + url.QueryEscape(reply)); rec.Code != http.StatusSeeOther {
		t.Errorf("visitor: status %d; want 303 to the login", rec.Code)
	}
	k.login()
	rec := k.get("/thread?iri=" + url.QueryEscape(reply))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d\n%s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	last := -1
	for _, s := range []string{"THE ROOT", "FIRST ANSWER", "DEEPER", "LATER ANSWER"} {
		i := strings.Index(body, s)
		if i < last {
			t.Errorf("%q is missing or out of order", s)
		}
		last = i
	}
	if strings.Contains(body, "<script>alert") {
		t.Error("a fetched post's script reached the page")
	}
	focus := body[strings.Index(body, `id="focus"`):]
	if !strings.Contains(focus[:min(len(focus), 2000)], "FIRST ANSWER") {
		t.Error("the post asked for is not the highlighted one")
	}
	if !strings.Contains(body, "indent-2") {
		t.Error("the answer to the answer is not indented two levels")
	}
	for _, bad := range []string{"/thread?iri=javascript:alert(1)", "/thread?iri=", "/thread?iri=" + url.QueryEscape("ftp://x/y")} {
		if rec := k.get(bad); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d; want 400", bad, rec.Code)
		}
	}
	if rec := k.get("/thread?iri=" + url.QueryEscape(a.url("/notes/missing"))); rec.Code != http.StatusNotFound {
		t.Errorf("a post its server does not have: status %d; want 404", rec.Code)
	}
}

// TestThreadPageHugeThread: on a chain of 10,000 posts the fetch stops at
// its limits and the page still answers, with what it has.
func TestThreadPageHugeThread(t *testing.T) {
	r := newRemoteThread(t)
	alice := r.actor("alice")
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	r.dynamic = func(path string) any {
		n, err := strconv.Atoi(strings.TrimPrefix(path, "/notes/"))
		if err != nil || n < 0 || n >= 10000 {
			return nil
		}
		parent := ""
		if n > 0 {
			parent = r.url("/notes/" + strconv.Itoa(n-1))
		}
		return remoteNote(r.url(path), alice, parent, "<p>link "+strconv.Itoa(n)+"</p>", t0.Add(time.Duration(n)*time.Second),
			r.url("/notes/"+strconv.Itoa(n+1)))
	}
	k := newKit(t, aptest.InstanceOptions{Threads: ap.ThreadLimits{Ancestors: 20, Depth: 20, Fetches: 60, Time: 10 * time.Second}})
	k.login()
	start := time.Now()
	rec := k.get("/thread?iri=" + url.QueryEscape(r.url("/notes/9000")))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d\n%s", rec.Code, rec.Body)
	}
	if d := time.Since(start); d > threadWait+3*time.Second {
		t.Errorf("the page took %v", d)
	}
	body := rec.Body.String()
	if !strings.Contains(body, "link 9000") || strings.Contains(body, "link 8979") {
		t.Error("the page should hold the post and at most 20 posts above it")
	}
}

// TestPostPageThread: our post page shows the conversation it is part of
// to visitors, with only the replies the owner lets show; the owner sees
// the waiting one too.
func TestPostPageThread(t *testing.T) {
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	post := k.publishPost("Our post", "public")
	id := post.LocalID
	now := time.Now()
	for i, r := range []struct{ text, approval string }{{"SHOWN REPLY", store.Shown}, {"WAITING REPLY", "pending"}, {"HIDDEN REPLY", store.Hidden}} {
		err := k.inst.DB.Update(ctx, func(tx *store.Tx) error {
			return tx.PutPost(ctx, &store.Post{IRI: "https://r.example/notes/" + strconv.Itoa(i), AuthorIRI: "https://r.example/users/ann",
				Type: "Note", ContentHTML: "<p>" + r.text + "</p>", Visibility: store.Public, InReplyTo: post.IRI,
				Published: now.Add(time.Duration(i) * time.Second), Approval: r.approval})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	visitor := k.visitor().get("/@me/" + id).Body.String()
	owner := k.get("/@me/" + id).Body.String()
	if !strings.Contains(visitor, "SHOWN REPLY") || strings.Contains(visitor, "WAITING REPLY") || strings.Contains(visitor, "HIDDEN REPLY") {
		t.Errorf("visitors should see only the shown reply")
	}
	if !strings.Contains(owner, "WAITING REPLY") || !strings.Contains(owner, "HIDDEN REPLY") || !strings.Contains(owner, `action="/replies/approval"`) {
		t.Errorf("the owner should see the waiting and the hidden reply, with the controls to moderate them")
	}
}
