package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"kith/ap/aptest"
)

// TestOwnerPagesAreNotStored: every page the owner sees, and the login
// page, is sent with Cache-Control: no-store; the same public page seen
// by a visitor is not.
func TestOwnerPagesAreNotStored(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	if got := k.get("/login").Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("login page: Cache-Control %q; want no-store", got)
	}
	k.login()
	id := k.publish("A post", "public")
	for _, p := range []string{"/compose", "/settings", "/settings/profile", "/settings/password", "/settings/sessions",
		"/settings/deliveries", "/followers", "/edit/" + id, "/delete/" + id, "/@me", "/@me/" + id, "/tags/x", "/feeds"} {
		rec := k.get(p)
		if got := rec.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s for the owner: status %d, Cache-Control %q; want no-store", p, rec.Code, got)
		}
	}
	if got := k.visitor().get("/@me/" + id).Header().Get("Cache-Control"); got == "no-store" {
		t.Error("a visitor's post page is no-store; only the owner's pages need it")
	}
}

// TestFeedsHaveCSP: a feed opened in a browser may run and load nothing.
func TestFeedsHaveCSP(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	for _, p := range []string{"/feed.atom", "/feed.rss"} {
		if got := k.get(p).Header().Get("Content-Security-Policy"); got != "default-src 'none'; sandbox" {
			t.Errorf("%s: Content-Security-Policy %q", p, got)
		}
	}
}

// TestFeedsPage: the menu's Feed link leads to a page that explains feeds
// and gives both addresses, not to raw XML.
func TestFeedsPage(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	profile := k.get("/@me").Body.String()
	if !strings.Contains(profile, `<a href="/feeds">Feed</a>`) {
		t.Error("the menu's Feed link does not lead to /feeds")
	}
	rec := k.get("/feeds")
	body := rec.Body.String()
	for _, want := range []string{"feed reader", k.inst.URLs.Base() + "/feed.atom", k.inst.URLs.Base() + "/feed.rss", "@" + k.inst.URLs.Acct()} {
		if rec.Code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("/feeds: status %d, lacks %q", rec.Code, want)
		}
	}
}

// TestLoginOverPlainHTTP: when kith's address is https but the browser
// came over plain HTTP with no proxy in front, the login page says why
// logging in cannot work, instead of silently sending the owner back.
// Behind a proxy, or for a local domain, it says nothing of the kind.
func TestLoginOverPlainHTTP(t *testing.T) {
	t.Parallel()
	secure := newKit(t, aptest.InstanceOptions{}, func(c *Config) { c.SecureCookies = true })
	const notice = "This page came over plain HTTP"
	if body := secure.get("/login").Body.String(); !strings.Contains(body, notice) || !strings.Contains(body, secure.inst.URLs.Base()+"/login") {
		t.Errorf("plain HTTP to an https site: the login page does not explain:\n%s", body)
	}
	proxied := httptest.NewRequest(http.MethodGet, "/login", nil)
	proxied.Header.Set("X-Forwarded-For", "203.0.113.9")
	if body := secure.do(proxied).Body.String(); strings.Contains(body, notice) {
		t.Error("behind a proxy, the login page warns about plain HTTP")
	}
	local := newKit(t, aptest.InstanceOptions{}, func(c *Config) { c.LocalOnly = true })
	body := local.get("/login").Body.String()
	if strings.Contains(body, notice) || !strings.Contains(body, "Only on this network.") {
		t.Errorf("a local site's login page: want the local banner and no plain-HTTP warning:\n%s", body)
	}
}

// TestLoginNamesPasswdCommand: the hint names the command that works for
// this installation.
func TestLoginNamesPasswdCommand(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"", "go run . passwd"} {
		k := newKit(t, aptest.InstanceOptions{}, func(c *Config) { c.PasswdCommand = cmd })
		want := "<code>" + cmd + "</code>"
		if cmd == "" {
			want = "<code>kith passwd</code>"
		}
		if body := k.get("/login").Body.String(); !strings.Contains(body, want) {
			t.Errorf("PasswdCommand %q: the login page lacks %s", cmd, want)
		}
	}
}
