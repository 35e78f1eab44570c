package mastoapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
)

// goldenKit is an instance with a fixed clock and ids, so its answers can
// be compared with golden files.
func goldenKit(t *testing.T) (*kit, *aptest.Clock) {
	clock := aptest.NewClock(time.Date(2026, 12, 6, 10, 30, 15, 250e6, time.UTC))
	k := newKit(t, aptest.InstanceOptions{Now: clock.Now, NewID: aptest.Sequence("01jeh0000000000000000000")})
	ctx := context.Background()
	if _, err := k.inst.Service.UpdateProfile(ctx, ap.ProfileInput{
		DisplayName: "Me Myself", Bio: "I write *here*.",
		Fields: []store.Field{{Name: "Site", Value: "https://me.example"}},
	}); err != nil {
		t.Fatal(err)
	}
	fixedVAPIDKey(t, k)
	return k, clock
}

// golden compares an answer with testdata/golden/name, with the test
// server's address replaced by kith.test.
func (k *kit) golden(t *testing.T, name string, rec interface{ Result() *http.Response }, body []byte) {
	t.Helper()
	aptest.Golden(t, *update, name, body, k.inst.URLs.Domain(), "kith.test")
}

// TestEntitiesGolden: Account (with source), Status (with media, mention,
// tag, reply, edit), MediaAttachment and both instance answers, exactly
// as kith sends them.
func TestEntitiesGolden(t *testing.T) {
	k, clock := goldenKit(t)
	tok := k.login("read write follow")

	rec := k.do(request{method: "GET", path: "/api/v1/accounts/verify_credentials", token: tok})
	if rec.Code != 200 {
		t.Fatalf("verify_credentials: %d %s", rec.Code, rec.Body)
	}
	k.golden(t, "account-credentials.json", rec, rec.Body.Bytes())

	body, ct := multipartBody(t, url.Values{"description": {"A gradient"}, "focus": {"0.5,-0.25"}}, "file", "g.png", pngImage(t, 40, 30))
	rec = k.do(request{method: "POST", path: "/api/v2/media", token: tok, body: body, contentType: ct})
	if rec.Code != 200 {
		t.Fatalf("upload: %d %s", rec.Code, rec.Body)
	}
	k.golden(t, "media.json", rec, rec.Body.Bytes())
	var m MediaAttachment
	json.Unmarshal(rec.Body.Bytes(), &m)

	clock.Advance(time.Minute)
	first := decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, form: url.Values{"status": {"First"}}}), 200)
	clock.Advance(time.Minute)
	rec = k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, json: map[string]any{
		"status": "Hello #kith, see @me@" + k.inst.URLs.Domain(), "media_ids": []string{m.ID}, "in_reply_to_id": first.ID,
		"visibility": "unlisted", "spoiler_text": "greeting", "language": "en",
	}})
	if rec.Code != 200 {
		t.Fatalf("post: %d %s", rec.Code, rec.Body)
	}
	k.golden(t, "status.json", rec, rec.Body.Bytes())
	st := decode[Status](t, rec, 200)

	clock.Advance(time.Minute)
	rec = k.do(request{method: "PUT", path: "/api/v1/statuses/" + st.ID, token: tok, json: map[string]any{
		"status": "Hello again #kith", "media_ids": []string{m.ID},
	}})
	if rec.Code != 200 {
		t.Fatalf("edit: %d %s", rec.Code, rec.Body)
	}
	k.golden(t, "status-edited.json", rec, rec.Body.Bytes())
	rec = k.do(request{method: "GET", path: "/api/v1/statuses/" + st.ID + "/history", token: tok})
	k.golden(t, "status-history.json", rec, rec.Body.Bytes())

	for _, name := range []string{"v1", "v2"} {
		rec := k.do(request{method: "GET", path: "/api/" + name + "/instance"})
		if rec.Code != 200 {
			t.Fatalf("instance %s: %d", name, rec.Code)
		}
		k.golden(t, "instance-"+name+".json", rec, rec.Body.Bytes())
	}
}

// TestEntityRules: the rules clients break on, checked on every status
// and account kith sends in these tests: string ids, times with
// milliseconds, non-null avatar and header, acct without domain for the
// owner, arrays never null.
func TestEntityRules(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	tok := k.login("read write")
	k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, form: url.Values{"status": {"one"}}})
	rec := k.do(request{method: "GET", path: "/api/v1/accounts/0/statuses", token: tok})
	var list []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list) != 1 {
		t.Fatalf("statuses: %v %s", err, rec.Body)
	}
	ms := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	s := list[0]
	if _, ok := s["id"].(string); !ok || !ms.MatchString(s["created_at"].(string)) {
		t.Errorf("id %v, created_at %v", s["id"], s["created_at"])
	}
	for _, key := range []string{"media_attachments", "mentions", "tags", "emojis"} {
		if _, ok := s[key].([]any); !ok {
			t.Errorf("%s is %v, want an array", key, s[key])
		}
	}
	a := s["account"].(map[string]any)
	if a["acct"] != "me" || a["id"] != ownerID || !strings.HasPrefix(a["avatar"].(string), "https://") || !strings.HasPrefix(a["header"].(string), "https://") {
		t.Errorf("account %v", a)
	}
	for _, p := range []string{"/api/kith/avatar.png", "/api/kith/header.png"} {
		rec := k.do(request{method: "GET", path: p})
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" || !strings.HasPrefix(rec.Body.String(), "\x89PNG") {
			t.Errorf("%s: %d %s", p, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}
