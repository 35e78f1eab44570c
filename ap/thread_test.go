package ap_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
)

// fakeHost is a remote server that serves actors and posts from a map, and
// counts the requests it answers.
type fakeHost struct {
	srv  *httptest.Server
	mu   sync.Mutex
	docs map[string]any
	hits atomic.Int32
	// dynamic, when set, answers paths the map does not hold.
	dynamic func(path string) any
	// cavageOnly makes the host answer 401 to RFC 9421 signatures, as a
	// Mastodon in authorized-fetch mode that does not read them.
	cavageOnly bool
}

func newFakeHost(t *testing.T) *fakeHost {
	t.Helper()
	h := &fakeHost{docs: map[string]any{}}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.hits.Add(1)
		h.mu.Lock()
		doc, ok := h.docs[r.URL.Path]
		cavageOnly := h.cavageOnly
		h.mu.Unlock()
		if cavageOnly && r.Header.Get("Signature-Input") != "" {
			http.Error(w, "Request not signed", http.StatusUnauthorized)
			return
		}
		if !ok && h.dynamic != nil {
			doc, ok = h.dynamic(r.URL.Path), true
		}
		if !ok || doc == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/activity+json")
		json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *fakeHost) url(path string) string { return h.srv.URL + path }

func (h *fakeHost) put(path string, doc any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.docs[path] = doc
}

// actor serves a Person at /users/name and returns its id.
func (h *fakeHost) actor(name string) string {
	id := h.url("/users/" + name)
	h.put("/users/"+name, map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Person",
		"preferredUsername": name, "name": "User " + name, "inbox": id + "/inbox", "outbox": id + "/outbox",
		"followers": id + "/followers",
	})
	return id
}

// noteDoc is a public Note; its replies collection, when it has replies,
// lists them by id on a first page embedded in it, as Mastodon does.
func noteDoc(id, author, inReplyTo, content string, published time.Time, replies ...any) map[string]any {
	doc := map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Note",
		"attributedTo": author, "content": "<p>" + content + "</p>",
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"}, "published": published.Format(time.RFC3339),
	}
	if inReplyTo != "" {
		doc["inReplyTo"] = inReplyTo
	}
	if replies != nil {
		doc["replies"] = map[string]any{"id": id + "/replies", "type": "Collection",
			"first": map[string]any{"type": "CollectionPage", "partOf": id + "/replies", "items": replies}}
	}
	return doc
}

func threadInstance(t *testing.T, lim ap.ThreadLimits) *aptest.Instance {
	t.Helper()
	return aptest.NewInstance(t, aptest.InstanceOptions{Threads: lim})
}

func threadIRIs(t *testing.T, db *store.DB, iri string) []string {
	t.Helper()
	posts, err := db.Thread(context.Background(), store.ThreadQuery{IRI: iri})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range posts {
		out = append(out, fmt.Sprintf("%d %s", p.Depth, p.IRI))
	}
	return out
}

// TestFetchThreadOverTwoHosts: opened at a reply, the fetch walks up to
// the root on another host and down every replies collection, in both
// hosts, and the thread reads in conversation order. An object embedded by
// a host that is not its own is fetched from its own host, and a post
// attributed to an actor of another host is refused.
func TestFetchThreadOverTwoHosts(t *testing.T) {
	ctx := context.Background()
	a, b := newFakeHost(t), newFakeHost(t)
	alice, bob := a.actor("alice"), b.actor("bob")
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	root, r1, r2, r11 := a.url("/notes/1"), b.url("/notes/2"), a.url("/notes/3"), a.url("/notes/4")
	forged, misattributed := a.url("/notes/5"), a.url("/notes/6")
	a.put("/notes/1", noteDoc(root, alice, "", "root", t0, r1, noteDoc(r2, alice, root, "second answer", t0.Add(2*time.Minute)), misattributed))
	b.put("/notes/2", noteDoc(r1, bob, root, "first answer", t0.Add(time.Minute), r11,
		// Claims to be alice's, but served by bob's host: fetched from
		// alice's host instead, which does not know it.
		noteDoc(forged, alice, r1, "FORGED", t0.Add(3*time.Minute))))
	a.put("/notes/4", noteDoc(r11, alice, r1, "answer to the answer", t0.Add(4*time.Minute)))
	a.put("/notes/6", noteDoc(misattributed, bob, root, "MISATTRIBUTED", t0.Add(5*time.Minute)))

	inst := threadInstance(t, ap.ThreadLimits{})
	res, err := inst.Service.FetchThread(ctx, r1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Root != root || res.Stopped != "" {
		t.Errorf("fetch = %+v; want root %s, not stopped", res, root)
	}
	got := strings.Join(threadIRIs(t, inst.DB, r1), "\n")
	want := strings.Join([]string{"0 " + root, "1 " + r1, "2 " + r11, "1 " + r2}, "\n")
	if got != want {
		t.Errorf("thread:\n%s\nwant:\n%s", got, want)
	}
	for _, iri := range []string{forged, misattributed} {
		if _, err := inst.DB.PostByIRI(ctx, iri); err == nil {
			t.Errorf("%s was stored", iri)
		}
	}
	if a, err := inst.DB.ActorByIRI(ctx, bob); err != nil || a.Name != "User bob" {
		t.Errorf("bob not cached: %v", err)
	}

	// Fetched a moment ago: a refresh does nothing and asks nobody.
	hits := a.hits.Load() + b.hits.Load()
	if !inst.Service.RefreshThread(ctx, r1, time.Second) {
		t.Error("a fresh thread should count as done")
	}
	if n := a.hits.Load() + b.hits.Load(); n != hits {
		t.Errorf("a fresh thread was fetched again (%d requests)", n-hits)
	}
}

// TestFetchThreadBudgetCountsKnockOnce: on a host that refuses RFC 9421
// signatures, the first fetch knocks twice, yet the thread's fetch budget
// counts fetches, not requests: a budget that just covers the thread reads
// it whole, with one request more than fetches.
func TestFetchThreadBudgetCountsKnockOnce(t *testing.T) {
	ctx := context.Background()
	thread := func(h *fakeHost) string {
		alice := h.actor("alice")
		t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
		root, r1, r2 := h.url("/notes/1"), h.url("/notes/2"), h.url("/notes/3")
		h.put("/notes/1", noteDoc(root, alice, "", "root", t0, r1, r2))
		h.put("/notes/2", noteDoc(r1, alice, root, "one", t0.Add(time.Minute)))
		h.put("/notes/3", noteDoc(r2, alice, root, "two", t0.Add(2*time.Minute)))
		return r1
	}
	open := newFakeHost(t)
	res, err := threadInstance(t, ap.ThreadLimits{}).Service.FetchThread(ctx, thread(open))
	if err != nil || res.Stopped != "" {
		t.Fatalf("FetchThread = %+v, %v", res, err)
	}
	need := res.Fetches

	strict := newFakeHost(t)
	strict.mu.Lock()
	strict.cavageOnly = true
	strict.mu.Unlock()
	inst := threadInstance(t, ap.ThreadLimits{Ancestors: 30, Depth: 20, Fetches: need, Time: 20 * time.Second})
	res, err = inst.Service.FetchThread(ctx, thread(strict))
	if err != nil || res.Stopped != "" || res.Fetches != need || res.Stored != 3 {
		t.Fatalf("with a budget of %d fetches on a cavage-only host: %+v, %v; want the 3 posts read in %d fetches", need, res, err, need)
	}
	if hits := int(strict.hits.Load()); hits != need+1 {
		t.Errorf("%d requests for %d fetches; want one knock more", hits, need)
	}
}

// TestFetchThreadFiveLevelsTenReplies: a thread five levels deep with ten
// replies at its root is read whole.
func TestFetchThreadFiveLevelsTenReplies(t *testing.T) {
	h := newFakeHost(t)
	alice := h.actor("alice")
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	root := h.url("/notes/root")
	var rootReplies []any
	for i := range 10 {
		id := h.url("/notes/r" + strconv.Itoa(i))
		rootReplies = append(rootReplies, id)
		var replies []any
		if i == 0 {
			replies = []any{h.url("/notes/d2")}
		}
		h.put("/notes/r"+strconv.Itoa(i), noteDoc(id, alice, root, "reply", t0.Add(time.Duration(i+1)*time.Minute), replies...))
	}
	h.put("/notes/root", noteDoc(root, alice, "", "root", t0, rootReplies...))
	parent := h.url("/notes/r0")
	for d := 2; d <= 5; d++ {
		id := h.url("/notes/d" + strconv.Itoa(d))
		var replies []any
		if d < 5 {
			replies = []any{h.url("/notes/d" + strconv.Itoa(d+1))}
		}
		h.put("/notes/d"+strconv.Itoa(d), noteDoc(id, alice, parent, "deep", t0.Add(time.Hour+time.Duration(d)*time.Minute), replies...))
		parent = id
	}
	inst := threadInstance(t, ap.ThreadLimits{})
	if _, err := inst.Service.FetchThread(context.Background(), root); err != nil {
		t.Fatal(err)
	}
	got := threadIRIs(t, inst.DB, root)
	if len(got) != 15 {
		t.Fatalf("thread has %d posts; want 15:\n%s", len(got), strings.Join(got, "\n"))
	}
	if got[5] != "5 "+h.url("/notes/d5") {
		t.Errorf("deepest post at %q", got[5])
	}
}

// TestFetchThreadLoop: two posts that answer each other end the walk up
// and the walk down, and the stored thread reads once through.
func TestFetchThreadLoop(t *testing.T) {
	h := newFakeHost(t)
	alice := h.actor("alice")
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	x, y := h.url("/notes/x"), h.url("/notes/y")
	h.put("/notes/x", noteDoc(x, alice, y, "x", t0, y))
	h.put("/notes/y", noteDoc(y, alice, x, "y", t0.Add(time.Minute), x))
	inst := threadInstance(t, ap.ThreadLimits{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := inst.Service.FetchThread(ctx, x); err != nil {
		t.Fatal(err)
	}
	if n := h.hits.Load(); n > 4 {
		t.Errorf("%d requests for a loop of two posts", n)
	}
	got := threadIRIs(t, inst.DB, x)
	if len(got) != 2 {
		t.Errorf("thread of a loop: %q; want each post once", got)
	}
}

// TestFetchThreadBounds: a chain of 10,000 posts, each answering the
// previous one and listing the next as its reply, is read up to the
// limits and no further, and a server that never answers costs no more
// than the time limit.
func TestFetchThreadBounds(t *testing.T) {
	h := newFakeHost(t)
	alice := h.actor("alice")
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	h.dynamic = func(path string) any {
		n, err := strconv.Atoi(strings.TrimPrefix(path, "/notes/"))
		if err != nil || n < 0 || n >= 10000 {
			return nil
		}
		parent := ""
		if n > 0 {
			parent = h.url("/notes/" + strconv.Itoa(n-1))
		}
		return noteDoc(h.url(path), alice, parent, "link", t0.Add(time.Duration(n)*time.Second), h.url("/notes/"+strconv.Itoa(n+1)))
	}
	lim := ap.ThreadLimits{Ancestors: 30, Depth: 20, Fetches: 100, Time: 20 * time.Second}
	inst := threadInstance(t, lim)
	res, err := inst.Service.FetchThread(context.Background(), h.url("/notes/5000"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Root != h.url("/notes/4970") {
		t.Errorf("root %s; want 30 posts up", res.Root)
	}
	if res.Fetches > lim.Fetches || h.hits.Load() > int32(lim.Fetches) {
		t.Errorf("%d fetches, %d requests; limit %d", res.Fetches, h.hits.Load(), lim.Fetches)
	}
	if res.Stored > 1+30+20 {
		t.Errorf("stored %d posts; want at most the focus, 30 ancestors and 20 levels", res.Stored)
	}

	// A server that holds every request: the fetch ends at its deadline.
	slow := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer slow.Close()
	inst = threadInstance(t, ap.ThreadLimits{Ancestors: 5, Depth: 5, Fetches: 10, Time: 300 * time.Millisecond})
	start := time.Now()
	if _, err := inst.Service.FetchThread(context.Background(), slow.URL+"/notes/1"); err == nil {
		t.Error("a fetch of nothing reported success")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v; the limit was 300ms", d)
	}
	// A page waits for a slow thread only as long as it says.
	start = time.Now()
	if inst.Service.RefreshThread(context.Background(), slow.URL+"/notes/2", 50*time.Millisecond) {
		t.Error("a thread that cannot be fetched reported done")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the page waited %v", d)
	}
}
