package web

import (
	"bytes"
	"crypto/hmac"
	"errors"
	"net/http"
	"strconv"
	"time"

	"kith/store"
)

// Limits of the media proxy.
const (
	proxyMaxBytes = 8 << 20 // a photo as Mastodon keeps it fits
	proxyMaxAge   = 7 * 24 * time.Hour
	// proxyTouchEvery is how stale an image's last use may be before a
	// visit records a new one: eviction needs the hour, not the second,
	// and serving stays a read.
	proxyTouchEvery = time.Hour
)

// serveProxiedMedia serves a remote image that one of kith's pages shows
// (GET /proxy/{mac}?url=), from the remote_media cache or fetched once
// through the SSRF-guarded fetcher. Visitors' browsers then load nothing
// from other servers, which would learn who reads the owner's pages and
// from where. Only URLs signed by this server (the mac) are served, so it
// is no open proxy; only images of the types browsers decode safely come
// back, read from their bytes, at most 8 MiB.
func (h *Handler) serveProxiedMedia(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	remote := r.URL.Query().Get("url")
	acct, err := h.account(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if remote == "" || len(remote) > maxIRILength || !hmac.Equal([]byte(r.PathValue("mac")), []byte(proxyMAC(acct, remote))) {
		http.NotFound(w, r)
		return
	}
	m, err := h.db.RemoteMediaByURL(ctx, remote)
	if errors.Is(err, store.ErrNotFound) {
		m, err = h.fetchRemoteMedia(r, remote)
		if m == nil && err == nil {
			http.NotFound(w, r)
			return
		}
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if now := h.now(); now.Sub(m.UsedAt) >= proxyTouchEvery {
		if err := h.db.TouchRemoteMedia(ctx, remote, now); err != nil {
			h.log.Warn("remote media use not recorded", "url", remote, "err", err) // the image is served all the same
		}
	}
	hdr := w.Header()
	hdr.Set("Content-Type", m.MediaType)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(proxyMaxAge/time.Second))+", immutable")
	hdr.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", m.FetchedAt, bytes.NewReader(m.Data))
}

// fetchRemoteMedia fetches and caches a remote image. It returns nil
// without an error when the file is not an image kith serves or could not
// be fetched; that is logged, not cached, so it is tried again later.
func (h *Handler) fetchRemoteMedia(r *http.Request, remote string) (*store.RemoteMedia, error) {
	body, err := h.ap.Fetcher().GetMedia(r.Context(), remote, "image/webp,image/png,image/jpeg,image/gif;q=0.9", proxyMaxBytes)
	if err != nil {
		h.log.Info("remote media not fetched", "url", remote, "err", err)
		return nil, nil
	}
	// The type comes from the bytes, not the sender's header.
	mt := http.DetectContentType(body)
	if !imageTypes[mt] {
		h.log.Info("remote media is not an image kith serves", "url", remote, "type", mt)
		return nil, nil
	}
	m := store.RemoteMedia{URL: remote, MediaType: mt, Data: body, FetchedAt: h.now()}
	if err := h.db.PutRemoteMedia(r.Context(), m); err != nil {
		return nil, err
	}
	return &m, nil
}
