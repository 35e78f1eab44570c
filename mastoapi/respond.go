package mastoapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"kith/ap"
	"kith/store"
)

// Mastodon's error texts that clients know.
const (
	msgInvalidToken = "The access token is invalid"
	msgOutOfScope   = "This action is outside the authorized scopes"
	msgNeedsUser    = "This method requires an authenticated user"
	msgNotFound     = "Record not found"
)

// writeJSON answers with v as JSON.
func (h *Handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		h.serverError(w, r, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("Content-Length", strconv.Itoa(buf.Len()))
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// apiError answers in Mastodon's error shape: {"error": "…"}.
func (h *Handler) apiError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.writeJSON(w, r, status, map[string]string{"error": msg})
}

// oauthError answers in the shape of RFC 6749 §5.2, as Mastodon's token
// endpoint does: {"error": "invalid_grant", "error_description": "…"}.
func (h *Handler) oauthError(w http.ResponseWriter, r *http.Request, status int, code, description string) {
	h.writeJSON(w, r, status, map[string]string{"error": code, "error_description": description})
}

// serverError logs err and answers 500 without its text.
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error("client API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	w.Write([]byte(`{"error":"Something went wrong on our side. The error has been logged."}` + "\n"))
}

// fail maps an error from the store or the ActivityPub service to
// Mastodon's answers: 404 for what does not exist, 422 with the message for
// a post or profile that cannot be accepted, 500 for the rest.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	var unprocessable errUnprocessable
	switch {
	case errors.As(err, &unprocessable):
		h.apiError(w, r, http.StatusUnprocessableEntity, unprocessable.msg)
	case errors.Is(err, store.ErrNotFound):
		h.apiError(w, r, http.StatusNotFound, msgNotFound)
	case errors.Is(err, ap.ErrInvalid):
		h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: "+err.Error())
	case errors.As(err, &tooBig):
		h.apiError(w, r, http.StatusRequestEntityTooLarge, "The request body is too large")
	case errors.Is(err, errBadBody):
		h.apiError(w, r, http.StatusBadRequest, err.Error())
	default:
		h.serverError(w, r, err)
	}
}

// noRoute answers a path the API does not have.
func (h *Handler) noRoute(w http.ResponseWriter, r *http.Request) {
	h.apiError(w, r, http.StatusNotFound, "Not found")
}
