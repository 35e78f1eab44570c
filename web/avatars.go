package web

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"kith/store"
)

// avatarMaxAge is how long the owner's browser keeps a remote avatar that
// kith fetched for it.
const avatarMaxAge = 24 * time.Hour

// serveAvatar shows a remote actor's avatar on the owner's pages
// (/avatars?actor=IRI). kith fetches it, through the SSRF guard, instead of
// the browser: loaded directly, each avatar would tell the follower's
// server when the owner looks at the page, and from where. Only actors
// kith knows are served, from the icon their document names, so this is
// no open proxy; only images of the types kith accepts come back.
//
// With image=header it serves the actor's header image instead, for the
// remote profile page.
func (h *Handler) serveAvatar(w http.ResponseWriter, r *http.Request) {
	a, err := h.db.ActorByIRI(r.Context(), r.URL.Query().Get("actor"))
	src := ""
	if err == nil {
		src = a.IconURL
		if r.URL.Query().Get("image") == "header" {
			src = a.ImageURL
		}
	}
	if errors.Is(err, store.ErrNotFound) || err == nil && src == "" {
		http.NotFound(w, r)
		return
	} else if err != nil {
		h.serverError(w, r, err)
		return
	}
	body, _, err := h.ap.Fetcher().Get(r.Context(), src, "image/webp,image/png,image/jpeg,image/gif;q=0.9")
	if err != nil {
		h.log.Info("avatar not fetched", "actor", a.IRI, "err", err)
		http.NotFound(w, r)
		return
	}
	// The type is read from the bytes, not the sender's header: nothing
	// but an image of a kind browsers decode safely goes out.
	mt := http.DetectContentType(body)
	switch mt {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
	default:
		h.log.Info("avatar is not an image", "actor", a.IRI, "type", mt)
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", mt)
	hdr.Set("Cache-Control", "private, max-age="+strconv.Itoa(int(avatarMaxAge/time.Second)))
	hdr.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// avatarProxyURL is where the owner's pages load actor a's avatar from, or ""
// when a has none.
func avatarProxyURL(a *store.Actor) string {
	if a.IconURL == "" {
		return ""
	}
	return "/avatars?actor=" + url.QueryEscape(a.IRI)
}

// headerProxyURL is where the owner's pages load actor a's header image
// from, or "" when a has none.
func headerProxyURL(a *store.Actor) string {
	if a.ImageURL == "" {
		return ""
	}
	return "/avatars?image=header&actor=" + url.QueryEscape(a.IRI)
}
