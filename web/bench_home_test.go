package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"kith/store"
	"kith/store/storetest"
	"kith/web"
)

// ownerCookie logs in through the form and returns the session cookie.
func ownerCookie(b *testing.B, db *store.DB, h http.Handler, base string) *http.Cookie {
	b.Helper()
	const password = "correct horse battery staple"
	hash, err := web.HashPassword(password)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.SetPasswordHash(context.Background(), hash, time.Now()); err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, base+"/login", strings.NewReader(url.Values{"password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if strings.HasSuffix(c.Name, "kith_session") {
			return c
		}
	}
	b.Fatalf("login: status %d, no session cookie", rec.Code)
	return nil
}

// withCookie sends every request with the owner's session.
type withCookie struct {
	h http.Handler
	c *http.Cookie
}

func (w withCookie) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	r = r.Clone(r.Context())
	r.AddCookie(w.c)
	w.h.ServeHTTP(rw, r)
}

// BenchmarkHomePage renders the owner's home timeline (20 cards with their
// authors, counts and the owner's own state) on a database holding 100,000
// remote posts by 10,000 cached actors, all on the timeline: issue 8's
// "/home render at 100,000 stored remote posts: p99 ≤ 5 ms", with the
// template floor of BenchmarkProfilePage:
//
//	go test -run='^$' -bench='HomePage|TemplateFloor' -benchtime=2000x -count=3 ./web
func BenchmarkHomePage(b *testing.B) {
	inst, h := benchSite(b)
	began := time.Now()
	actors := storetest.SeedActors(b, inst.DB.Path(), 10_000)
	sids := storetest.SeedHome(b, inst.DB.Path(), actors, seededPosts, benchContent)
	b.Logf("seeded %d actors and %d posts on the timeline in %s", len(actors), len(sids), time.Since(began).Round(time.Millisecond))
	owner := withCookie{h, ownerCookie(b, inst.DB, h, inst.URLs.Base())}
	for _, bc := range []struct{ name, path string }{
		{"newest", "/home"},
		{"older", "/home?max_id=" + sids[len(sids)/2]},
	} {
		rec := httptest.NewRecorder()
		owner.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, bc.path, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: status %d", bc.path, rec.Code)
		}
		if n := strings.Count(rec.Body.String(), `<article class="post card"`); n != 20 {
			b.Fatalf("GET %s shows %d cards; want 20", bc.path, n)
		}
		b.Run(bc.name, func(b *testing.B) { measurePage(b, owner, bc.path, rec.Body.Len()) })
	}
}
