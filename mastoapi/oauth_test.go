package mastoapi

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"kith/ap/aptest"
)

// TestRegisterApp: each encoding a real client uses for POST /api/v1/apps
// is read, and any redirect scheme is accepted.
func TestRegisterApp(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	for _, tt := range []struct {
		name string
		req  request
		uri  string
	}{
		// Ice Cubes puts everything in the query string (IceCubesApp#16).
		{"query", request{method: "POST", path: "/api/v1/apps?client_name=IceCubesApp&redirect_uris=icecubesapp://&scopes=read%20write%20follow%20push"}, "icecubesapp://"},
		// toot sends JSON with the out-of-band URN.
		{"json", request{method: "POST", path: "/api/v1/apps", json: map[string]string{"client_name": "toot", "redirect_uris": oob, "scopes": "read write follow", "website": "https://toot.bezdomni.net"}}, oob},
		// Tusky and most others send a form; Ivory's URI is not a URL a browser loads.
		{"form", request{method: "POST", path: "/api/v1/apps", form: url.Values{"client_name": {"Ivory"}, "redirect_uris": {"com.tapbots.Ivory.19300:/request_token"}, "scopes": {"read write follow push"}}}, "com.tapbots.Ivory.19300:/request_token"},
		// Some send an array of URIs.
		{"json array", request{method: "POST", path: "/api/v1/apps", json: map[string]any{"client_name": "Elk", "redirect_uris": []string{"https://elk.zone/oauth/callback"}, "scopes": "read write"}}, "https://elk.zone/oauth/callback"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := decode[appJSON](t, k.do(tt.req), http.StatusOK)
			if got.ClientID == "" || got.ClientSecret == "" || got.ID == "" || got.RedirectURI != tt.uri || len(got.RedirectURIs) != 1 || len(got.Scopes) == 0 {
				t.Errorf("got %+v", got)
			}
			// The key push-capable apps subscribe with is the instance's own.
			inst := decode[map[string]any](t, k.do(request{method: "GET", path: "/api/v2/instance"}), http.StatusOK)
			vapid, _ := inst["configuration"].(map[string]any)["vapid"].(map[string]any)["public_key"].(string)
			if got.VapidKey == "" || got.VapidKey != vapid {
				t.Errorf("vapid_key = %q, want the instance's %q", got.VapidKey, vapid)
			}
		})
	}
	for _, tt := range []struct {
		name string
		form url.Values
	}{
		{"no name", url.Values{"redirect_uris": {oob}}},
		{"no redirect", url.Values{"client_name": {"x"}}},
		{"relative redirect", url.Values{"client_name": {"x"}, "redirect_uris": {"/callback"}}},
		{"javascript redirect", url.Values{"client_name": {"x"}, "redirect_uris": {"javascript:alert(1)"}}},
		{"unknown scope", url.Values{"client_name": {"x"}, "redirect_uris": {oob}, "scopes": {"read everything"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := k.do(request{method: "POST", path: "/api/v1/apps", form: tt.form})
			got := decode[map[string]string](t, rec, http.StatusUnprocessableEntity)
			if got["error"] == "" {
				t.Errorf("no error message: %s", rec.Body)
			}
		})
	}
	rec := k.do(request{method: "POST", path: "/api/v1/apps", contentType: "application/json", body: strings.NewReader("{not json")})
	if rec.Code != http.StatusBadRequest {
		t.Errorf("malformed JSON: status %d", rec.Code)
	}
}

// TestPasswordGrant: toot login_cli's request, with the names the owner
// may log in with, and what is refused.
func TestPasswordGrant(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	app := k.register(oob, "read write follow")
	grant := func(username, password, scope string) *http.Response {
		rec := k.do(request{method: "POST", path: "/oauth/token", form: url.Values{
			"grant_type": {"password"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret},
			"username": {username}, "password": {password}, "scope": {scope},
		}})
		return rec.Result()
	}
	domain := k.inst.URLs.Domain()
	for _, name := range []string{"me", "ME", "me@" + domain, "@me@" + domain} {
		if res := grant(name, testPassword, "read write"); res.StatusCode != http.StatusOK {
			t.Errorf("username %q: status %d", name, res.StatusCode)
		}
	}
	for _, tt := range []struct {
		name, user, password, scope, code string
		status                            int
	}{
		{"wrong password", "me", "wrong", "read", "invalid_grant", 400},
		{"other user", "alice", testPassword, "read", "invalid_grant", 400},
		{"other domain", "me@elsewhere.example", testPassword, "read", "invalid_grant", 400},
		{"scope not registered", "me", testPassword, "read push", "invalid_scope", 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := k.do(request{method: "POST", path: "/oauth/token", json: map[string]string{
				"grant_type": "password", "client_id": app.ClientID, "client_secret": app.ClientSecret,
				"username": tt.user, "password": tt.password, "scope": tt.scope,
			}})
			got := decode[map[string]string](t, rec, tt.status)
			if got["error"] != tt.code || got["error_description"] == "" {
				t.Errorf("got %v, want error %s", got, tt.code)
			}
		})
	}
	rec := k.do(request{method: "POST", path: "/oauth/token", form: url.Values{
		"grant_type": {"password"}, "client_id": {app.ClientID}, "client_secret": {"not the secret"},
		"username": {"me"}, "password": {testPassword},
	}})
	if got := decode[map[string]string](t, rec, http.StatusUnauthorized); got["error"] != "invalid_client" {
		t.Errorf("wrong secret: %v", got)
	}
}

// TestTokens: what a token lets through, in Mastodon's statuses and error
// shape, and revocation.
func TestTokens(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	read := k.login("read")
	writeOnly := k.login("write")
	app := k.register(oob, "read write")
	// toot sends client_credentials as JSON.
	cc := decode[tokenJSON](t, k.do(request{method: "POST", path: "/oauth/token", json: map[string]string{
		"grant_type": "client_credentials", "client_id": app.ClientID, "client_secret": app.ClientSecret, "scope": "read",
	}}), http.StatusOK)
	if cc.TokenType != "Bearer" || cc.Scope != "read" || cc.CreatedAt == 0 {
		t.Errorf("client_credentials token: %+v", cc)
	}
	for _, tt := range []struct {
		name, token string
		status      int
		msg         string
	}{
		{"owner token", read, 200, ""},
		{"no token", "", 401, msgInvalidToken},
		{"made-up token", "madeup", 401, msgInvalidToken},
		{"wrong scope", writeOnly, 403, msgOutOfScope},
		{"app token", cc.AccessToken, 422, msgNeedsUser},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := k.do(request{method: "GET", path: "/api/v1/accounts/verify_credentials", token: tt.token})
			got := decode[map[string]any](t, rec, tt.status)
			if tt.msg != "" && got["error"] != tt.msg {
				t.Errorf("error %v, want %q", got["error"], tt.msg)
			}
		})
	}
	if got := decode[appJSON](t, k.do(request{method: "GET", path: "/api/v1/apps/verify_credentials", token: cc.AccessToken}), 200); got.Name != "test app" {
		t.Errorf("apps/verify_credentials: %+v", got)
	}

	// Revoking: only the app the token belongs to can, and afterwards the
	// token is refused like a made-up one.
	other := k.register(oob, "read")
	rec := k.do(request{method: "POST", path: "/oauth/revoke", form: url.Values{"client_id": {other.ClientID}, "client_secret": {"wrong"}, "token": {read}}})
	if rec.Code != http.StatusForbidden {
		t.Errorf("revoke with a wrong secret: status %d", rec.Code)
	}
	app2 := k.register(oob, "read")
	tok := decode[tokenJSON](t, k.do(request{method: "POST", path: "/oauth/token", form: url.Values{
		"grant_type": {"password"}, "client_id": {app2.ClientID}, "client_secret": {app2.ClientSecret},
		"username": {"me"}, "password": {testPassword},
	}}), 200)
	if tok.Scope != "read" {
		t.Errorf("default scope %q, want read", tok.Scope)
	}
	rec = k.do(request{method: "POST", path: "/oauth/revoke", form: url.Values{"client_id": {app2.ClientID}, "client_secret": {app2.ClientSecret}, "token": {tok.AccessToken}}})
	if rec.Code != 200 {
		t.Fatalf("revoke: status %d %s", rec.Code, rec.Body)
	}
	rec = k.do(request{method: "GET", path: "/api/v1/accounts/verify_credentials", token: tok.AccessToken})
	if got := decode[map[string]string](t, rec, 401); got["error"] != msgInvalidToken {
		t.Errorf("revoked token: %v", got)
	}
}

// pkce returns a verifier and its S256 challenge.
func pkce(seed string) (verifier, challenge string) {
	verifier = strings.Repeat(seed, 50)[:64]
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// formFields reads the hidden fields of the authorize page.
func formFields(t testing.TB, page string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		v.Set(m[1], unescapeHTML(m[2]))
	}
	return v
}

func unescapeHTML(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

// TestCodeFlowPKCE is a phone app's login: register with a custom scheme,
// open the authorize page, log in on it, receive the code at the redirect
// URI, exchange it with the PKCE verifier. A replayed code is refused and
// revokes the token it gave.
func TestCodeFlowPKCE(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	app := k.register("kithtest://oauth", "read write follow push")
	verifier, challenge := pkce("abc")
	q := url.Values{
		"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {"kithtest://oauth"},
		"scope": {"read write"}, "state": {"st4te"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
	rec := k.do(request{method: "GET", path: "/oauth/authorize?" + q.Encode()})
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Authorize test app") {
		t.Fatalf("authorize page: %d\n%s", rec.Code, rec.Body)
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' kithtest:") {
		t.Errorf("the page's CSP does not let its form lead back to the app: %q", csp)
	}
	form := formFields(t, rec.Body.String())
	if form.Get("code_challenge") != challenge || form.Get("state") != "st4te" {
		t.Fatalf("the form lost the request: %v", form)
	}

	form.Set("password", "wrong")
	form.Set("decision", "allow")
	rec = k.do(request{method: "POST", path: "/oauth/authorize", form: form})
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "not right") {
		t.Fatalf("wrong password: %d", rec.Code)
	}
	form.Set("password", testPassword)
	rec = k.do(request{method: "POST", path: "/oauth/authorize", form: form})
	if rec.Code != http.StatusFound {
		t.Fatalf("authorize: %d\n%s", rec.Code, rec.Body)
	}
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil || loc.Scheme != "kithtest" || loc.Query().Get("state") != "st4te" || loc.Query().Get("code") == "" {
		t.Fatalf("redirected to %q", rec.Header().Get("Location"))
	}
	code := loc.Query().Get("code")

	exchange := func(verifier string) *http.Response {
		// Phone apps send the form without the secret when they use PKCE
		// as public clients; this one sends it, as Mastodon's apps do.
		return k.do(request{method: "POST", path: "/oauth/token", form: url.Values{
			"grant_type": {"authorization_code"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret},
			"code": {code}, "redirect_uri": {"kithtest://oauth"}, "code_verifier": {verifier},
		}}).Result()
	}
	if res := exchange("not-the-verifier-at-all-but-long-enough-to-look-like-one-000"); res.StatusCode != 400 {
		t.Errorf("a wrong verifier: status %d", res.StatusCode)
	}
	rec = k.do(request{method: "POST", path: "/oauth/token", form: url.Values{
		"grant_type": {"authorization_code"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret},
		"code": {code}, "redirect_uri": {"kithtest://oauth"}, "code_verifier": {verifier},
	}})
	tok := decode[tokenJSON](t, rec, 200)
	if tok.Scope != "read write" || tok.AccessToken == "" {
		t.Fatalf("token: %+v", tok)
	}
	if rec := k.do(request{method: "GET", path: "/api/v1/accounts/verify_credentials", token: tok.AccessToken}); rec.Code != 200 {
		t.Fatalf("the new token: %d", rec.Code)
	}
	if res := exchange(verifier); res.StatusCode != 400 {
		t.Errorf("a replayed code: status %d", res.StatusCode)
	}
	if rec := k.do(request{method: "GET", path: "/api/v1/accounts/verify_credentials", token: tok.AccessToken}); rec.Code != 401 {
		t.Errorf("the token of a replayed code still works: %d", rec.Code)
	}

	// Deny tells the app no.
	form.Set("decision", "deny")
	rec = k.do(request{method: "POST", path: "/oauth/authorize/", form: form})
	if loc := rec.Header().Get("Location"); rec.Code != 302 || !strings.Contains(loc, "error=access_denied") {
		t.Errorf("deny: %d %q", rec.Code, loc)
	}
}

// TestAuthorizeRefusals: an unregistered redirect_uri is refused on the
// page (never redirected to), as is an unknown app; other mistakes go back
// to the app; toot's out-of-band flow shows the code for copying.
func TestAuthorizeRefusals(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	app := k.register("https://app.example/cb", "read")
	base := url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {"https://app.example/cb"}}
	with := func(key, value string) string {
		q := url.Values{}
		for k, v := range base {
			q[k] = v
		}
		q.Set(key, value)
		return "/oauth/authorize?" + q.Encode()
	}
	for _, tt := range []struct {
		name, path string
		status     int
		location   string
	}{
		{"unregistered redirect", with("redirect_uri", "https://evil.example/cb"), 400, ""},
		{"unknown app", with("client_id", "nope"), 400, ""},
		{"scope not registered", with("scope", "write"), 302, "error=invalid_scope"},
		{"implicit grant", with("response_type", "token"), 302, "error=unsupported_response_type"},
		{"plain PKCE", with("code_challenge", strings.Repeat("a", 43)) + "&code_challenge_method=plain", 302, "error=invalid_request"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := k.do(request{method: "GET", path: tt.path})
			if rec.Code != tt.status || !strings.Contains(rec.Header().Get("Location"), tt.location) {
				t.Errorf("status %d, Location %q", rec.Code, rec.Header().Get("Location"))
			}
			if tt.location != "" && !strings.HasPrefix(rec.Header().Get("Location"), "https://app.example/cb?") {
				t.Errorf("redirected to %q", rec.Header().Get("Location"))
			}
		})
	}
	// POST with a forged redirect_uri is refused too.
	form := url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {"https://evil.example/cb"}, "password": {testPassword}}
	if rec := k.do(request{method: "POST", path: "/oauth/authorize", form: form}); rec.Code != 400 || rec.Header().Get("Location") != "" {
		t.Errorf("forged POST: %d %q", rec.Code, rec.Header().Get("Location"))
	}

	// toot: out of band, with the trailing slash.
	toot := k.register(oob, "read write follow")
	q := url.Values{"response_type": {"code"}, "client_id": {toot.ClientID}, "redirect_uri": {oob}, "scope": {"read write follow"}}
	rec := k.do(request{method: "GET", path: "/oauth/authorize/?" + q.Encode()})
	if rec.Code != 200 {
		t.Fatalf("toot's authorize page: %d", rec.Code)
	}
	form = formFields(t, rec.Body.String())
	form.Set("password", testPassword)
	rec = k.do(request{method: "POST", path: "/oauth/authorize/", form: form})
	m := regexp.MustCompile(`value="([A-Za-z0-9]{40,})" readonly`).FindStringSubmatch(rec.Body.String())
	if rec.Code != 200 || m == nil {
		t.Fatalf("no code shown: %d\n%s", rec.Code, rec.Body)
	}
	tok := decode[tokenJSON](t, k.do(request{method: "POST", path: "/oauth/token", form: url.Values{
		"grant_type": {"authorization_code"}, "client_id": {toot.ClientID}, "client_secret": {toot.ClientSecret},
		"code": {m[1]}, "redirect_uri": {oob},
	}}), 200)
	if tok.Scope != "read write follow" {
		t.Errorf("toot's token: %+v", tok)
	}
	// Elk sends the token request as JSON; a code for another redirect is refused.
	rec = k.do(request{method: "POST", path: "/oauth/token", json: map[string]string{
		"grant_type": "authorization_code", "client_id": toot.ClientID, "client_secret": toot.ClientSecret, "code": "made-up",
	}})
	if got := decode[map[string]string](t, rec, 400); got["error"] != "invalid_grant" {
		t.Errorf("made-up code: %v", got)
	}
}

// TestCORS: browser clients get CORS headers and preflight answers.
func TestCORS(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	rec := k.do(request{method: "OPTIONS", path: "/api/v1/statuses", header: http.Header{"Origin": {"https://elk.zone"}, "Access-Control-Request-Method": {"POST"}}})
	if rec.Code != 204 || rec.Header().Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(rec.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", rec.Code, rec.Header())
	}
	rec = k.do(request{method: "POST", path: "/oauth/token", form: url.Values{}})
	if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("token endpoint without CORS")
	}
}
