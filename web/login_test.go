package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
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
			if got := location(t, rec); got != "/home" {
				t.Errorf("redirect to %q; want /home", got)
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
		{"//evil.example/", "/home"},
		{"https://evil.example/", "/home"},
		{"/\\evil.example/", "/home"},
		{"/\t/evil.example/", "/home"}, // browsers drop the tab: //evil.example
		{"/\n/evil.example/", "/home"},
		{"/%0a/evil.example/", "/%0a/evil.example/"}, // escaped, it stays a path
	} {
		rec := k.post("/login", url.Values{"password": {testPassword}, "next": {tt.next}})
		if got := location(t, rec); got != tt.want {
			t.Errorf("next=%q: redirect to %q; want %q", tt.next, got, tt.want)
		}
	}
}

// limiterKit is a kit whose clock stands still and whose login waits are
// recorded instead of slept, so the schedule of attempts can be read.
func limiterKit(t *testing.T) (*kit, *sleeps) {
	t.Helper()
	clock := aptest.NewClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	k := newKit(t, aptest.InstanceOptions{Now: clock.Now})
	sl := &sleeps{}
	k.h.limiter.sleep = sl.sleep
	return k, sl
}

// sleeps records the waits of login attempts.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) last() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.d[len(s.d)-1]
}

// loginFrom sends the login form from addr.
func (k *kit) loginFrom(addr, password string) *httptest.ResponseRecorder {
	k.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = addr
	return k.do(req)
}

// TestLoginSlowsGuessing: a network's first wrong passwords are checked at
// once; then each attempt waits twice as long as the one before, and one
// that would wait too long is refused with 429 and Retry-After without its
// password being checked. The right password is only slowed, never
// refused, and forgives the network.
func TestLoginSlowsGuessing(t *testing.T) {
	t.Parallel()
	k, sl := limiterKit(t)
	const addr = "203.0.113.5:1000"
	for i := 1; i <= loginFreeAttempts; i++ {
		rec := k.loginFrom(addr, "wrong password "+strconv.Itoa(i))
		if rec.Code != http.StatusUnauthorized || len(rec.Result().Cookies()) != 0 {
			t.Fatalf("wrong password %d: status %d, cookies %v; want 401 and none", i, rec.Code, rec.Result().Cookies())
		}
		if w := sl.last(); w != 0 {
			t.Fatalf("wrong password %d waited %s; want none", i, w)
		}
	}
	for i, want := range []time.Duration{time.Second, 3 * time.Second, 7 * time.Second} {
		if rec := k.loginFrom(addr, "still wrong"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("slowed attempt %d: status %d; want 401", i+1, rec.Code)
		}
		if w := sl.last(); w != want {
			t.Errorf("slowed attempt %d waited %s; want %s", i+1, w, want)
		}
	}
	rec := k.loginFrom(addr, testPassword)
	if rec.Code != http.StatusTooManyRequests || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("attempt past the longest wait: status %d; want 429 and no cookie", rec.Code)
	}
	if s, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || s < 15 || s > 16 {
		t.Errorf("Retry-After %q; want the 15 s until the next turn", rec.Header().Get("Retry-After"))
	}

	// The right password from a network that guessed a little waits like
	// a wrong one would, then logs in.
	other := "198.51.100.9:1000"
	for range loginFreeAttempts {
		k.loginFrom(other, "wrong")
	}
	if rec := k.loginFrom(other, testPassword); rec.Code != http.StatusOK || len(rec.Result().Cookies()) != 1 {
		t.Fatalf("the right password after %d wrong ones: status %d; want 200 (the notice) and a session", loginFreeAttempts, rec.Code)
	}
	if w := sl.last(); w != time.Second {
		t.Errorf("the right password waited %s; want the same 1 s as a wrong one", w)
	}
	if rec := k.loginFrom(other, "wrong again"); rec.Code != http.StatusUnauthorized || sl.last() != 0 {
		t.Errorf("after logging in, the network's next attempt waited %s (status %d); want it forgiven", sl.last(), rec.Code)
	}
}

// TestLoginCannotLockOutOwner is the attack of issue 7: many addresses,
// several of them in one IPv6 /64, send wrong passwords until every one
// of them is refused. The owner, from an address of their own, still logs
// in at once, and is told how many wrong passwords there were.
func TestLoginCannotLockOutOwner(t *testing.T) {
	t.Parallel()
	k, sl := limiterKit(t)
	attackers := []string{"[2001:db8:1:2::1]:1000", "[2001:db8:1:2::2]:1000", "[2001:db8:1:2:ffff::3]:1000", "[2001:db8:1:2::4]:1000"}
	for i := 1; i <= 4; i++ {
		attackers = append(attackers, "203.0.113."+strconv.Itoa(i)+":1000")
	}
	checked := 0
	for _, a := range attackers {
		for range 20 { // more than any network gets
			rec := k.loginFrom(a, "guess")
			if rec.Code == http.StatusTooManyRequests {
				continue
			}
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("attacker %s: status %d; want 401 or 429", a, rec.Code)
			}
			checked++
		}
	}
	// One IPv6 /64 is one network: its four addresses together got what
	// one IPv4 address got.
	perNetwork := loginFreeAttempts + 3
	if want := perNetwork * 5; checked != want {
		t.Errorf("%d wrong passwords checked; want %d (%d for each of 5 networks)", checked, want, perNetwork)
	}
	if rec := k.loginFrom("[2001:db8:1:2:abcd::9]:1000", "guess"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("a fresh address in the attacking /64: status %d; want 429", rec.Code)
	}

	rec := k.loginFrom("198.51.100.7:1000", testPassword)
	if rec.Code != http.StatusOK || len(rec.Result().Cookies()) != 1 {
		t.Fatalf("the owner from their own address: status %d; want 200 with a session\n%s", rec.Code, rec.Body)
	}
	if w := sl.last(); w != 0 {
		t.Errorf("the owner waited %s; want no wait", w)
	}
	body := rec.Body.String()
	for _, want := range []string{strconv.Itoa(checked) + " wrong passwords were tried", "the last came from 203.0.113.4", `href="/home">Continue</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page after logging in lacks %q:\n%s", want, errorNotice(body))
		}
	}
	// Told once: the next login goes straight on.
	if rec := k.loginFrom("198.51.100.8:1000", testPassword); rec.Code != http.StatusSeeOther {
		t.Errorf("the next login: status %d; want 303 (nothing more to tell)", rec.Code)
	}
}

// TestLoginLimitHoldsForParallelGuesses: a burst of simultaneous wrong
// passwords from one network is scheduled like the same guesses one after
// another: no more of them are checked than sequential ones would be.
func TestLoginLimitHoldsForParallelGuesses(t *testing.T) {
	t.Parallel()
	k, sl := limiterKit(t)
	const burst = 30
	codes := make(chan int, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() {
			codes <- k.loginFrom("203.0.113.5:1000", "guess "+strconv.Itoa(i)).Code
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
	if want := loginFreeAttempts + 3; checked != want {
		t.Errorf("%d of %d parallel guesses had their password checked; want exactly %d", checked, burst, want)
	}
	var longest time.Duration
	for _, d := range sl.d {
		longest = max(longest, d)
	}
	if longest != 7*time.Second {
		t.Errorf("the longest wait was %s; want 7 s (1 + 2 + 4)", longest)
	}
}

// TestLoginLimiterForgets: a network's failures are forgotten after a
// quiet day, and the limiter's memory stays bounded under a flood of
// addresses.
func TestLoginLimiterForgets(t *testing.T) {
	t.Parallel()
	clock := aptest.NewClock(time.Now())
	l := newLoginLimiter(clock.Now)
	l.sleep = func(context.Context, time.Duration) error { return nil }
	ctx := context.Background()
	for range loginFreeAttempts + 3 {
		if ok, _ := l.wait(ctx, "a"); !ok {
			t.Fatal("refused too early")
		}
		l.done("a", false)
	}
	if ok, _ := l.wait(ctx, "a"); ok {
		t.Fatal("not refused after the longest wait")
	}
	clock.Advance(loginMemory + loginMaxDelay)
	if ok, _ := l.wait(ctx, "a"); !ok || l.networks["a"].failures != 0 {
		t.Error("failures not forgotten after a quiet day")
	}
	l.done("a", false)
	for i := range 2 * loginMaxNetworks {
		l.wait(ctx, "flood-"+strconv.Itoa(i))
		l.done("flood-"+strconv.Itoa(i), false)
	}
	if n := len(l.networks); n > loginMaxNetworks {
		t.Errorf("%d networks remembered; want at most %d", n, loginMaxNetworks)
	}
}

func TestLoginNetworkOf(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ addr, want string }{
		{"203.0.113.5", "203.0.113.5"},
		{"::ffff:203.0.113.5", "203.0.113.5"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not an address", "not an address"},
	} {
		if got := loginNetworkOf(tt.addr); got != tt.want {
			t.Errorf("loginNetworkOf(%q) = %q; want %q", tt.addr, got, tt.want)
		}
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
