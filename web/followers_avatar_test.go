package web

import (
	"bytes"
	"context"
	"image/color"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

// TestFollowersShowAvatarsAndApproval: the followers page shows each
// follower's avatar, fetched by kith so the browser never contacts their
// server, and the day they were approved rather than the day they asked.
// Only images come back, only for actors kith knows, only to the owner.
func TestFollowersShowAvatarsAndApproval(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	asked := time.Now().UTC() // signed requests must carry a fresh Date
	clock := aptest.NewClock(asked)
	k := newKit(t, aptest.InstanceOptions{Locked: true, Now: clock.Now})
	_, alice := k.addFollower()

	png := pngImage(t, 8, 8, color.RGBA{R: 90, G: 20, B: 160, A: 255})
	icons := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/alice.png" {
			w.Header().Set("Content-Type", "image/png")
			w.Write(png)
			return
		}
		w.Header().Set("Content-Type", "image/png") // a lie
		w.Write([]byte("<html><script>alert(1)</script></html>"))
	}))
	t.Cleanup(icons.Close)
	a, err := k.inst.DB.ActorByIRI(ctx, alice.IRI)
	if err != nil {
		t.Fatal(err)
	}
	a.IconURL = icons.URL + "/alice.png"
	if err := k.inst.DB.Update(ctx, func(tx *store.Tx) error { return tx.PutActor(ctx, a) }); err != nil {
		t.Fatal(err)
	}

	k.login()
	clock.Advance(48 * time.Hour)
	if rec := k.post("/followers", url.Values{"actor": {alice.IRI}, "action": {"approve"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("approve: status %d", rec.Code)
	}
	page := k.get("/followers").Body.String()
	proxied := "/avatars?actor=" + url.QueryEscape(alice.IRI)
	for _, want := range []string{`src="` + strings.ReplaceAll(proxied, "&", "&amp;") + `"`, "follows you since", humanDate(asked.Add(48 * time.Hour))} {
		if !strings.Contains(page, want) {
			t.Errorf("followers page lacks %q", want)
		}
	}
	if strings.Contains(page, humanDate(asked)) || strings.Contains(page, icons.URL) {
		t.Error("the followers page shows the request date, or links the avatar on its server")
	}

	rec := k.get(proxied)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/png" || !bytes.Equal(rec.Body.Bytes(), png) {
		t.Fatalf("avatar: status %d, type %q, %d bytes; want the PNG", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
	}
	if cc := rec.Header().Get("Cache-Control"); !strings.HasPrefix(cc, "private") {
		t.Errorf("avatar Cache-Control %q; want private", cc)
	}
	if rec := k.visitor().get(proxied); rec.Code != http.StatusSeeOther {
		t.Errorf("a visitor asking for the avatar: status %d; want 303 to the login page", rec.Code)
	}
	if rec := k.get("/avatars?actor=" + url.QueryEscape(icons.URL+"/alice.png")); rec.Code != http.StatusNotFound {
		t.Errorf("an unknown actor: status %d; want 404 (no open proxy)", rec.Code)
	}
	a.IconURL = icons.URL + "/page.html"
	if err := k.inst.DB.Update(ctx, func(tx *store.Tx) error { return tx.PutActor(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	if rec := k.get(proxied); rec.Code != http.StatusNotFound {
		t.Errorf("an icon that is HTML: status %d, type %q; want 404", rec.Code, rec.Header().Get("Content-Type"))
	}
}
