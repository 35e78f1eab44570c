package web

import (
	"fmt"
	"net/http"

	"kith/store"
)

// statusPage is the data of status.html.
type statusPage struct {
	page
	Size   store.Size
	Stats  store.Stats
	Pruned []store.PruneRun
	// MediaCache is the cap on the remote image cache (--media-cache).
	MediaCache int64
}

// showStatus serves /settings/status to the owner: how big the database
// is, what it holds, what is queued, and what pruning removed and when.
func (h *Handler) showStatus(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := h.basePage(r, "Status")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := &statusPage{page: p, MediaCache: h.ap.MediaCacheLimit()}
	data.NoIndex = true
	if data.Size, err = h.db.Size(ctx); err != nil {
		h.serverError(w, r, err)
		return
	}
	if data.Stats, err = h.db.Stats(ctx); err != nil {
		h.serverError(w, r, err)
		return
	}
	if data.Pruned, err = h.db.PruneRuns(ctx); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "status", data)
}

// byteSize writes a number of bytes for people: "1.4 MB".
func byteSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
