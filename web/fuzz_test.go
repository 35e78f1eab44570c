package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"kith/ap/aptest"
)

// FuzzRequests sends arbitrary requests, as a visitor and as the logged-in
// owner, to every page: none may panic or answer 5xx. A 5xx here means a
// handler met input it did not expect.
func FuzzRequests(f *testing.F) {
	for _, seed := range []struct{ method, target, body string }{
		{"GET", "/@me", ""},
		{"GET", "/@me?before=zzz&after=000", ""},
		{"GET", "/@me/%00", ""},
		{"GET", "/tags/%ff%fe", ""},
		{"GET", "/followers?page=99999999999999999999", ""},
		{"POST", "/followers", "actor=x&action=approve"},
		{"POST", "/compose", "text=%40a%40b&action=preview"},
		{"POST", "/login", "password=x&next=/%09/x"},
		{"GET", "/media/..%2f..%2fetc.png", ""},
		{"GET", "/settings/deliveries?retried=x&n=-1", ""},
		{"POST", "/pin/zzz", "pin=1"},
		{"GET", "/feed.atom", ""},
		{"GET", "/people?acct=%40a%40b%40c", ""},
		{"GET", "/people?actor=https%3A%2F%2F127.0.0.1%3A1%2Fx", ""},
		{"POST", "/people", "actor=x&action=block"},
		{"GET", "/following?page=-1", ""},
		{"POST", "/following", "actor=%40x%40y"},
		{"GET", "/settings/blocks?done=unblock&who=%3Cb%3E", ""},
		{"POST", "/settings/blocks", "target=x&action=unblock-domain"},
		{"POST", "/settings/blocks", "target=https%3A%2F%2Fnowhere.invalid%2Fu&action=unblock"},
	} {
		f.Add(seed.method, seed.target, seed.body)
	}
	quiet := slog.New(slog.DiscardHandler)
	visitor := newKit(f, aptest.InstanceOptions{Logger: quiet}, func(c *Config) { c.Logger = quiet })
	owner := *visitor
	owner.login()
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n") {
			return
		}
		if _, err := url.ParseRequestURI(target); err != nil {
			return
		}
		switch method {
		case "GET", "POST", "HEAD":
		default:
			return
		}
		// The kits' helpers report to this iteration's t, not to f.
		v, o := *visitor, owner
		v.t, o.t = t, t
		for _, c := range []*kit{&v, &o} {
			form := url.Values{}
			if q, err := url.ParseQuery(body); err == nil {
				form = q
			}
			if c.csrf != "" && !form.Has("csrf") {
				form.Set("csrf", c.csrf)
			}
			req := httptest.NewRequest(method, target, bytes.NewBufferString(form.Encode()))
			if method == "POST" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			rec := c.do(req)
			if rec.Code >= 500 {
				t.Fatalf("%s %s (body %q): status %d\n%s", method, target, body, rec.Code, rec.Body)
			}
			if rec.Code == http.StatusOK && method == "GET" && rec.Body.Len() == 0 {
				t.Fatalf("%s %s: 200 with an empty body", method, target)
			}
		}
	})
}
