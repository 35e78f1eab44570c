package mastoapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"kith/store"
)

// knownScopes are Mastodon's scopes: the four top-level ones and the
// granular ones under them. Admin scopes are known (apps ask for them) but
// grant nothing here: kith has no admin API.
var knownScopes = []string{
	"read", "write", "follow", "push", "profile",
	"read:accounts", "read:blocks", "read:bookmarks", "read:favourites", "read:filters", "read:follows",
	"read:lists", "read:mutes", "read:notifications", "read:search", "read:statuses",
	"write:accounts", "write:blocks", "write:bookmarks", "write:conversations", "write:favourites",
	"write:filters", "write:follows", "write:lists", "write:media", "write:mutes", "write:notifications",
	"write:reports", "write:statuses",
	"admin:read", "admin:write",
}

// followScopes are what the legacy "follow" scope grants.
var followScopes = []string{"read:follows", "write:follows", "read:blocks", "write:blocks", "read:mutes", "write:mutes"}

// parseScopes splits a scope string (space- or plus-separated, as clients
// send them) and checks every scope is known; empty means "read", as in
// Mastodon.
func parseScopes(s string) ([]string, bool) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '+' || r == ',' })
	if len(fields) == 0 {
		return []string{"read"}, true
	}
	var out []string
	for _, f := range fields {
		if !slices.Contains(knownScopes, f) && !strings.HasPrefix(f, "admin:") {
			return nil, false
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, true
}

// allows reports whether a token with scopes may do what needs: needs
// itself, or its top-level scope ("read" covers "read:statuses"), or
// "follow" for the follow, block and mute scopes.
func allows(scopes []string, need string) bool {
	if slices.Contains(scopes, need) {
		return true
	}
	top, _, _ := strings.Cut(need, ":")
	if slices.Contains(scopes, top) {
		return true
	}
	return slices.Contains(followScopes, need) && slices.Contains(scopes, "follow")
}

// within reports whether every scope asked for is covered by the app's.
func within(asked, granted []string) bool {
	for _, s := range asked {
		if !allows(granted, s) {
			return false
		}
	}
	return true
}

type tokenKey struct{}

// tokenFrom returns the request's verified token, or nil.
func tokenFrom(r *http.Request) *store.AccessToken {
	t, _ := r.Context().Value(tokenKey{}).(*store.AccessToken)
	return t
}

// bearer returns the token the request carries: in the Authorization
// header, or as access_token in the query (streaming clients and some
// scripts use it).
func bearer(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, tok, ok := strings.Cut(a, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	return r.URL.Query().Get("access_token")
}

// errNoToken is a request without a token.
var errNoToken = errors.New("no access token")

// token looks up the request's token.
func (h *Handler) token(ctx context.Context, r *http.Request) (*store.AccessToken, error) {
	raw := bearer(r)
	if raw == "" {
		return nil, errNoToken
	}
	t, err := h.db.AccessTokenByHash(ctx, store.HashSecret(raw))
	if err != nil {
		return nil, err
	}
	// "Last used" is for the apps page; a few minutes of slack spare a
	// write per request.
	if now := h.now(); now.Sub(t.LastUsed) > 5*time.Minute {
		if err := h.db.TouchAccessToken(ctx, t.Hash, now); err != nil {
			h.log.Warn("could not record when a token was used", "err", err)
		}
	}
	return t, nil
}

// user wraps an endpoint that acts for the owner: it needs a token
// granted by the owner (not a client_credentials one) with a scope that
// covers need.
func (h *Handler) user(need string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, err := h.token(r.Context(), r)
		switch {
		case errors.Is(err, errNoToken), errors.Is(err, store.ErrNotFound):
			h.apiError(w, r, http.StatusUnauthorized, msgInvalidToken)
			return
		case err != nil:
			h.serverError(w, r, err)
			return
		}
		scopes, _ := parseScopes(t.Scopes)
		if !allows(scopes, need) {
			h.apiError(w, r, http.StatusForbidden, msgOutOfScope)
			return
		}
		if !t.Owner {
			h.apiError(w, r, http.StatusUnprocessableEntity, msgNeedsUser)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, t)))
	}
}

// public wraps an endpoint anyone may call. A valid owner token with a
// read scope lets it show what only the owner may see; a token that is
// sent but invalid is refused, as Mastodon does, so a client learns that
// its login ended.
func (h *Handler) public(need string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, err := h.token(r.Context(), r)
		switch {
		case errors.Is(err, errNoToken):
			next(w, r)
			return
		case errors.Is(err, store.ErrNotFound):
			h.apiError(w, r, http.StatusUnauthorized, msgInvalidToken)
			return
		case err != nil:
			h.serverError(w, r, err)
			return
		}
		if scopes, _ := parseScopes(t.Scopes); t.Owner && allows(scopes, need) {
			r = r.WithContext(context.WithValue(r.Context(), tokenKey{}, t))
		}
		next(w, r)
	}
}

// isOwner reports whether the request carries the owner's token.
func isOwner(r *http.Request) bool { return tokenFrom(r) != nil }
