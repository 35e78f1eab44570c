package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"kith/ap/aptest"
	"kith/store/storetest"
)

// TestSecurityHeaders: every response carries nosniff, whichever part of
// kith answers it (pages, JSON, WebFinger, NodeInfo, redirects, errors),
// and Strict-Transport-Security exactly when kith terminates TLS itself.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		cfg := &config{domain: "kith.example", user: "me", data: t.TempDir()}
		if tls {
			cfg.tlsCert, cfg.tlsKey = "cert.pem", "key.pem" // only read when serving
		}
		a, err := setupWith(context.Background(), storetest.Open(t), cfg, io.Discard, aptest.Logger(t), appOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct{ path, accept string }{
			{"/@me", ""},
			{"/@me", "application/activity+json"}, // a redirect to the actor
			{"/users/me", "application/activity+json"},
			{"/users/me", ""}, // a browser is sent to the page
			{"/.well-known/webfinger?resource=acct:me@kith.example", ""},
			{"/.well-known/nodeinfo", ""},
			{"/nodeinfo/2.1", ""},
			{"/feed.atom", ""},
			{"/login", ""},
			{"/compose", ""}, // a redirect to the login page
			{"/no/such/page", ""},
			{"/users/nobody", "application/activity+json"},
		} {
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			rec := httptest.NewRecorder()
			a.handler.ServeHTTP(rec, req)
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("tls=%v %s (Accept %q): status %d, X-Content-Type-Options %q; want nosniff", tls, tt.path, tt.accept, rec.Code, got)
			}
			hsts := rec.Header().Get("Strict-Transport-Security")
			if tls && hsts != "max-age=31536000" || !tls && hsts != "" {
				t.Errorf("tls=%v %s: Strict-Transport-Security %q", tls, tt.path, hsts)
			}
		}
		a.db.Close()
	}
}

// TestLocalDomainLogin is the newcomer: kith started for a LAN
// address, opened from another computer over plain HTTP. The links are
// http://, the pages say that other servers cannot reach it, and logging
// in works, because the session cookie is not marked Secure (a browser,
// like Go's cookie jar, never sends a Secure cookie over plain HTTP).
func TestLocalDomainLogin(t *testing.T) {
	s := startServe(t, []string{"--domain", "192.168.1.5:8080", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, nil)
	m := regexp.MustCompile(`owner password \(shown only now; change it with "[^"]+"\): (\S+)`).FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("no password printed:\n%s", s.stdout)
	}
	if !strings.Contains(s.stdout.String(), "at http://192.168.1.5:8080/") {
		t.Errorf("the start message does not give the http:// address:\n%s", s.stdout)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get := func(path string) (int, string, string) {
		t.Helper()
		resp, err := client.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Request.URL.Path, string(b)
	}
	_, _, login := get("/login")
	for _, want := range []string{"Only on this network.", "other servers cannot reach it", `href="http://192.168.1.5:8080/@me"`} {
		if !strings.Contains(login, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	resp, err := client.PostForm(s.base+"/login", url.Values{"password": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/home" {
		t.Fatalf("after logging in: status %d at %s; want the home timeline\n%s", resp.StatusCode, resp.Request.URL.Path, body)
	}
	if !strings.Contains(string(body), "Only on this network.") {
		t.Error("the owner's pages do not say that other servers cannot reach kith")
	}
}

// TestPasswdCommand: the login page and the first start name the command
// that works for the way kith was started.
func TestPasswdCommand(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ arg0, data, want string }{
		{"/usr/local/bin/kith", "./kith-data", "kith passwd"},
		{"kith", "kith-data", "kith passwd"},
		{"/tmp/go-build3141/b001/exe/kith", "./kith-data", "go run . passwd"},
		{"/tmp/go-build3141/b001/kith.test", "./kith-data", "kith passwd"},
		{"/usr/local/bin/kith", "/var/lib/kith", "kith passwd --data /var/lib/kith"},
		{"/tmp/go-build1/b001/exe/kith", "my data", "go run . passwd --data 'my data'"},
	} {
		if got := passwdCommand(tt.arg0, &config{data: tt.data}); got != tt.want {
			t.Errorf("passwdCommand(%q, data %q) = %q; want %q", tt.arg0, tt.data, got, tt.want)
		}
	}
}
