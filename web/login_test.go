package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"kith/ap/aptest"
)

// TestLoginSetsSessionCookie: the right password starts a session whose
// cookie scripts cannot read and other sites do not send on POSTs, and
// that is Secure (with the __Host- prefix) over HTTPS.
func TestLoginSetsSessionCookie(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{false, true} {
		t.Run("secure="+strconv.FormatBool(secure), func(t *testing.T) {
			k := newKit(t, aptest.InstanceOptions{}, func(c *Config) { c.SecureCookies = secure })
			rec := k.post("/login", url.Values{"password": {testPassword}})
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("status %d; want 303", rec.Code)
			}
			if got := location(t, rec); got != "/compose" {
				t.Errorf("redirect to %q; want /compose", got)
			}
			cookies := rec.Result().Cookies()
			if len(cookies) != 1 {
				t.Fatalf("%d cookies; want 1", len(cookies))
			}
			c := cookies[0]
			wantName := "kith_session"
			if secure {
				wantName = "__Host-kith_session"
			}
			if c.Name != wantName || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure || c.Path != "/" {
				t.Errorf("cookie %s HttpOnly=%v SameSite=%v Secure=%v Path=%q; want %s, HttpOnly, Lax, Secure=%v, /",
					c.Name, c.HttpOnly, c.SameSite, c.Secure, c.Path, wantName, secure)
			}
			k.cookie = c
			if rec := k.get("/compose"); rec.Code != http.StatusOK {
				t.Errorf("compose with the new session: status %d; want 200", rec.Code)
			}
		})
	}
}

// TestLoginKeepsNext: a login started from an owner page returns to it,
// and only to a path on this site.
func TestLoginKeepsNext(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	rec := k.get("/settings/deliveries")
	if rec.Code != http.StatusSeeOther || location(t, rec) != "/login?next=%2Fsettings%2Fdeliveries" {
		t.Fatalf("visitor on an owner page: status %d to %q; want 303 to the login page", rec.Code, rec.Header().Get("Location"))
	}
	for _, tt := range []struct{ next, want string }{
		{"/settings/deliveries", "/settings/deliveries"},
		{"/@me/01ABC?x=1#top", "/@me/01ABC?x=1#top"},
		{"//evil.example/", "/compose"},
		{"https://evil.example/", "/compose"},
		{"/\\evil.example/", "/compose"},
		{"/\t/evil.example/", "/compose"}, // browsers drop the tab: //evil.example
		{"/\n/evil.example/", "/compose"},
		{"/%0a/evil.example/", "/%0a/evil.example/"}, // escaped, it stays a path
	} {
		rec := k.post("/login", url.Values{"password": {testPassword}, "next": {tt.next}})
		if got := location(t, rec); got != tt.want {
			t.Errorf("next=%q: redirect to %q; want %q", tt.next, got, tt.want)
		}
	}
}

// TestLoginRefusesWrongPassword: a wrong password gets 401 and no cookie,
// and the sixth wrong one within the window gets 429 with Retry-After,
// even when it is finally right.
func TestLoginRefusesWrongPassword(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	for i := 1; i <= 5; i++ {
		rec := k.post("/login", url.Values{"password": {"wrong password " + strconv.Itoa(i)}})
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: status %d; want 401", i, rec.Code)
		}
		if c := rec.Result().Cookies(); len(c) != 0 {
			t.Fatalf("wrong password %d set cookies %v", i, c)
		}
	}
	rec := k.post("/login", url.Values{"password": {testPassword}})
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("sixth attempt: status %d; want 429", rec.Code)
	}
	if s, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || s <= 0 {
		t.Errorf("Retry-After %q; want a number of seconds", rec.Header().Get("Retry-After"))
	}
	if c := rec.Result().Cookies(); len(c) != 0 {
		t.Errorf("a refused attempt set cookies %v", c)
	}
}

// TestLoginLimitHoldsForParallelGuesses: a burst of simultaneous wrong
// passwords from one address gets no more password checks than the limit
// allows; the rest are refused with 429 before bcrypt runs. A correct
// password afterwards clears that address's count.
func TestLoginLimitHoldsForParallelGuesses(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	const burst = 30
	codes := make(chan int, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() {
			codes <- k.post("/login", url.Values{"password": {"guess " + strconv.Itoa(i)}}).Code
		})
	}
	wg.Wait()
	close(codes)
	checked := 0
	for c := range codes {
		switch c {
		case http.StatusUnauthorized:
			checked++
		case http.StatusTooManyRequests:
		default:
			t.Errorf("status %d; want 401 or 429", c)
		}
	}
	if checked != loginPerClient {
		t.Errorf("%d of %d parallel guesses had their password checked; want exactly %d", checked, burst, loginPerClient)
	}
}

// TestLoginLimiterForgivesSuccess: a correct password clears the address's
// failures and does not count against the shared limit.
func TestLoginLimiterForgivesSuccess(t *testing.T) {
	clock := aptest.NewClock(time.Now())
	l := newLoginLimiter(clock.Now)
	for range loginPerClient - 1 {
		if ok, _, _ := l.begin("a"); !ok {
			t.Fatal("refused before the limit")
		}
	}
	ok, _, at := l.begin("a")
	if !ok {
		t.Fatal("refused at the last allowed attempt")
	}
	l.succeed("a", at)
	if ok, _, _ := l.begin("a"); !ok {
		t.Error("refused after a success; want the count cleared")
	}
	if got := len(l.failures[loginAllClientKey]); got != loginPerClient {
		t.Errorf("shared count %d; want %d (the success taken off)", got, loginPerClient)
	}
	clock.Advance(loginWindow + time.Second)
	if ok, _, _ := l.begin("b"); !ok || len(l.failures[loginAllClientKey]) != 1 {
		t.Errorf("after the window: ok %v, shared count %d; want a fresh start", ok, len(l.failures[loginAllClientKey]))
	}
}

// TestLogoutEndsSession: after logging out, the old cookie no longer opens
// the owner's pages.
func TestLogoutEndsSession(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	rec := k.post("/logout", nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("logout: status %d; want 303", rec.Code)
	}
	rec = k.get("/compose") // still sends the old cookie
	if rec.Code != http.StatusSeeOther || location(t, rec) != "/login?next=%2Fcompose" {
		t.Errorf("compose after logout: status %d to %q; want 303 to the login page", rec.Code, rec.Header().Get("Location"))
	}
	rec = k.postMultipart("/compose", url.Values{"text": {"hello"}, "action": {"publish"}})
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("POST after logout: status %d; want 401", rec.Code)
	}
	if posts, _ := k.counts(); posts != 0 {
		t.Errorf("%d posts stored after logout; want 0", posts)
	}
}

// TestClientAddr: behind a reverse proxy on the same machine the client is
// the address the proxy added to X-Forwarded-For; from anywhere else the
// header is the client's own claim and is ignored.
func TestClientAddr(t *testing.T) {
	tests := []struct {
		remote, xff, want string
	}{
		{"203.0.113.5:4000", "", "203.0.113.5"},
		{"203.0.113.5:4000", "198.51.100.7", "203.0.113.5"}, // not from a local proxy: a lie, maybe
		{"127.0.0.1:4000", "198.51.100.7", "198.51.100.7"},
		{"127.0.0.1:4000", "10.9.9.9, 198.51.100.7", "198.51.100.7"}, // the first entry is the client's own
		{"[::1]:4000", "2001:db8::1", "2001:db8::1"},
		{"127.0.0.1:4000", "not an address", "127.0.0.1"},
		{"127.0.0.1:4000", "", "127.0.0.1"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, "/login", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := clientAddr(r); got != tt.want {
			t.Errorf("RemoteAddr %s, X-Forwarded-For %q: client %q; want %q", tt.remote, tt.xff, got, tt.want)
		}
	}
}
