package mastoapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"kith/ap/aptest"
)

// searchAnswer is what GET /api/v2/search returns.
type searchAnswer struct {
	Accounts []Account        `json:"accounts"`
	Statuses []map[string]any `json:"statuses"`
	Hashtags []Tag            `json:"hashtags"`
}

// TestSearchStatuses: words of received remote posts and of the owner's
// own are found through the full-text index, as the Status entities the
// timelines serve, paged with limit and offset, narrowed by account_id,
// without muted accounts' or blocked servers' posts, and never for an app-only token.
func TestSearchStatuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	tok := k.login("read write follow")
	remote := aptest.NewRemote(t, false)
	bob := remote.AddActor("bob", aptest.Key(t, "remote"))
	carol := remote.AddActor("carol", aptest.Key(t, "remote2"))
	for i := 1; i <= 3; i++ {
		k.mentionOwner(remote, bob, map[string]any{"id": fmt.Sprintf("%s/notes/%d", bob.IRI, i), "type": "Note",
			"content": fmt.Sprintf("<p>@me the marmalade batch %d is ready</p>", i)})
	}
	k.mentionOwner(remote, carol, map[string]any{"id": carol.IRI + "/notes/1", "type": "Note", "content": "<p>@me marmalade is overrated</p>"})
	mine := decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, form: url.Values{"status": {"Seville oranges make the best marmalade #Preserves"}}}), 200)
	bobActor, err := k.inst.Service.ResolveActor(ctx, "@bob@"+remote.Host)
	if err != nil {
		t.Fatal(err)
	}
	bobID := strconv.FormatInt(bobActor.ID, 10)
	carolActor, err := k.inst.Service.ResolveActor(ctx, "@carol@"+remote.Host)
	if err != nil {
		t.Fatal(err)
	}

	search := func(query string) searchAnswer {
		t.Helper()
		return decode[searchAnswer](t, k.do(request{method: "GET", path: "/api/v2/search?" + query, token: tok}), 200)
	}
	ids := func(a searchAnswer) []string {
		var out []string
		for _, s := range a.Statuses {
			out = append(out, s["id"].(string))
		}
		return out
	}

	// One word of one post: that status, the very entity GET
	// /api/v1/statuses/:id serves, by its author.
	got := search("q=batch+2")
	if len(got.Statuses) != 1 {
		t.Fatalf("batch 2: %+v", got.Statuses)
	}
	s := got.Statuses[0]
	if acct := s["account"].(map[string]any); acct["id"] != bobID || acct["acct"] != "bob@"+remote.Host {
		t.Errorf("author: %v", acct)
	}
	if s["uri"] != bob.IRI+"/notes/2" || !strings.Contains(s["content"].(string), "marmalade batch 2") || s["visibility"] != "public" {
		t.Errorf("status fields: uri %v content %v visibility %v", s["uri"], s["content"], s["visibility"])
	}
	direct := decode[map[string]any](t, k.do(request{method: "GET", path: "/api/v1/statuses/" + s["id"].(string), token: tok}), 200)
	if a, b := jsonOf(t, s), jsonOf(t, direct); a != b {
		t.Errorf("search's status differs from GET /api/v1/statuses/:id:\n%s\n%s", a, b)
	}

	// Every post with the word, the owner's among them; limit and offset
	// page through them without repeats.
	all := ids(search("q=marmalade"))
	if len(all) != 5 || !slices.Contains(all, mine.ID) {
		t.Fatalf("marmalade: %v, want 5 with the owner's %s", all, mine.ID)
	}
	first, rest := ids(search("q=marmalade&type=statuses&limit=2")), ids(search("q=marmalade&type=statuses&limit=2&offset=2"))
	if len(first) != 2 || len(rest) != 2 || !reflect.DeepEqual(append(first, rest...), all[:4]) {
		t.Errorf("pages %v %v, want %v", first, rest, all[:4])
	}
	if got := ids(search("q=marmalade&limit=2&offset=9223372036854775807")); len(got) != 0 {
		t.Errorf("past the window: %v", got)
	}
	if got := ids(search("q=marmalade&account_id=" + bobID)); len(got) != 3 {
		t.Errorf("account_id bob: %v", got)
	}
	if got := ids(search("q=marmalade&account_id=0")); !reflect.DeepEqual(got, []string{mine.ID}) {
		t.Errorf("account_id owner: %v", got)
	}
	if got := ids(search("q=marmalade&account_id=999999")); len(got) != 0 {
		t.Errorf("account_id unknown: %v", got)
	}

	// Hashtags kith knows that start with the word.
	if got := search("q=preserv"); len(got.Hashtags) != 1 || got.Hashtags[0].Name != "preserves" || got.Statuses == nil {
		t.Errorf("hashtags: %+v", got.Hashtags)
	}

	// Other types answer no statuses.
	for _, typ := range []string{"accounts", "hashtags"} {
		if got := search("q=marmalade&type=" + typ); len(got.Statuses) != 0 {
			t.Errorf("type=%s: %d statuses", typ, len(got.Statuses))
		}
	}

	// A muted account's posts are not found.
	if rec := k.do(request{method: "POST", path: "/api/v1/accounts/" + strconv.FormatInt(carolActor.ID, 10) + "/mute", token: tok}); rec.Code != 200 {
		t.Fatalf("mute: %d %s", rec.Code, rec.Body)
	}
	if got := search("q=overrated"); len(got.Statuses) != 0 {
		t.Errorf("muted author's post found: %v", ids(got))
	}
	if got := ids(search("q=marmalade")); len(got) != 4 {
		t.Errorf("after the mute: %v", got)
	}
	// An app-only token is not the owner: no statuses.
	app := k.register(oob, "read")
	cc := decode[tokenJSON](t, k.do(request{method: "POST", path: "/oauth/token", form: url.Values{
		"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "scope": {"read"},
	}}), http.StatusOK)
	rec := k.do(request{method: "GET", path: "/api/v2/search?q=marmalade", token: cc.AccessToken})
	if rec.Code != http.StatusUnprocessableEntity || strings.Contains(rec.Body.String(), "marmalade") {
		t.Errorf("app token: %d %s", rec.Code, rec.Body)
	}
	// read:search alone is enough for the owner.
	narrow := k.login("read:search")
	if got := decode[searchAnswer](t, k.do(request{method: "GET", path: "/api/v2/search?q=batch+1", token: narrow}), 200); len(got.Statuses) != 1 {
		t.Errorf("read:search token: %v", ids(got))
	}
	// Nor, at last, are the posts of a blocked server: the rule is store.SearchPosts'
	// own, the search page's.
	if rec := k.do(request{method: "POST", path: "/api/v1/domain_blocks", token: tok, form: url.Values{"domain": {remote.Host}}}); rec.Code != 200 {
		t.Fatalf("domain block: %d %s", rec.Code, rec.Body)
	}
	if got := ids(search("q=marmalade")); !reflect.DeepEqual(got, []string{mine.ID}) {
		t.Errorf("after the domain block: %v; want only the owner's", got)
	}

}

// jsonOf is v as JSON, for comparing entities.
func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
