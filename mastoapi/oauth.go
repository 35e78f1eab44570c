package mastoapi

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"kith/store"
)

// oob is the redirect URI of apps that show the code for copying instead
// of receiving it (toot, scripts).
const oob = "urn:ietf:wg:oauth:2.0:oob"

// Limits of an app registration.
const (
	maxAppName      = 100
	maxRedirectURIs = 10
	maxURILength    = 2000
	codeTTL         = 10 * time.Minute
)

// newSecret returns 256 random bits, URL-safe.
func newSecret() string { return rand.Text() + rand.Text() }

// appJSON is Mastodon's Application entity with its credentials, as
// POST /api/v1/apps answers it.
type appJSON struct {
	ID                    string   `json:"id"`
	Name                  string   `json:"name"`
	Website               *string  `json:"website"`
	Scopes                []string `json:"scopes"`
	RedirectURI           string   `json:"redirect_uri"`
	RedirectURIs          []string `json:"redirect_uris"`
	ClientID              string   `json:"client_id,omitempty"`
	ClientSecret          string   `json:"client_secret,omitempty"`
	ClientSecretExpiresAt *int     `json:"client_secret_expires_at,omitempty"`
	VapidKey              string   `json:"vapid_key"`
}

func appView(a *store.ClientApp) appJSON {
	scopes, _ := parseScopes(a.Scopes)
	v := appJSON{
		ID: strconv.FormatInt(a.ID, 10), Name: a.Name, Scopes: scopes,
		RedirectURI: strings.Join(a.RedirectURIs, "\n"), RedirectURIs: a.RedirectURIs,
	}
	if a.Website != "" {
		v.Website = &a.Website
	}
	return v
}

// validRedirectURI accepts what apps register: the out-of-band URN, web
// addresses, and custom schemes such as icecubesapp:// or Ivory's
// com.tapbots.Ivory.19300:/request_token, which are not URLs a browser
// would load but are what the phone hands back to the app.
func validRedirectURI(s string) bool {
	if s == oob {
		return true
	}
	if len(s) > maxURILength || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Fragment != "" {
		return false
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		return u.Host != ""
	}
	return !strings.EqualFold(u.Scheme, "javascript") && !strings.EqualFold(u.Scheme, "data")
}

// createApp registers an app: POST /api/v1/apps. Ice Cubes sends the
// parameters in the query string, toot as JSON, others as a form.
func (h *Handler) createApp(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	name := strings.TrimSpace(p.Get("client_name"))
	if name == "" {
		h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: Application name can't be blank")
		return
	}
	if utf8.RuneCountInString(name) > maxAppName {
		h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: Application name is too long (maximum is 100 characters)")
		return
	}
	var uris []string
	for _, v := range p.list("redirect_uris") {
		for _, u := range strings.Fields(v) {
			if !slices.Contains(uris, u) {
				uris = append(uris, u)
			}
		}
	}
	if len(uris) == 0 {
		h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: Redirect URI can't be blank")
		return
	}
	if len(uris) > maxRedirectURIs {
		h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: too many redirect URIs")
		return
	}
	for _, u := range uris {
		if !validRedirectURI(u) {
			h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: Redirect URI must be an absolute URI.")
			return
		}
	}
	scopes, ok := parseScopes(strings.Join(p.list("scopes"), " "))
	if !ok {
		h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: Scopes must be a subset of the known scopes")
		return
	}
	website := strings.TrimSpace(p.Get("website"))
	if len(website) > maxURILength {
		website = ""
	}
	secret := newSecret()
	a := &store.ClientApp{
		ClientID: newSecret(), SecretHash: store.HashSecret(secret), Name: name, Website: website,
		RedirectURIs: uris, Scopes: strings.Join(scopes, " "), CreatedAt: h.now(),
	}
	if err := h.db.AddClientApp(r.Context(), a); err != nil {
		h.serverError(w, r, err)
		return
	}
	v := appView(a)
	v.ClientID, v.ClientSecret = a.ClientID, secret
	zero := 0
	v.ClientSecretExpiresAt = &zero
	// Apps that offer push read the server's key here rather than from
	// the instance (Tusky and older Mastodon clients do).
	if v.VapidKey, err = h.vapidPublic(r.Context()); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, v)
}

// verifyApp answers GET /api/v1/apps/verify_credentials: which app a
// token belongs to.
func (h *Handler) verifyApp(w http.ResponseWriter, r *http.Request) {
	t, err := h.token(r.Context(), r)
	if err != nil {
		if errors.Is(err, errNoToken) || errors.Is(err, store.ErrNotFound) {
			h.apiError(w, r, http.StatusUnauthorized, msgInvalidToken)
			return
		}
		h.serverError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, appView(&t.App))
}

// authorizeRequest is a checked authorization request.
type authorizeRequest struct {
	App           *store.ClientApp
	RedirectURI   string
	Scopes        []string
	State         string
	CodeChallenge string
}

// authorizeError is a request the page refuses, with why. redirect says
// the app can be told through its redirect URI (RFC 6749 §4.1.2.1); when
// the app or the URI itself is wrong, only the person sees the message.
type authorizeError struct {
	code, msg string
	redirect  bool
}

// checkAuthorize checks the parameters of /oauth/authorize.
func (h *Handler) checkAuthorize(r *http.Request, p params) (*authorizeRequest, *authorizeError) {
	a, err := h.db.ClientAppByClientID(r.Context(), p.Get("client_id"))
	if err != nil {
		return nil, &authorizeError{code: "invalid_client", msg: "No app is registered here with this client_id. Register the app again, then log in."}
	}
	ar := &authorizeRequest{App: a, RedirectURI: p.Get("redirect_uri"), State: p.Get("state")}
	if ar.RedirectURI == "" && len(a.RedirectURIs) == 1 {
		ar.RedirectURI = a.RedirectURIs[0]
	}
	if !slices.Contains(a.RedirectURIs, ar.RedirectURI) {
		return nil, &authorizeError{code: "invalid_redirect_uri", msg: "The app asked to be sent back to an address it did not register, so kith will not send your authorization there."}
	}
	if p.Get("response_type") != "code" {
		return ar, &authorizeError{code: "unsupported_response_type", msg: "The app asked for a kind of authorization other than a code, which kith does not give.", redirect: true}
	}
	asked, ok := parseScopes(p.Get("scope"))
	granted, _ := parseScopes(a.Scopes)
	if !ok || !within(asked, granted) {
		return ar, &authorizeError{code: "invalid_scope", msg: "The app asked for permissions it did not register.", redirect: true}
	}
	ar.Scopes = asked
	if c := p.Get("code_challenge"); c != "" {
		if m := p.Get("code_challenge_method"); m != "S256" {
			return ar, &authorizeError{code: "invalid_request", msg: "The app asked for a PKCE method other than S256.", redirect: true}
		}
		if len(c) < 43 || len(c) > 128 {
			return ar, &authorizeError{code: "invalid_request", msg: "The app's PKCE code challenge is malformed.", redirect: true}
		}
		ar.CodeChallenge = c
	}
	return ar, nil
}

// authorizePage is the data of oauth-authorize.html.
type authorizePage struct {
	AppName     string
	Website     string
	Scopes      []scopeView
	ClientID    string
	RedirectURI string
	Scope       string
	State       string
	Challenge   string
	Error       string
	Redirects   string // where the browser goes next, in words
}

// scopeView is one permission, in words.
type scopeView struct {
	Name, About string
}

// scopeWords says what a scope lets an app do.
func scopeWords(s string) string {
	switch s {
	case "read":
		return "read everything: your posts, timelines, followers, notifications"
	case "write":
		return "post, edit and delete for you, and change your profile"
	case "follow":
		return "follow, unfollow, block and mute for you"
	case "push":
		return "receive push notifications"
	case "profile":
		return "read your profile"
	}
	if what, thing, ok := strings.Cut(s, ":"); ok {
		verb := "read"
		if what == "write" {
			verb = "change"
		}
		if what == "admin" {
			return "administer the server (kith has nothing to administer this way)"
		}
		return verb + " your " + strings.ReplaceAll(thing, "_", " ")
	}
	return s
}

// showAuthorize shows kith's login and consent page for an app.
func (h *Handler) showAuthorize(w http.ResponseWriter, r *http.Request) {
	p := params{Values: r.URL.Query()}
	ar, aerr := h.checkAuthorize(r, p)
	if aerr != nil {
		h.refuseAuthorize(w, r, ar, aerr)
		return
	}
	h.renderAuthorize(w, r, http.StatusOK, ar, "")
}

func (h *Handler) renderAuthorize(w http.ResponseWriter, r *http.Request, status int, ar *authorizeRequest, msg string) {
	data := &authorizePage{
		AppName: ar.App.Name, Website: ar.App.Website, ClientID: ar.App.ClientID, RedirectURI: ar.RedirectURI,
		Scope: strings.Join(ar.Scopes, " "), State: ar.State, Challenge: ar.CodeChallenge, Error: msg,
	}
	for _, s := range ar.Scopes {
		data.Scopes = append(data.Scopes, scopeView{Name: s, About: scopeWords(s)})
	}
	if ar.RedirectURI == oob {
		data.Redirects = "kith will then show you a code to copy into the app."
	} else {
		data.Redirects = "Your browser will then go back to the app."
	}
	h.pages.RenderPage(w, r, status, "oauth-authorize", "Authorize "+ar.App.Name, data, formSource(ar.RedirectURI))
}

// formSource is what the authorize page's Content-Security-Policy must
// allow as a form's destination, since the form's answer redirects there
// and browsers apply form-action to redirects: the origin of a web
// address, the scheme of an app's address, nothing for the code page.
func formSource(redirectURI string) string {
	u, err := url.Parse(redirectURI)
	if err != nil || redirectURI == oob {
		return ""
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		return u.Scheme + "://" + u.Host
	}
	return u.Scheme + ":"
}

// errorPage is the data of oauth-error.html.
type errorPage struct {
	Message string
}

// refuseAuthorize answers an authorization request that cannot go on:
// back to the app with an error when its redirect URI is known good,
// otherwise on a page.
func (h *Handler) refuseAuthorize(w http.ResponseWriter, r *http.Request, ar *authorizeRequest, aerr *authorizeError) {
	if aerr.redirect && ar != nil && ar.RedirectURI != oob {
		h.redirectToApp(w, r, ar, url.Values{"error": {aerr.code}, "error_description": {aerr.msg}})
		return
	}
	h.pages.RenderPage(w, r, http.StatusBadRequest, "oauth-error", "Authorization refused", &errorPage{Message: aerr.msg})
}

// redirectToApp sends the browser back to the app's redirect URI with
// values (and the app's state) added to its query.
func (h *Handler) redirectToApp(w http.ResponseWriter, r *http.Request, ar *authorizeRequest, values url.Values) {
	u, err := url.Parse(ar.RedirectURI)
	if err != nil { // registered URIs were checked
		h.serverError(w, r, err)
		return
	}
	q := u.Query()
	for k, vs := range values {
		q[k] = vs
	}
	if ar.State != "" {
		q.Set("state", ar.State)
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", u.String())
	w.WriteHeader(http.StatusFound)
}

// codePage is the data of oauth-code.html.
type codePage struct {
	AppName string
	Code    string
}

// submitAuthorize takes the owner's answer: with the right password, a
// code goes to the app (or is shown for copying); "Deny" tells the app no.
// The password is the CSRF defence too: a page elsewhere cannot make the
// owner's browser authorize anything without it.
func (h *Handler) submitAuthorize(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.pages.RenderPage(w, r, http.StatusBadRequest, "oauth-error", "Authorization refused", &errorPage{Message: "The form could not be read."})
		return
	}
	p := params{Values: r.PostForm}
	ar, aerr := h.checkAuthorize(r, p)
	if aerr != nil {
		h.refuseAuthorize(w, r, ar, aerr)
		return
	}
	if r.PostForm.Get("decision") == "deny" {
		if ar.RedirectURI == oob {
			h.pages.RenderPage(w, r, http.StatusOK, "oauth-error", "Authorization refused", &errorPage{Message: ar.App.Name + " was not given access."})
			return
		}
		h.redirectToApp(w, r, ar, url.Values{"error": {"access_denied"}, "error_description": {"The owner refused the app access."}})
		return
	}
	ok, retry := h.pages.CheckOwnerPassword(r, r.PostForm.Get("password"))
	if !ok {
		if retry > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)+1))
			h.renderAuthorize(w, r, http.StatusTooManyRequests, ar, "Too many wrong passwords came from your network. Nothing was checked; try again in a minute.")
			return
		}
		if r.Context().Err() != nil {
			return
		}
		h.renderAuthorize(w, r, http.StatusUnauthorized, ar, "That password is not right.")
		return
	}
	code := newSecret()
	now := h.now()
	err := h.db.AddAuthCode(r.Context(), &store.AuthCode{
		Hash: store.HashSecret(code), AppID: ar.App.ID, RedirectURI: ar.RedirectURI,
		Scopes: strings.Join(ar.Scopes, " "), CodeChallenge: ar.CodeChallenge,
		CreatedAt: now, ExpiresAt: now.Add(codeTTL),
	})
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.log.Info("an app was authorized", "app", ar.App.Name, "scopes", strings.Join(ar.Scopes, " "))
	if ar.RedirectURI == oob {
		h.pages.RenderPage(w, r, http.StatusOK, "oauth-code", "Authorization code", &codePage{AppName: ar.App.Name, Code: code})
		return
	}
	h.redirectToApp(w, r, ar, url.Values{"code": {code}})
}

// tokenJSON is Mastodon's Token entity.
type tokenJSON struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	Scope       string `json:"scope"`
	CreatedAt   int64  `json:"created_at"`
}

// clientApp authenticates the client of a token request: client_id and
// client_secret in the parameters, or HTTP Basic (RFC 6749 §2.3.1).
// secretNeeded is false for a PKCE exchange, which proves itself.
func (h *Handler) clientApp(r *http.Request, p params, secretNeeded bool) (*store.ClientApp, bool) {
	id, secret := p.Get("client_id"), p.Get("client_secret")
	if u, pw, ok := r.BasicAuth(); ok && id == "" {
		id, secret = u, pw
	}
	if id == "" {
		return nil, false
	}
	a, err := h.db.ClientAppByClientID(r.Context(), id)
	if err != nil {
		return nil, false
	}
	if secret == "" && !secretNeeded {
		return a, true
	}
	if subtle.ConstantTimeCompare([]byte(store.HashSecret(secret)), []byte(a.SecretHash)) != 1 {
		return nil, false
	}
	return a, true
}

// issueToken answers POST /oauth/token for the authorization_code,
// client_credentials and password grants, with the parameters as a form,
// JSON or in the query (Elk and Mammoth broke on servers that read only
// one of them).
func (h *Handler) issueToken(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(w, r)
	if err != nil {
		h.oauthError(w, r, http.StatusBadRequest, "invalid_request", "The request body could not be read.")
		return
	}
	grant := p.Get("grant_type")
	pkce := grant == "authorization_code" && p.Get("code_verifier") != ""
	app, ok := h.clientApp(r, p, !pkce)
	if !ok {
		h.oauthError(w, r, http.StatusUnauthorized, "invalid_client", "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.")
		return
	}
	now := h.now()
	raw := newSecret()
	t := &store.AccessToken{Hash: store.HashSecret(raw), App: *app, Owner: true, CreatedAt: now}
	granted, _ := parseScopes(app.Scopes)
	switch grant {
	case "authorization_code":
		err := h.db.ExchangeAuthCode(r.Context(), store.HashSecret(p.Get("code")), now, func(c *store.AuthCode) error {
			if c.AppID != app.ID {
				return store.ErrNotFound
			}
			if ru := p.Get("redirect_uri"); ru != "" && ru != c.RedirectURI {
				return errBadRedirect
			}
			if c.CodeChallenge != "" {
				sum := sha256.Sum256([]byte(p.Get("code_verifier")))
				if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(c.CodeChallenge)) != 1 {
					return errBadVerifier
				}
			} else if pkce {
				return errBadVerifier
			}
			return nil
		}, t)
		switch {
		case errors.Is(err, store.ErrCodeUsed):
			h.log.Warn("an authorization code was used twice; the token it gave is revoked", "app", app.Name)
			h.oauthError(w, r, http.StatusBadRequest, "invalid_grant", "The authorization code was used already. The token it gave has been revoked.")
			return
		case errors.Is(err, store.ErrNotFound):
			h.oauthError(w, r, http.StatusBadRequest, "invalid_grant", "The authorization code is invalid, expired, or belongs to another app.")
			return
		case errors.Is(err, errBadRedirect), errors.Is(err, errBadVerifier):
			h.oauthError(w, r, http.StatusBadRequest, "invalid_grant", err.Error())
			return
		case err != nil:
			h.serverError(w, r, err)
			return
		}
	case "client_credentials", "password":
		asked, ok := parseScopes(strings.Join(p.list("scope"), " "))
		if !ok || !within(asked, granted) {
			h.oauthError(w, r, http.StatusBadRequest, "invalid_scope", "The requested scope is invalid, unknown, or malformed.")
			return
		}
		t.Scopes = strings.Join(asked, " ")
		if grant == "client_credentials" {
			t.Owner = false
			if err := h.db.AddAccessToken(r.Context(), t); err != nil {
				h.serverError(w, r, err)
				return
			}
			break
		}
		if !h.isOwnerName(p.Get("username")) {
			h.oauthError(w, r, http.StatusBadRequest, "invalid_grant", "The user name or password is not right.")
			return
		}
		ok, retry := h.pages.CheckOwnerPassword(r, p.Get("password"))
		if !ok {
			if retry > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)+1))
				h.oauthError(w, r, http.StatusTooManyRequests, "invalid_grant", "Too many wrong passwords came from your network; try again later.")
				return
			}
			h.oauthError(w, r, http.StatusBadRequest, "invalid_grant", "The user name or password is not right.")
			return
		}
		if err := h.db.AddAccessToken(r.Context(), t); err != nil {
			h.serverError(w, r, err)
			return
		}
		h.log.Info("an app logged in with the password", "app", app.Name)
	default:
		h.oauthError(w, r, http.StatusBadRequest, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
		return
	}
	h.writeJSON(w, r, http.StatusOK, tokenJSON{AccessToken: raw, TokenType: "Bearer", Scope: t.Scopes, CreatedAt: now.Unix()})
}

var (
	errBadRedirect = errors.New("The redirect_uri is not the one the code was given for.")
	errBadVerifier = errors.New("The PKCE code_verifier does not match the code_challenge.")
)

// isOwnerName accepts the names the owner may log in with in the password
// grant: "me", their user name, @user@domain, or user@domain (what toot
// asks for as "Email").
func (h *Handler) isOwnerName(name string) bool {
	name = strings.TrimPrefix(strings.TrimSpace(name), "@")
	user, domain, hasDomain := strings.Cut(name, "@")
	if hasDomain && !strings.EqualFold(domain, h.urls.Domain()) {
		return false
	}
	return strings.EqualFold(user, h.urls.Username()) || (!hasDomain && user == "me")
}

// revokeToken answers POST /oauth/revoke. Like Mastodon it says 200 for a
// token that is unknown or already gone (RFC 7009 §2.2), but only to the
// app the token belongs to.
func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(w, r)
	if err != nil {
		h.oauthError(w, r, http.StatusBadRequest, "invalid_request", "The request body could not be read.")
		return
	}
	app, ok := h.clientApp(r, p, true)
	if !ok {
		h.oauthError(w, r, http.StatusForbidden, "unauthorized_client", "You are not authorized to revoke this token.")
		return
	}
	if tok := p.Get("token"); tok != "" {
		if _, err := h.db.RevokeAccessToken(r.Context(), store.HashSecret(tok), app.ID); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	h.writeJSON(w, r, http.StatusOK, struct{}{})
}
