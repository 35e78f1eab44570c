package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
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
// name) and starts a session.
func (h *Handler) submitLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	client := clientAddr(r)
	ok, wait, attempt := h.limiter.begin(client)
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		h.renderLogin(w, r, http.StatusTooManyRequests, r.FormValue("next"),
			fmt.Sprintf("Too many wrong passwords. Try again in %d minutes.", int(wait/time.Minute)+1))
		return
	}
	if err := r.ParseForm(); err != nil {
		h.renderLogin(w, r, http.StatusBadRequest, "", "The form could not be read.")
		return
	}
	acct, err := h.account(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if !CheckPassword(acct.PasswordHash, r.PostFormValue("password")) {
		h.log.Warn("failed login", "client", client)
		h.renderLogin(w, r, http.StatusUnauthorized, r.PostFormValue("next"), "That password is not right.")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.limiter.succeed(client, attempt)
	if err := h.startSession(w, r); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
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
// compose page, which is what logging in is mostly for. Control characters
// are refused outright: browsers drop tabs and newlines from a URL, so
// "/<TAB>/evil.example" would otherwise become //evil.example.
func safeNext(next string) string {
	const fallback = "/compose"
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
