package web

import (
	"context"
	"html"
	"image/color"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

// TestRepliesUnderOwnPosts (issue 7 item 4): visitors see only the replies
// the owner lets appear, with remote images through kith and media of other
// types only linked; the owner sees every reply with controls to show,
// hide or remove it, and a page of those waiting, with the policy of who
// may appear.
func TestRepliesUnderOwnPosts(t *testing.T) {
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	_, _, ann := k.followed("ann")
	own := k.publishPost("A post people answer", store.Public)
	id := own.LocalID
	reply := func(n int, approval string, edit func(p *store.Post)) *store.Post {
		return k.remotePost(ann, n, time.Now().Add(-time.Duration(10-n)*time.Minute), func(p *store.Post) {
			p.InReplyTo, p.Approval = own.IRI, approval
			if edit != nil {
				edit(p)
			}
		})
	}
	shown := reply(1, store.Shown, func(p *store.Post) {
		p.Attachments = []store.Attachment{
			{URL: "https://tracker.example/pixel.gif", MediaType: "text/html", Description: "pixel"},
			{URL: "https://img.example/cat.jpg", MediaType: "image/jpeg", Description: "a cat"},
		}
	})
	pending := reply(2, store.Pending, nil)
	page := "/@me/" + id

	body := k.visitor().get(page).Body.String()
	if !strings.Contains(body, "Remote post 1") || strings.Contains(body, "Remote post 2") {
		t.Fatalf("visitors see: want the shown reply only\n%s", body)
	}
	for _, bad := range []string{`src="https://tracker.example`, `src="https://img.example`, `action="/replies/`, "/avatars?"} {
		if strings.Contains(body, bad) {
			t.Errorf("the public page has %s", bad)
		}
	}
	if !strings.Contains(body, `alt="a cat"`) || !regexp.MustCompile(`<img src="/proxy/[0-9a-f]{32}\?url=https%3A%2F%2Fimg.example%2Fcat.jpg"`).MatchString(body) {
		t.Errorf("the image is not served through kith's proxy\n%s", body)
	}

	body = k.get(page).Body.String()
	for _, want := range []string{"Remote post 1", "Remote post 2", "waiting for your approval", `action="/replies/approval"`, `action="/replies/remove"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the owner's post page lacks %s", want)
		}
	}
	if body := k.get("/replies").Body.String(); !strings.Contains(body, "Remote post 2") || strings.Contains(body, "Remote post 1") ||
		!strings.Contains(body, `value="known" checked`) {
		t.Errorf("the approval list: want the waiting reply and the default policy\n%s", body)
	}
	if s := k.get("/settings").Body.String(); !strings.Contains(s, "1 reply waiting.") {
		t.Error("the settings index does not count the waiting reply")
	}

	act := func(path string, form url.Values) string {
		t.Helper()
		form.Set("back", page)
		rec := k.post(path, form)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("%s: status %d\n%s", path, rec.Code, rec.Body)
		}
		return location(t, rec)
	}
	if loc := act("/replies/approval", url.Values{"iri": {pending.IRI}, "approval": {"shown"}}); !strings.HasPrefix(loc, page+"?done=reply-shown") {
		t.Errorf("approve went to %s", loc)
	}
	loc := act("/replies/approval", url.Values{"iri": {shown.IRI}, "approval": {"hidden"}})
	if !strings.Contains(k.get(loc).Body.String(), "The reply is hidden: visitors no longer see it.") {
		t.Error("the post page does not say the reply was hidden")
	}
	body = k.visitor().get(page).Body.String()
	if strings.Contains(body, "Remote post 1") || !strings.Contains(body, "Remote post 2") {
		t.Errorf("after approving 2 and hiding 1, visitors see:\n%s", body)
	}
	if !strings.Contains(k.get("/replies/hidden").Body.String(), "Remote post 1") {
		t.Error("the hidden reply is not listed as hidden")
	}
	act("/replies/remove", url.Values{"iri": {shown.IRI}})
	if _, err := k.inst.DB.PostByIRI(ctx, shown.IRI); err == nil {
		t.Error("the removed reply is still stored")
	}
	if gone, _ := k.inst.DB.IsTombstoned(ctx, shown.IRI); !gone {
		t.Error("the removed reply would be taken in again")
	}
	if strings.Contains(k.get(page).Body.String(), "Remote post 1") {
		t.Error("the owner still sees the removed reply")
	}

	// The policy, and malformed forms.
	if loc := location(t, k.post("/settings/replies", url.Values{"policy": {"nobody"}})); loc != "/replies?saved=1" {
		t.Errorf("policy saved, sent to %s", loc)
	}
	if p, _ := k.inst.DB.ReplyPolicy(ctx); p != store.RepliesNobody {
		t.Errorf("policy %q; want nobody", p)
	}
	for _, tt := range []struct {
		path string
		form url.Values
		want int
	}{
		{"/settings/replies", url.Values{"policy": {"friends"}}, http.StatusBadRequest},
		{"/replies/approval", url.Values{"iri": {pending.IRI}, "approval": {"pending"}}, http.StatusBadRequest},
		{"/replies/approval", url.Values{"iri": {"https://nowhere.example/1"}, "approval": {"hidden"}}, http.StatusNotFound},
		{"/replies/remove", url.Values{"iri": {own.IRI}}, http.StatusNotFound}, // never our own posts
		{"/replies/remove", url.Values{"iri": {pending.IRI}, "csrf": {"forged"}}, http.StatusForbidden},
	} {
		if rec := k.post(tt.path, tt.form); rec.Code != tt.want {
			t.Errorf("%s %v: status %d; want %d", tt.path, tt.form, rec.Code, tt.want)
		}
	}
	if rec := k.visitor().post("/replies/remove", url.Values{"iri": {pending.IRI}}); rec.Code == http.StatusSeeOther && !strings.HasPrefix(location(t, rec), "/login") {
		t.Errorf("a visitor removed a reply")
	}
}

// TestMediaProxy: the proxy serves images a page of kith links to, from
// the cache after the first fetch; it refuses URLs it did not sign and
// files that are not images, whatever their header says.
func TestMediaProxy(t *testing.T) {
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	img := pngImage(t, 4, 4, color.RGBA{R: 200, A: 255})
	fetches := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches++
		w.Header().Set("Content-Type", "image/png")
		if r.URL.Path == "/cat.png" {
			w.Write(img)
			return
		}
		w.Write([]byte("<html><script>alert(1)</script></html>")) // a lie
	}))
	t.Cleanup(srv.Close)
	acct, err := k.inst.DB.Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v := k.visitor()
	good := k.h.proxyURL(acct, srv.URL+"/cat.png")
	for range 2 {
		rec := v.get(good)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/png" || rec.Body.Len() != len(img) {
			t.Fatalf("proxied image: status %d, type %q, %d bytes", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") {
			t.Errorf("CSP %q; want a sandbox", csp)
		}
	}
	if fetches != 1 {
		t.Errorf("%d fetches for two requests; want one, then the cache", fetches)
	}
	if rec := v.get(k.h.proxyURL(acct, srv.URL+"/page.png")); rec.Code != http.StatusNotFound {
		t.Errorf("HTML posing as an image: status %d; want 404", rec.Code)
	}
	forged := strings.Replace(good, "url=", "url="+url.QueryEscape(srv.URL+"/other.png")+"&x=", 1)
	for _, bad := range []string{forged, "/proxy/00?url=" + url.QueryEscape(srv.URL+"/cat.png"), html.UnescapeString("/proxy/abc")} {
		if rec := v.get(bad); rec.Code != http.StatusNotFound {
			t.Errorf("%s: status %d; want 404", bad, rec.Code)
		}
	}
	if fetches != 2 {
		t.Errorf("%d fetches; unsigned URLs must fetch nothing", fetches)
	}
}
