package ap_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// get fetches path from the instance with an Accept header.
func get(t *testing.T, inst *aptest.Instance, path, accept string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, inst.Server.URL+path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	client := inst.Server.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// TestActorDocumentGolden pins the actor document other servers read.
func TestActorDocumentGolden(t *testing.T) {
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	for _, accept := range []string{
		"application/activity+json",
		`application/ld+json; profile="https://www.w3.org/ns/activitystreams"`,
		"application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\", text/html;q=0.1",
	} {
		resp, body := get(t, inst, "/users/me", accept)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("Accept %s: status %d", accept, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/activity+json; charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Error("no CORS header")
		}
		aptest.Golden(t, *update, "actor.json", body, inst.URLs.Domain(), "kith.test")
	}
	var doc map[string]any
	_, body := get(t, inst, "/users/me", "application/activity+json")
	json.Unmarshal(body, &doc)
	// The fields Mastodon requires, checked by name so the golden file is
	// not the only guard.
	for _, k := range []string{"@context", "id", "type", "preferredUsername", "inbox", "outbox", "followers", "following", "publicKey", "endpoints"} {
		if doc[k] == nil {
			t.Errorf("actor document lacks %s", k)
		}
	}
	if doc["id"] != inst.URLs.Actor() {
		t.Errorf("id = %v; want %s", doc["id"], inst.URLs.Actor())
	}
	pk, _ := doc["publicKey"].(map[string]any)
	if pk["id"] != inst.URLs.KeyID() || pk["owner"] != inst.URLs.Actor() {
		t.Errorf("publicKey = %v", pk)
	}
}

// TestActorRedirectsBrowsers: a browser asking for the actor URL is sent
// to the profile page.
func TestActorRedirectsBrowsers(t *testing.T) {
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	resp, _ := get(t, inst, "/users/me", "text/html,application/xhtml+xml")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != inst.URLs.Profile() {
		t.Errorf("status %d Location %q; want 302 to %s", resp.StatusCode, resp.Header.Get("Location"), inst.URLs.Profile())
	}
	if resp, _ := get(t, inst, "/users/someoneelse", "application/activity+json"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown user: status %d; want 404", resp.StatusCode)
	}
}

// TestInstanceActor: /actor is an Application with its own key.
func TestInstanceActor(t *testing.T) {
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	resp, body := get(t, inst, "/actor", "application/activity+json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	aptest.Golden(t, *update, "instance-actor.json", body, inst.URLs.Domain(), "kith.test")

	// Its collections exist, and each answers as an empty
	// OrderedCollection whose id is its own URL (GoToSocial resolves them).
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"outbox", "followers", "following", "featured"} {
		iri, _ := doc[k].(string)
		if !strings.HasPrefix(iri, inst.URLs.InstanceActor()+"/") {
			t.Errorf("%s = %v; want a URL under the instance actor", k, doc[k])
			continue
		}
		resp, body := get(t, inst, strings.TrimPrefix(iri, inst.URLs.Base()), "application/activity+json")
		var c map[string]any
		if err := json.Unmarshal(body, &c); resp.StatusCode != http.StatusOK || err != nil {
			t.Errorf("%s: status %d, %v", k, resp.StatusCode, err)
			continue
		}
		items, isList := c["orderedItems"].([]any)
		if c["id"] != iri || c["type"] != "OrderedCollection" || c["totalItems"] != 0.0 || !isList || len(items) != 0 || c["@context"] == nil {
			t.Errorf("%s = %v; want an empty OrderedCollection with id %s", k, c, iri)
		}
	}
}

// TestWebFinger covers the resource forms peers use, case, and errors.
func TestWebFinger(t *testing.T) {
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	d := inst.URLs.Domain()
	tests := []struct {
		resource string
		status   int
		subject  string
	}{
		{"acct:me@" + d, 200, "acct:me@" + d},
		{"acct:ME@" + strings.ToUpper(d), 200, "acct:me@" + d},
		{"me@" + d, 200, "acct:me@" + d},
		{"@me@" + d, 200, "acct:me@" + d},
		{inst.URLs.Actor(), 200, "acct:me@" + d},
		{inst.URLs.Profile(), 200, "acct:me@" + d},
		{"acct:" + d + "@" + d, 200, "acct:" + d + "@" + d},
		{"acct:other@" + d, 404, ""},
		{"acct:me@elsewhere.example", 404, ""},
		{"https://elsewhere.example/users/me", 404, ""},
		{"", 400, ""},
		{"foo", 400, ""},
		{"acct:me", 400, ""},
		{"acct:@" + d, 400, ""},
		{"https://", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.resource, func(t *testing.T) {
			resp, body := get(t, inst, "/.well-known/webfinger?resource="+urlQueryEscape(tt.resource), "")
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d; want %d", resp.StatusCode, tt.status)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Error("no CORS header")
			}
			if tt.status != 200 {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/jrd+json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			var jrd struct {
				Subject string
				Links   []struct{ Rel, Type, Href string }
			}
			json.Unmarshal(body, &jrd)
			if jrd.Subject != tt.subject {
				t.Errorf("subject = %q; want %q", jrd.Subject, tt.subject)
			}
			self := ""
			for _, l := range jrd.Links {
				if l.Rel == "self" && l.Type == "application/activity+json" {
					self = l.Href
				}
			}
			want := inst.URLs.Actor()
			if strings.HasPrefix(tt.subject, "acct:"+d+"@") {
				want = inst.URLs.InstanceActor()
			}
			// Byte-identical to the actor id: Mastodon's round trip demands it.
			if self != want {
				t.Errorf("self link = %q; want %q", self, want)
			}
		})
	}
}

func urlQueryEscape(s string) string {
	return strings.NewReplacer("%", "%25", ":", "%3A", "@", "%40", "/", "%2F", "?", "%3F", "#", "%23", "&", "%26", "+", "%2B", " ", "%20").Replace(s)
}

// TestHostMetaAndNodeInfo: the discovery documents are served with the
// right types and point at each other.
func TestHostMetaAndNodeInfo(t *testing.T) {
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	resp, body := get(t, inst, "/.well-known/host-meta", "")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/xrd+xml") {
		t.Errorf("host-meta Content-Type %q", ct)
	}
	if !strings.Contains(string(body), `template="`+inst.URLs.Base()+`/.well-known/webfinger?resource={uri}"`) {
		t.Errorf("host-meta lacks the lrdd template:\n%s", body)
	}
	resp, body = get(t, inst, "/.well-known/host-meta.json", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), "lrdd") {
		t.Errorf("host-meta.json: %d %s", resp.StatusCode, body)
	}

	_, body = get(t, inst, "/.well-known/nodeinfo", "")
	var links struct{ Links []struct{ Rel, Href string } }
	json.Unmarshal(body, &links)
	if len(links.Links) != 2 {
		t.Fatalf("nodeinfo links = %s", body)
	}
	for _, l := range links.Links {
		version := l.Href[strings.LastIndex(l.Href, "/")+1:]
		if !strings.HasSuffix(l.Rel, "/schema/"+version) {
			t.Errorf("link %s points at %s", l.Rel, l.Href)
		}
		resp, body := get(t, inst, strings.TrimPrefix(l.Href, inst.URLs.Base()), "")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", l.Href, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/`+version+`#"` {
			t.Errorf("%s Content-Type %q", l.Href, ct)
		}
		var ni struct {
			Version   string
			Software  struct{ Name, Version string }
			Protocols []string
			Usage     struct {
				Users struct{ Total int }
			}
			OpenRegistrations *bool
		}
		if err := json.Unmarshal(body, &ni); err != nil {
			t.Fatal(err)
		}
		if ni.Version != version || ni.Software.Name != "kith" || len(ni.Protocols) != 1 || ni.Protocols[0] != "activitypub" ||
			ni.Usage.Users.Total != 1 || ni.OpenRegistrations == nil || *ni.OpenRegistrations {
			t.Errorf("nodeinfo %s = %s", version, body)
		}
	}
	if resp, _ := get(t, inst, "/nodeinfo/1.0", ""); resp.StatusCode != 404 {
		t.Errorf("nodeinfo 1.0: status %d; want 404", resp.StatusCode)
	}
}

// TestCollections: outbox, followers, following and featured are
// OrderedCollections with totalItems and first (Mastodon treats a
// collection without first as hidden), and the pages list actor ids.
func TestCollections(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	remote := aptest.NewRemote(t, false)
	for i, name := range []string{"a", "b", "c"} {
		a := remote.AddActor(name, aptest.Key(t, "remote"))
		_ = i
		a.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(a, inst, name)))
	}
	inst.Service.ProcessInbox(ctx)

	for _, path := range []string{"/users/me/followers", "/users/me/following", "/users/me/outbox"} {
		resp, body := get(t, inst, path, "application/activity+json")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
		var c struct {
			Type       string
			TotalItems int
			First      string
		}
		json.Unmarshal(body, &c)
		if c.Type != "OrderedCollection" || c.First == "" {
			t.Errorf("%s = %s; want an OrderedCollection with first", path, body)
		}
		if path == "/users/me/followers" && c.TotalItems != 3 {
			t.Errorf("followers totalItems = %d; want 3", c.TotalItems)
		}
	}
	_, body := get(t, inst, "/users/me/followers?page=1", "application/activity+json")
	var page struct {
		Type         string
		PartOf       string
		OrderedItems []string
	}
	json.Unmarshal(body, &page)
	if page.Type != "OrderedCollectionPage" || page.PartOf != inst.URLs.Followers() || len(page.OrderedItems) != 3 {
		t.Errorf("followers page = %s", body)
	}
	for _, it := range page.OrderedItems {
		if !strings.HasPrefix(it, remote.Base+"/users/") {
			t.Errorf("follower item %q is not an actor id", it)
		}
	}
	for _, bad := range []string{"zero", "0", "2", "9223372036854775807"} {
		if resp, _ := get(t, inst, "/users/me/followers?page="+bad, "application/activity+json"); resp.StatusCode != 400 {
			t.Errorf("page=%s of a 1-page collection: status %d; want 400", bad, resp.StatusCode)
		}
	}
	if resp, _ := get(t, inst, "/users/me/following?page=1", "application/activity+json"); resp.StatusCode != 200 {
		t.Errorf("page 1 of an empty collection: status %d; want 200", resp.StatusCode)
	}
	resp, body := get(t, inst, "/users/me/collections/featured", "application/activity+json")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"OrderedCollection"`) {
		t.Errorf("featured: %d %s", resp.StatusCode, body)
	}
	_ = store.Accepted
}

// TestAcceptGolden pins the Accept we send, with fixed ids.
func TestAcceptGolden(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{NewID: aptest.Sequence("id")})
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	alice.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "1")))
	inst.Service.ProcessInbox(ctx)
	inst.Service.Deliverer().RunOnce(ctx)
	got := remote.Received()
	if len(got) != 1 {
		t.Fatalf("%d deliveries; want 1", len(got))
	}
	aptest.Golden(t, *update, "accept.json", got[0].Body, inst.URLs.Domain(), "kith.test", remote.Host, "remote.test")
}

// TestOutbox: the outbox counts exactly the posts its pages list (public
// and unlisted, not followers-only or deleted ones), newest first, paged
// by max_id.
func TestOutbox(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	publish := func(text, vis string) string {
		res, err := inst.Service.Publish(ctx, ap.Draft{Source: text, Visibility: vis})
		if err != nil {
			t.Fatal(err)
		}
		return res.Post.IRI
	}
	var visible []string
	for i := range 21 {
		vis := store.Public
		if i%5 == 0 {
			vis = store.Unlisted
		}
		visible = append(visible, publish(fmt.Sprintf("post %d", i), vis))
	}
	publish("for followers", store.Followers)
	gone := publish("deleted", store.Public)
	if err := inst.Service.DeletePost(ctx, gone[strings.LastIndex(gone, "/")+1:]); err != nil {
		t.Fatal(err)
	}

	type page struct {
		Type         string
		TotalItems   int
		First, Last  string
		Next         string
		OrderedItems []struct {
			Type   string
			Object struct{ ID string }
		}
	}
	read := func(path string) page {
		t.Helper()
		resp, body := get(t, inst, path, "application/activity+json")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
		var p page
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c := read("/users/me/outbox")
	if c.TotalItems != len(visible) || c.Last != "" {
		t.Errorf("outbox totalItems %d, last %q; want %d and no last page", c.TotalItems, c.Last, len(visible))
	}
	var got []string
	next := strings.TrimPrefix(c.First, inst.URLs.Base())
	for range 5 {
		if next == "" {
			break
		}
		p := read(next)
		for _, it := range p.OrderedItems {
			if it.Type != "Create" {
				t.Errorf("outbox item of type %s; want Create", it.Type)
			}
			got = append(got, it.Object.ID)
		}
		next = strings.TrimPrefix(p.Next, inst.URLs.Base())
	}
	// Posts published within one millisecond have ids in no set order, so
	// the pages are checked for newest-first ids and for the right set.
	if !slices.IsSortedFunc(got, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Errorf("outbox pages are not newest first:\n%v", got)
	}
	slices.Sort(got)
	slices.Sort(visible)
	if !slices.Equal(got, visible) {
		t.Errorf("outbox pages list\n%v\nwant\n%v", got, visible)
	}
}

// TestArticleForm checks the properties each peer reads of an Article
// (docs/federation.md, "Articles"): no name (GoToSocial would make it the
// content warning, snac's client API would drop the post), the title in
// nameMap for Mastodon, at the head of the content for everyone else, and
// a FEP-b2b8 preview; the content warning stays in summary.
func TestArticleForm(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	for _, tt := range []struct {
		name, lang, cw string
		wantKey        string
	}{
		{"no language", "", "", "und"},
		{"language and warning", "fr", "spoilers", "fr"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := inst.Service.Publish(ctx, ap.Draft{
				Title: "Title <&>", Source: "## Part\n\nFirst words.\n\nMore words.",
				Summary: tt.cw, Language: tt.lang, Visibility: store.Public,
			})
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(activityBody(t, inst, inst.URLs.PostActivity(pub.Post.LocalID)), &doc); err != nil {
				t.Fatal(err)
			}
			obj := doc["object"].(map[string]any)
			if obj["type"] != "Article" {
				t.Errorf("type = %v", obj["type"])
			}
			if _, ok := obj["name"]; ok {
				t.Errorf("name present: %v", obj["name"])
			}
			if nm, _ := obj["nameMap"].(map[string]any); nm[tt.wantKey] != "Title <&>" {
				t.Errorf("nameMap = %v; want the title under %q", obj["nameMap"], tt.wantKey)
			}
			head := `<p><a href="` + inst.URLs.PostPage(pub.Post.LocalID) + `"><strong>Title &lt;&amp;&gt;</strong></a></p>`
			if c, _ := obj["content"].(string); !strings.HasPrefix(c, head) || !strings.Contains(c, "More words.") {
				t.Errorf("content = %q; want the escaped title first, then the whole text", c)
			}
			if tt.cw == "" && obj["summary"] != nil || tt.cw != "" && obj["summary"] != tt.cw {
				t.Errorf("summary = %v; want the content warning only", obj["summary"])
			}
			prev, _ := obj["preview"].(map[string]any)
			if prev["type"] != "Note" || prev["content"] != head+"\n<p>First words.</p>" {
				t.Errorf("preview = %v", prev)
			}
		})
	}
}

// TestAuthorizedFetch: with the owner's setting on, the ActivityPub
// documents need a signed GET from a server that is not blocked (401
// unsigned, 200 signed, 403 from a blocked domain); the actor document
// stays readable unsigned with its technical fields only, as in
// Mastodon's secure mode; the instance actor, WebFinger and NodeInfo stay
// public, and browsers still get pages.
func TestAuthorizedFetch(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	friendly, hostile := aptest.NewRemote(t, false), aptest.NewRemote(t, false)
	alice := friendly.AddActor("alice", aptest.Key(t, "remote"))
	mallory := hostile.AddActor("mallory", aptest.Key(t, "remote"))
	if err := inst.DB.Block(ctx, hostile.Host, time.Now()); err != nil {
		t.Fatal(err)
	}
	pub, err := inst.Service.Publish(ctx, ap.Draft{Source: "Hello #kith", Visibility: store.Public})
	if err != nil {
		t.Fatal(err)
	}
	fetch := func(path string, by *aptest.RemoteActor) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, inst.Server.URL+path, nil)
		req.Header.Set("Accept", "application/activity+json")
		if by != nil {
			by.Sign(t, req, nil, time.Now())
		}
		resp, err := inst.Server.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc map[string]any
		json.NewDecoder(resp.Body).Decode(&doc)
		return resp.StatusCode, doc
	}
	guarded := []string{"/users/me/outbox", "/users/me/followers", "/users/me/following", "/users/me/collections/featured",
		strings.TrimPrefix(pub.Post.IRI, inst.URLs.Base()), strings.TrimPrefix(pub.Post.IRI, inst.URLs.Base()) + "/activity", "/tags/kith"}

	for _, path := range guarded {
		if code, _ := fetch(path, nil); code != http.StatusOK {
			t.Errorf("setting off: unsigned %s = %d; want 200", path, code)
		}
	}
	if err := inst.DB.SetAuthorizedFetch(ctx, true); err != nil {
		t.Fatal(err)
	}
	for _, path := range guarded {
		for _, tc := range []struct {
			by   *aptest.RemoteActor
			want int
		}{{nil, 401}, {alice, 200}, {mallory, 403}} {
			if code, _ := fetch(path, tc.by); code != tc.want {
				t.Errorf("%s signed by %v = %d; want %d", path, tc.by != nil, code, tc.want)
			}
		}
	}

	code, doc := fetch("/users/me", nil)
	if code != http.StatusOK || doc["publicKey"] == nil || doc["inbox"] == nil || doc["name"] != nil || doc["summary"] != nil {
		t.Errorf("unsigned actor = %d %v; want the technical fields only", code, doc)
	}
	if code, doc := fetch("/users/me", alice); code != http.StatusOK || doc["name"] == nil {
		t.Errorf("signed actor = %d %v; want the whole document", code, doc)
	}
	if code, _ := fetch("/users/me", mallory); code != http.StatusForbidden {
		t.Errorf("actor signed from a blocked domain = %d; want 403", code)
	}
	for _, path := range []string{"/actor", "/.well-known/webfinger?resource=acct:me@" + inst.URLs.Domain(), "/.well-known/nodeinfo", "/nodeinfo/2.1"} {
		if code, _ := fetch(path, nil); code != http.StatusOK {
			t.Errorf("unsigned %s = %d; want 200", path, code)
		}
	}
	if resp, _ := get(t, inst, "/users/me", "text/html"); resp.StatusCode != http.StatusFound {
		t.Errorf("a browser got %d; want the redirect to the profile", resp.StatusCode)
	}
}
