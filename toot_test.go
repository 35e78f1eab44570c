package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store/storetest"
)

// tootBinary returns Debian's toot, the Mastodon command-line client, or
// skips the test without it, unless KITH_TOOT_TEST=require (CI) makes its
// absence a failure.
func tootBinary(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("toot")
	if err != nil {
		if os.Getenv("KITH_TOOT_TEST") == "require" {
			t.Fatal("toot is not installed, and KITH_TOOT_TEST=require (apt-get install toot)")
		}
		t.Skip("toot is not installed (apt-get install toot)")
	}
	return path
}

// TestTootClient is a real Mastodon client against kith: toot logs in
// with the password grant (login_cli, the password on stdin), posts with
// an image and its description, reads the home timeline and the
// account's statuses, and deletes the post.
func TestTootClient(t *testing.T) {
	toot := tootBinary(t)
	s := startServe(t, []string{"--domain", "kith.lan", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, nil)
	m := regexp.MustCompile(`owner password \(shown only now; change it with "[^"]+"\): (\S+)`).FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("no password printed:\n%s", s.stdout)
	}
	password := m[1]
	instance := strings.TrimPrefix(s.base, "http://")
	run := tootRunner(t, toot, nil, func() string { return s.stderr.String() })

	out := run(password+"\n", "login_cli", "--instance", instance, "--disable-https", "--email", "me")
	if !strings.Contains(out, "Successfully logged in") || !strings.Contains(out, "4.3.0 (compatible; kith") {
		t.Fatalf("login_cli:\n%s", out)
	}

	img := filepath.Join(t.TempDir(), "dot.png")
	if err := os.WriteFile(img, pngImage(t, 16, 16), 0o644); err != nil {
		t.Fatal(err)
	}
	out = run("", "post", "Hello from toot #kith", "--media", img, "--description", "A small square", "--language", "en")
	pm := regexp.MustCompile(`Toot posted: (\S+)`).FindStringSubmatch(out)
	if pm == nil {
		t.Fatalf("post:\n%s", out)
	}
	id := pm[1][strings.LastIndex(pm[1], "/")+1:]

	// The post, as kith stores it, has the image and its description.
	st := getJSON(t, s.base+"/api/v1/statuses/"+id)
	media, _ := st["media_attachments"].([]any)
	if len(media) != 1 || media[0].(map[string]any)["description"] != "A small square" {
		t.Errorf("the posted status: %v", st)
	}

	out = run("", "timeline", "--once", "--count", "5")
	if !strings.Contains(out, "Hello from toot") {
		t.Errorf("the home timeline does not show the post:\n%s", out)
	}

	// Scheduling: toot sends scheduled_at as it computes it (--scheduled-in)
	// or as given, and reads the ScheduledStatus that answers.
	for _, when := range [][]string{{"--scheduled-in", "2h"}, {"--scheduled-at", time.Now().Add(3 * time.Hour).UTC().Format(time.RFC3339)}} {
		out = run("", append([]string{"post", "Later from toot"}, when...)...)
		if !strings.Contains(out, "Toot scheduled for") {
			t.Errorf("post %s:\n%s", strings.Join(when, " "), out)
		}
	}
	out = run("", "timeline", "--once", "--count", "5", "--public", "--local")
	if !strings.Contains(out, "Hello from toot") {
		t.Errorf("the local timeline does not show the post:\n%s", out)
	}

	// toot's other reading commands parse kith's entities without error.
	if out = run("", "whoami"); !strings.Contains(out, "@me") {
		t.Errorf("whoami:\n%s", out)
	}
	run("", "notifications")
	if out = run("", "thread", id); !strings.Contains(out, "Hello from toot") {
		t.Errorf("thread:\n%s", out)
	}
	run("", "instance", "--disable-https", instance)

	out = run("", "delete", id)
	if !strings.Contains(out, "deleted") {
		t.Errorf("delete:\n%s", out)
	}
	res, err := http.Get(s.base + "/api/v1/statuses/" + id)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("after toot delete, the status answers %d", res.StatusCode)
	}
	out = run("", "timeline", "--once", "--count", "5")
	if strings.Contains(out, "Hello from toot") {
		t.Errorf("the deleted post is still in the timeline:\n%s", out)
	}
}

// tootRunner returns a function running toot with a fresh home (its
// config) and env added to a minimal environment; a failure of toot fails
// the test with its output and logs(), the server's log.
func tootRunner(t *testing.T, toot string, env []string, logs func() string) func(stdin string, args ...string) string {
	home := t.TempDir()
	return func(stdin string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, toot, args...)
		cmd.Env = append([]string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8", "TERM=dumb", "NO_COLOR=1"}, env...)
		cmd.Stdin = strings.NewReader(stdin)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("toot %s: %v\n%s\nkith's log:\n%s", strings.Join(args, " "), err, out.String(), logs())
		}
		return out.String()
	}
}

// TestTootFollowsRemote: toot, logged in over TLS to a whole kith server
// running in the test, follows an account on a fake remote server by its
// handle. kith resolves the handle through WebFinger (toot's search with
// resolve=true) and the remote receives a Follow signed with the owner's
// key. The server runs in-process because only a test's client may reach
// loopback remotes: the kith binary's SSRF guard refuses them, as it must.
func TestTootFollowsRemote(t *testing.T) {
	toot := tootBinary(t)
	var printed bytes.Buffer
	n := newNodeWith(t, "me", storetest.Open(t), &printed)
	m := regexp.MustCompile(`owner password \(shown only now; change it with "[^"]+"\): (\S+)`).FindStringSubmatch(printed.String())
	if m == nil {
		t.Fatalf("no password printed:\n%s", printed.String())
	}
	// toot (Python requests) trusts the httptest certificate through
	// REQUESTS_CA_BUNDLE, as it would a private CA.
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: n.srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	run := tootRunner(t, toot, []string{"REQUESTS_CA_BUNDLE=" + ca}, func() string { return "(in-process)" })

	remote := aptest.NewRemote(t, true)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))

	instance := n.urls.Domain()
	if out := run(m[1]+"\n", "login_cli", "--instance", instance, "--email", "me"); !strings.Contains(out, "Successfully logged in") {
		t.Fatalf("login_cli:\n%s", out)
	}
	handle := "alice@" + remote.Host
	if out := run("", "follow", handle); !strings.Contains(out, "You are now following") {
		t.Fatalf("follow:\n%s", out)
	}
	settle(t, n)

	var follows []aptest.Received
	for _, r := range remote.Received() {
		if r.Type() == "Follow" {
			follows = append(follows, r)
		}
	}
	if len(follows) != 1 {
		t.Fatalf("the remote received %d Follows; want 1: %+v", len(follows), remote.Received())
	}
	f := follows[0]
	if f.VerifyErr != nil {
		t.Errorf("the Follow's signature: %v", f.VerifyErr)
	}
	if !strings.HasPrefix(f.KeyID, n.urls.Actor()+"#") {
		t.Errorf("signed with %s; want the owner's key %s#…", f.KeyID, n.urls.Actor())
	}
	if f.Activity["actor"] != n.urls.Actor() || f.Activity["object"] != remote.Base+"/users/alice" {
		t.Errorf("Follow = %v", f.Activity)
	}

	// The remote accepts; toot reads the relationship back.
	accept := map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       alice.IRI + "#accepts/1",
		"type":     "Accept",
		"actor":    alice.IRI,
		"object":   f.Activity,
	}
	res := alice.Post(t, remote.Client, n.urls.Inbox(), aptest.JSON(t, accept))
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("the Accept answered %d", res.StatusCode)
	}
	settle(t, n)
	if out := run("", "following", "me"); !strings.Contains(out, handle) {
		t.Errorf("toot following me does not list %s:\n%s", handle, out)
	}
}

func getJSON(t *testing.T, url string) map[string]any {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil || res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, res.StatusCode, err)
	}
	return v
}

// TestPhoneAppLogin is a phone app's login against the whole server, as
// main mounts it: register with a custom scheme, open the authorize page,
// log in on its form, take the code from the redirect, exchange it with
// the PKCE verifier, and use the token.
func TestPhoneAppLogin(t *testing.T) {
	s := startServe(t, []string{"--domain", "kith.lan", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, nil)
	m := regexp.MustCompile(`owner password \(shown only now; change it with "[^"]+"\): (\S+)`).FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("no password printed:\n%s", s.stdout)
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values) *http.Response {
		t.Helper()
		res, err := client.PostForm(s.base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	decodeBody := func(res *http.Response, v any) {
		t.Helper()
		defer res.Body.Close()
		if err := json.NewDecoder(res.Body).Decode(v); err != nil || res.StatusCode != 200 {
			t.Fatalf("%s: %d %v", res.Request.URL.Path, res.StatusCode, err)
		}
	}
	var app struct{ ClientID, ClientSecret string }
	res := post("/api/v1/apps", url.Values{"client_name": {"Phone"}, "redirect_uris": {"phoneapp://oauth"}, "scopes": {"read write follow push"}})
	var raw map[string]any
	decodeBody(res, &raw)
	app.ClientID, app.ClientSecret = raw["client_id"].(string), raw["client_secret"].(string)

	verifier := strings.Repeat("v3rifier", 8)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {"phoneapp://oauth"}, "scope": {"read write"},
		"state": {"s1"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	res, err := client.Get(s.base + "/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("authorize page: %d", res.StatusCode)
	}
	form := url.Values{}
	for _, f := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(string(page), -1) {
		form.Set(f[1], html.UnescapeString(f[2]))
	}
	form.Set("password", m[1])
	form.Set("decision", "allow")
	res = post("/oauth/authorize", form)
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || err != nil || loc.Scheme != "phoneapp" || loc.Query().Get("state") != "s1" {
		t.Fatalf("authorize: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		CreatedAt   int64  `json:"created_at"`
	}
	decodeBody(post("/oauth/token", url.Values{
		"grant_type": {"authorization_code"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret},
		"code": {loc.Query().Get("code")}, "redirect_uri": {"phoneapp://oauth"}, "code_verifier": {verifier},
	}), &tok)
	req, _ := http.NewRequest("GET", s.base+"/api/v1/accounts/verify_credentials", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var acct map[string]any
	decodeBody(res, &acct)
	if acct["acct"] != "me" || tok.CreatedAt == 0 {
		t.Errorf("verify_credentials: %v", acct)
	}
}
