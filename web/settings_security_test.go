package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"kith/ap/aptest"
)

// TestSettingsIndex: /settings lists every settings page, for the owner
// only.
func TestSettingsIndex(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	if rec := k.get("/settings"); rec.Code != http.StatusSeeOther || location(t, rec) != "/login?next=%2Fsettings" {
		t.Fatalf("visitor: status %d to %q; want 303 to the login page", rec.Code, rec.Header().Get("Location"))
	}
	k.login()
	rec := k.get("/settings")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d; want 200", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{`href="/settings/profile"`, `href="/settings/password"`, `href="/settings/sessions"`, `href="/settings/deliveries"`,
		"1 browser logged in.", "Nothing waiting to be sent."} {
		if !strings.Contains(body, want) {
			t.Errorf("settings index lacks %q", want)
		}
	}
	// Every owner page links to it from the menu.
	if page := k.get("/compose").Body.String(); !strings.Contains(page, `<a href="/settings">Settings</a>`) {
		t.Error("the menu has no link to /settings")
	}
}

// TestChangePassword: the current password is required, the new one must
// be typed twice and be long enough; once changed, the old password and
// every other browser's session stop working, and this browser stays
// logged in.
func TestChangePassword(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	other := k.visitor()
	other.login()

	const newPassword = "a new and longer one"
	for _, tt := range []struct {
		name             string
		current, n, conf string
		want             string
	}{
		{"wrong current", "not it at all", newPassword, newPassword, "The current password is not right"},
		{"mismatch", testPassword, newPassword, newPassword + "x", "The two new passwords differ"},
		{"too short", testPassword, "short", "short", "at least 10 characters"},
		{"unchanged", testPassword, testPassword, testPassword, "is the one you have"},
	} {
		rec := k.post("/settings/password", url.Values{"current": {tt.current}, "new": {tt.n}, "confirm": {tt.conf}})
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("%s: status %d, notice %q; want 422 saying %q", tt.name, rec.Code, errorNotice(rec.Body.String()), tt.want)
		}
	}
	if rec := other.get("/compose"); rec.Code != http.StatusOK {
		t.Fatalf("refused changes ended the other session: status %d", rec.Code)
	}

	rec := k.post("/settings/password", url.Values{"current": {testPassword}, "new": {newPassword}, "confirm": {newPassword}})
	if rec.Code != http.StatusSeeOther || location(t, rec) != "/settings/password?changed=1" {
		t.Fatalf("change: status %d to %q\n%s", rec.Code, rec.Header().Get("Location"), errorNotice(rec.Body.String()))
	}
	var fresh *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == "kith_session" {
			fresh = c
		}
	}
	if fresh == nil {
		t.Fatal("no new session cookie after the change")
	}
	if rec := k.get("/settings"); rec.Code != http.StatusSeeOther {
		t.Errorf("the old session of this browser: status %d; want it ended (303)", rec.Code)
	}
	k.cookie = fresh
	if rec := k.get("/settings/password?changed=1"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Password changed.") {
		t.Errorf("this browser after the change: status %d; want 200 with a notice", rec.Code)
	}
	if rec := other.get("/compose"); rec.Code != http.StatusSeeOther {
		t.Errorf("the other browser after the change: status %d; want 303 to the login page", rec.Code)
	}
	v := k.visitor()
	if rec := v.post("/login", url.Values{"password": {testPassword}}); rec.Code != http.StatusUnauthorized {
		t.Errorf("the old password: status %d; want 401", rec.Code)
	}
	// The old password just counted as a wrong one, which the owner is
	// told about.
	if rec := v.post("/login", url.Values{"password": {newPassword}}); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "1 wrong password was tried") {
		t.Errorf("the new password: status %d; want 200 with the notice of one wrong password", rec.Code)
	}
}

// TestSessionsPage: every logged-in browser is listed with where it came
// from; one can be logged out alone, or all at once.
func TestSessionsPage(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	phone := k.visitor()
	phone.login()
	third := k.visitor()
	third.login()

	page := k.get("/settings/sessions").Body.String()
	if n := strings.Count(page, `name="session"`); n != 3 {
		t.Errorf("%d sessions listed; want 3", n)
	}
	if n := strings.Count(page, "this browser"); n != 1 {
		t.Errorf(`"this browser" appears %d times; want once`, n)
	}
	if !strings.Contains(page, "from 192.0.2.1") {
		t.Errorf("the page does not say where the browsers came from:\n%s", page)
	}

	// Log out the phone only.
	sessions, err := k.inst.DB.Sessions(context.Background(), k.h.now())
	if err != nil {
		t.Fatal(err)
	}
	phoneID := hashToken(phone.cookie.Value)
	found := false
	for _, s := range sessions {
		found = found || s.TokenHash == phoneID
	}
	if !found {
		t.Fatal("the phone's session is not stored")
	}
	rec := k.post("/settings/sessions", url.Values{"session": {phoneID}})
	if rec.Code != http.StatusSeeOther || location(t, rec) != "/settings/sessions?ended=1" {
		t.Fatalf("end one: status %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := phone.get("/compose"); rec.Code != http.StatusSeeOther {
		t.Errorf("the phone after being logged out: status %d; want 303 to the login page", rec.Code)
	}
	for _, c := range []*kit{k, third} {
		if rec := c.get("/compose"); rec.Code != http.StatusOK {
			t.Errorf("another browser after the phone was logged out: status %d; want 200", rec.Code)
		}
	}

	// Everywhere, this browser included.
	rec = k.post("/settings/sessions", url.Values{"all": {"1"}})
	if rec.Code != http.StatusSeeOther || location(t, rec) != "/login?ended=all" {
		t.Fatalf("end all: status %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	for _, c := range []*kit{k, third} {
		if rec := c.get("/compose"); rec.Code != http.StatusSeeOther {
			t.Errorf("a browser after logging out everywhere: status %d; want 303", rec.Code)
		}
	}
	if body := k.visitor().get("/login?ended=all").Body.String(); !strings.Contains(body, "You are logged out everywhere.") {
		t.Error("the login page does not confirm the logout")
	}
}

func TestAgentName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ ua, want string }{
		{"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36", "Chrome on Android"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iPhone"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", "Edge on Windows"},
		{"", "Unknown browser"},
	} {
		if got := agentName(tt.ua); got != tt.want {
			t.Errorf("agentName(%q) = %q; want %q", tt.ua, got, tt.want)
		}
	}
}
