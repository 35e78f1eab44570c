package web

import (
	"net/http"
	"time"
)

// passwordPage is the data of password.html.
type passwordPage struct {
	page
	Error     string
	MinLength int
}

func (h *Handler) showPassword(w http.ResponseWriter, r *http.Request) {
	flash := ""
	if r.URL.Query().Get("changed") != "" {
		flash = "Password changed. Every other browser was logged out."
	}
	h.renderPassword(w, r, http.StatusOK, "", flash)
}

func (h *Handler) renderPassword(w http.ResponseWriter, r *http.Request, status int, problem, flash string) {
	p, err := h.basePage(r, "Password")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := &passwordPage{page: p, Error: problem, MinLength: MinPasswordLength}
	data.Title = "Password · " + p.Site.Name
	data.Flash = flash
	h.render(w, r, status, "password", data)
}

// submitPassword changes the owner's password. The current one is asked
// for, so that a browser left logged in is not enough to lock the owner
// out. Every session ends with the change; this browser gets a new one.
func (h *Handler) submitPassword(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	acct, err := h.account(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	current, next, again := r.PostFormValue("current"), r.PostFormValue("new"), r.PostFormValue("confirm")
	if !CheckPassword(acct.PasswordHash, current) {
		h.log.Warn("password change refused: the current password was wrong", "client", clientAddr(r))
		h.renderPassword(w, r, http.StatusUnprocessableEntity, "The current password is not right; nothing was changed.", "")
		return
	}
	if next != again {
		h.renderPassword(w, r, http.StatusUnprocessableEntity, "The two new passwords differ; type the same one twice.", "")
		return
	}
	if next == current {
		h.renderPassword(w, r, http.StatusUnprocessableEntity, "The new password is the one you have; choose another.", "")
		return
	}
	hash, err := HashPassword(next)
	if err != nil {
		h.renderPassword(w, r, http.StatusUnprocessableEntity, ownerMessage(err), "")
		return
	}
	if err := h.db.SetPasswordHash(ctx, hash, h.now()); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.log.Info("the owner changed the password; every session ended", "client", clientAddr(r))
	if _, err := h.startSession(w, r); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings/password?changed=1", http.StatusSeeOther)
}

// sessionsPage is the data of sessions.html.
type sessionsPage struct {
	page
	Sessions []sessionView
}

// sessionView is one logged-in browser as the owner reads it. ID is the
// stored hash of its cookie, which names it in forms but cannot be used
// as a cookie.
type sessionView struct {
	ID       string
	Browser  string
	Address  string
	Since    time.Time
	LastSeen string
	Current  bool
}

func (h *Handler) showSessions(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := h.basePage(r, "Logged-in browsers")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	now := h.now()
	sessions, err := h.db.Sessions(ctx, now)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := &sessionsPage{page: p}
	data.Title = "Logged-in browsers · " + p.Site.Name
	if r.URL.Query().Get("ended") != "" {
		data.Flash = "That browser is logged out."
	}
	cur := sessionFrom(r)
	for _, s := range sessions {
		v := sessionView{
			ID: s.TokenHash, Browser: agentName(s.UserAgent), Address: s.Address,
			Since: s.CreatedAt, LastSeen: sinceText(now, s.LastSeenAt), Current: s.TokenHash == cur.TokenHash,
		}
		if v.Current {
			v.LastSeen = "now"
		}
		data.Sessions = append(data.Sessions, v)
	}
	h.render(w, r, http.StatusOK, "sessions", data)
}

// submitEndSession logs out one browser (the form's "session"), or every
// browser, this one included, when the form asks for "all".
func (h *Handler) submitEndSession(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.PostFormValue("all") != "" {
		n, err := h.db.DeleteAllSessions(ctx)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		h.log.Info("the owner logged out everywhere", "sessions", n, "client", clientAddr(r))
		if err := h.endSession(w, r); err != nil {
			h.serverError(w, r, err)
			return
		}
		http.Redirect(w, r, "/login?ended=all", http.StatusSeeOther)
		return
	}
	id := r.PostFormValue("session")
	if id == "" {
		h.showError(w, r, http.StatusBadRequest, "No browser chosen", "Go back and choose the browser to log out.")
		return
	}
	if id == sessionFrom(r).TokenHash {
		if err := h.endSession(w, r); err != nil {
			h.serverError(w, r, err)
			return
		}
		http.Redirect(w, r, h.localPath(h.urls.Profile()), http.StatusSeeOther)
		return
	}
	if err := h.db.DeleteSession(ctx, id); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings/sessions?ended=1", http.StatusSeeOther)
}
