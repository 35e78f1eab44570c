package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"kith/store"
)

// loginPage is the data of login.html.
type loginPage struct {
	page
	Next  string
	Error string
	// PlainHTTP explains, when the browser reached kith over plain HTTP
	// although its address is https, why logging in cannot work.
	PlainHTTP string
	// Passwd is the command that sets a new password.
	Passwd string
}

func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request) {
	if sessionFrom(r) != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	h.renderLogin(w, r, http.StatusOK, r.URL.Query().Get("next"), "")
}

func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, next, msg string) {
	p, err := h.basePage(r, "Log in")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	p.NoIndex = true
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodGet && r.URL.Query().Get("ended") == "all" {
		p.Flash = "You are logged out everywhere."
	}
	p.LocalOnly = h.local
	data := &loginPage{page: p, Next: safeNext(next), Error: msg, Passwd: h.passwdCommand}
	if h.secure && directPlainHTTP(r) {
		data.PlainHTTP = "This page came over plain HTTP, but kith serves " + h.urls.Base() +
			" and gives its login only to HTTPS connections: a browser would drop it, and you would land here again. " +
			"Open " + h.urls.Base() + "/login instead; if that does not answer, kith needs HTTPS in front of it: a reverse proxy such as Caddy, or kith serve --tls-cert and --tls-key (the README explains both)."
		h.log.Warn("login page served over plain HTTP to a browser; logging in needs HTTPS", "domain", h.urls.Domain(), "client", clientAddr(r))
	}
	h.render(w, r, status, "login", data)
}

// submitLogin checks the owner's password (single user: there is no user
// name) and starts a session. Guessing is slowed per network (see
// loginLimiter), never refused for everyone, so no one can keep the owner
// out; the owner hears of the wrong passwords at their next login.
func (h *Handler) submitLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.renderLogin(w, r, http.StatusBadRequest, "", "The form could not be read.")
		return
	}
	next := r.PostFormValue("next")
	client := clientAddr(r)
	network := loginNetworkOf(client)
	ok, retry := h.limiter.wait(r.Context(), network)
	if !ok {
		if retry == 0 {
			return // the browser went away while waiting
		}
		secs := int(retry/time.Second) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		h.renderLogin(w, r, http.StatusTooManyRequests, next,
			fmt.Sprintf("Too many wrong passwords came from your network. Nothing was checked; try again in %d seconds.", secs))
		return
	}
	acct, err := h.account(r.Context())
	if err != nil {
		h.limiter.done(network, false)
		h.serverError(w, r, err)
		return
	}
	if !CheckPassword(acct.PasswordHash, r.PostFormValue("password")) {
		h.limiter.done(network, false)
		h.log.Warn("failed login", "client", client)
		if err := h.db.AddLoginFailure(r.Context(), h.now(), client); err != nil {
			h.log.Error("count a failed login", "err", err)
		}
		h.renderLogin(w, r, http.StatusUnauthorized, next, "That password is not right.")
		return
	}
	h.limiter.done(network, true)
	w.Header().Set("Cache-Control", "no-store")
	sess, err := h.startSession(w, r)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	failed, err := h.db.TakeLoginFailures(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if failed.Count > 0 {
		h.showFailedLogins(w, r, sess, failed, safeNext(next))
		return
	}
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

// failedLoginsPage is the data of failed-logins.html.
type failedLoginsPage struct {
	page
	Failed store.LoginFailures
	Next   string
}

// showFailedLogins tells the owner, just logged in, how many wrong
// passwords were sent since their last login, before going on to next.
func (h *Handler) showFailedLogins(w http.ResponseWriter, r *http.Request, sess *store.Session, failed store.LoginFailures, next string) {
	p, err := h.basePage(r, "Wrong passwords since your last login")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	// The session starts with this response; show the page as the
	// owner's already.
	p.Owner, p.CSRF, p.NoIndex, p.LocalOnly = true, sess.CSRF, true, h.local
	h.render(w, r, http.StatusOK, "failed-logins", &failedLoginsPage{page: p, Failed: failed, Next: next})
}

func (h *Handler) submitLogout(w http.ResponseWriter, r *http.Request) {
	if err := h.endSession(w, r); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, h.urls.Profile(), http.StatusSeeOther)
}

// directPlainHTTP reports whether a request came straight from a browser
// over plain HTTP: no TLS, and no sign of a reverse proxy that would have
// ended TLS in front of kith (proxies add X-Forwarded-For,
// X-Forwarded-Proto or Forwarded).
func directPlainHTTP(r *http.Request) bool {
	if r.TLS != nil {
		return false
	}
	for _, h := range []string{"X-Forwarded-Proto", "X-Forwarded-For", "Forwarded"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	return true
}

// safeNext keeps a post-login redirect on this site: only a local path is
// allowed, never //host or a full URL. Without one the owner lands on the
// home timeline, where the owner reads and writes from. Control characters
// are refused outright: browsers drop tabs and newlines from a URL, so
// "/<TAB>/evil.example" would otherwise become //evil.example.
func safeNext(next string) string {
	const fallback = "/home"
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return fallback
	}
	if strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fallback
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return fallback
	}
	return next
}
