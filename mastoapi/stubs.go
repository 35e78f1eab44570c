package mastoapi

import (
	"net/http"

	"kith/store"
)

// emptyList answers [] where kith has nothing to say (lists, filters,
// trends…): clients call these at start-up (Ivory asks for lists) and
// treat an error as a broken server.
func (h *Handler) emptyList(w http.ResponseWriter, r *http.Request) {
	h.writeJSON(w, r, http.StatusOK, []struct{}{})
}

// emptyObject answers {} (markers, when nothing was read).
func (h *Handler) emptyObject(w http.ResponseWriter, r *http.Request) {
	h.writeJSON(w, r, http.StatusOK, struct{}{})
}

// preferences answers GET /api/v1/preferences; Ivory needs it.
func (h *Handler) preferences(w http.ResponseWriter, r *http.Request) {
	h.writeJSON(w, r, http.StatusOK, map[string]any{
		"posting:default:visibility": "public",
		"posting:default:sensitive":  false,
		"posting:default:language":   nil,
		"reading:expand:media":       "default",
		"reading:expand:spoilers":    false,
	})
}

// homeTimeline answers GET /api/v1/timelines/home from the home table
// the inbox fills: the posts and boosts of the accounts the owner follows,
// and the owner's own.
func (h *Handler) homeTimeline(w http.ResponseWriter, r *http.Request) {
	entries, err := h.db.Home(r.Context(), store.HomeQuery{Page: page(r.URL.Query()), Owner: h.urls.Actor()})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeEntries(w, r, entries)
}

// publicTimeline answers GET /api/v1/timelines/public (local or not: kith
// keeps no federated public timeline of its own) with the owner's public
// posts.
func (h *Handler) publicTimeline(w http.ResponseWriter, r *http.Request) {
	posts, err := h.db.OwnPosts(r.Context(), store.OwnPostsQuery{
		Page: page(r.URL.Query()), Owner: h.urls.Actor(), Visibilities: []string{store.Public},
		OnlyMedia: isTrue(r.URL.Query().Get("only_media")),
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	statuses, err := h.statusViews(r.Context(), r, posts)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeStatuses(w, r, statuses)
}
