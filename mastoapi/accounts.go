package mastoapi

import (
	"net/http"
)

// verifyCredentials answers GET /api/v1/accounts/verify_credentials: the
// owner's account with its source, which apps edit the profile from.
func (h *Handler) verifyCredentials(w http.ResponseWriter, r *http.Request) {
	a, err := h.ownerAccount(r.Context(), true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, a)
}
