package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"kith/store"
)

// sessionTTL is how long a login lasts.
const sessionTTL = 30 * 24 * time.Hour

type sessionKey struct{}

// session is the logged-in owner's session, as pages see it.
type session struct {
	TokenHash string
	CSRF      string
}

// sessionFrom returns the request's session, or nil when no one is logged
// in.
func sessionFrom(r *http.Request) *session {
	s, _ := r.Context().Value(sessionKey{}).(*session)
	return s
}

// cookieName is __Host- prefixed over HTTPS, which makes browsers refuse
// the cookie unless it is Secure, host-only and for path /.
func (h *Handler) cookieName() string {
	if h.secure {
		return "__Host-kith_session"
	}
	return "kith_session"
}

// withSession loads the session named by the cookie, if any.
func (h *Handler) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(h.cookieName())
		if err == nil && c.Value != "" {
			s, err := h.db.SessionByHash(r.Context(), hashToken(c.Value), h.now())
			switch {
			case err == nil:
				// Whatever is shown to the owner (drafts, followers,
				// the CSRF token in every form) stays out of caches
				// and the browser's back-forward history on disk.
				// Handlers of public, unchanging files set their own.
				w.Header().Set("Cache-Control", "no-store")
				h.touchSession(r, s)
				r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, &session{TokenHash: s.TokenHash, CSRF: s.CSRF}))
			case !errors.Is(err, store.ErrNotFound):
				h.serverError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// sessionTouchEvery is how stale a session's "last seen" may get before a
// request updates it: often enough for the sessions page, rarely enough
// that reading pages does not mean writing to the database.
const sessionTouchEvery = 10 * time.Minute

// touchSession records when and from where the session was last used.
func (h *Handler) touchSession(r *http.Request, s *store.Session) {
	now, addr := h.now(), clientAddr(r)
	if now.Sub(s.LastSeenAt) < sessionTouchEvery && s.Address == addr {
		return
	}
	if err := h.db.TouchSession(r.Context(), s.TokenHash, now, addr); err != nil {
		h.log.Warn("could not record when a session was last used", "err", err)
	}
}

// owner wraps a handler that only the logged-in owner may use. Others are
// sent to the login page, and come back afterwards. Unsafe methods also
// need the session's CSRF token in the form field "csrf", on top of the
// cross-origin check every browser route has.
func (h *Handler) owner(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := sessionFrom(r)
		if s == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			h.showError(w, r, http.StatusUnauthorized, "Logged out", "Your session has ended. Log in again, then repeat what you were doing.")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !validCSRF(r, s.CSRF) {
				h.showError(w, r, http.StatusForbidden, "Form expired", "This form was not sent from a page of this site, or it is too old. Go back, reload the page and try again.")
				return
			}
		}
		next(w, r)
	}
}

// validCSRF compares the form's token with the session's in constant time.
// The form is parsed with the upload limit so a multipart body is read at
// most once, by the caller's limits.
func validCSRF(r *http.Request, want string) bool {
	got := r.FormValue("csrf")
	if got == "" {
		got = r.Header.Get("X-CSRF-Token")
	}
	return sameToken(got, want)
}

// sameToken compares a CSRF token sent with the session's, in constant
// time; an empty token is never valid.
func sameToken(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// startSession creates a session and sets its cookie.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request) (*store.Session, error) {
	token := rand.Text() + rand.Text() // 256 bits
	now := h.now()
	s := &store.Session{
		TokenHash: hashToken(token),
		CSRF:      rand.Text(),
		CreatedAt: now,
		ExpiresAt: now.Add(sessionTTL),
		UserAgent: truncate(r.UserAgent(), 200),
		Address:   clientAddr(r),
	}
	if err := h.db.AddSession(r.Context(), s); err != nil {
		return nil, err
	}
	http.SetCookie(w, &http.Cookie{
		Name:     h.cookieName(),
		Value:    token,
		Path:     "/",
		Expires:  s.ExpiresAt,
		MaxAge:   int(sessionTTL / time.Second),
		Secure:   h.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	return s, nil
}

// endSession deletes the session and its cookie.
func (h *Handler) endSession(w http.ResponseWriter, r *http.Request) error {
	if s := sessionFrom(r); s != nil {
		if err := h.db.DeleteSession(r.Context(), s.TokenHash); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: h.cookieName(), Value: "", Path: "/", MaxAge: -1,
		Secure: h.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// hashToken is how session tokens are stored.
func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// clientAddr is the client's IP address without the port. A request from
// loopback is from a reverse proxy on the same machine (the usual setup on
// a Pi or a small VPS): then the client is the last address in
// X-Forwarded-For, the one that proxy added. Earlier entries, and the
// header on requests from anywhere else, are the client's own say and are
// ignored.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			last = strings.TrimSpace(last[strings.LastIndexByte(last, ',')+1:])
			if fwd, err := netip.ParseAddr(last); err == nil {
				return fwd.Unmap().String()
			}
		}
	}
	return strings.ToLower(host)
}
