package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The client API (package mastoapi) shows its login and consent pages in
// the look of the others, and checks the owner's password under the same
// limits as the login page: both through the two methods below, so that
// neither the layout nor the rules against guessing exist twice.

// otherPage is the data of a page whose content another package fills.
type otherPage struct {
	page
	Data any
}

// RenderPage renders the page template name (listed in pageNames) with
// data as .Data. The page is never cached or indexed. formAction names
// the sources, besides this site, that the page's forms may lead to: the
// OAuth page's form answers with a redirect to the app, and browsers check
// form-action on redirects too.
func (h *Handler) RenderPage(w http.ResponseWriter, r *http.Request, status int, name, title string, data any, formAction ...string) {
	p, err := h.basePage(r, title)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	p.NoIndex = true
	w.Header().Set("Cache-Control", "no-store")
	var extra []string
	for _, s := range formAction {
		if s != "" && !strings.ContainsAny(s, " ;,'\"\r\n") {
			extra = append(extra, s)
		}
	}
	if len(extra) > 0 {
		w = &formActionWriter{ResponseWriter: w, extra: strings.Join(extra, " ")}
	}
	h.render(w, r, status, name, &otherPage{page: p, Data: data})
}

// formActionWriter widens the form-action directive of the
// Content-Security-Policy that render sets.
type formActionWriter struct {
	http.ResponseWriter
	extra string
}

func (f *formActionWriter) WriteHeader(status int) {
	hdr := f.Header()
	if csp := hdr.Get("Content-Security-Policy"); csp != "" {
		hdr.Set("Content-Security-Policy", strings.Replace(csp, "form-action 'self'", "form-action 'self' "+f.extra, 1))
	}
	f.ResponseWriter.WriteHeader(status)
}

// CheckOwnerPassword checks the owner's password for another way of
// logging in (an app's authorization, the password grant), slowed per
// network exactly as the login form is; a wrong password counts among the
// failures the owner hears of at their next login. When the network must
// wait, ok is false and retry says how long (zero when the client went
// away while waiting).
func (h *Handler) CheckOwnerPassword(r *http.Request, password string) (ok bool, retry time.Duration) {
	client := clientAddr(r)
	network := loginNetworkOf(client)
	allowed, retry := h.limiter.wait(r.Context(), network)
	if !allowed {
		return false, retry
	}
	acct, err := h.account(r.Context())
	if err != nil {
		h.limiter.done(network, false)
		h.log.Error("read the account to check a password", "err", err)
		return false, 0
	}
	if !CheckPassword(acct.PasswordHash, password) {
		h.limiter.done(network, false)
		h.log.Warn("failed login through the client API", "client", client)
		if err := h.db.AddLoginFailure(r.Context(), h.now(), client); err != nil {
			h.log.Error("count a failed login", "err", err)
		}
		return false, 0
	}
	h.limiter.done(network, true)
	return true, 0
}

// appsPage is the data of oauth-apps.html.
type appsPage struct {
	page
	Apps []appView
}

// appView is one authorized app on the apps page.
type appView struct {
	ID       int64
	Name     string
	Website  string
	Scopes   string
	Tokens   int
	Since    time.Time
	LastUsed string
}

// showApps lists the apps that hold a token for the owner.
func (h *Handler) showApps(w http.ResponseWriter, r *http.Request) {
	p, err := h.basePage(r, "Apps")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	apps, err := h.db.AuthorizedApps(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := &appsPage{page: p}
	if r.URL.Query().Get("revoked") != "" {
		data.Flash = "The app's access was revoked. It has to be authorized again to work."
	}
	now := h.now()
	for _, a := range apps {
		data.Apps = append(data.Apps, appView{
			ID: a.ID, Name: a.Name, Website: a.Website, Scopes: a.Scopes, Tokens: a.Tokens,
			Since: a.CreatedAt, LastUsed: sinceText(now, a.LastUsed),
		})
	}
	h.render(w, r, http.StatusOK, "oauth-apps", data)
}

// submitRevokeApp revokes every token of an app and forgets it.
func (h *Handler) submitRevokeApp(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PostFormValue("app"), 10, 64)
	if err != nil {
		h.showError(w, r, http.StatusBadRequest, "No such app", "The form did not name an app.")
		return
	}
	if _, err := h.db.RevokeApp(r.Context(), id); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings/apps?revoked=1", http.StatusSeeOther)
}
