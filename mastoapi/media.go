package mastoapi

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"kith/ap"
	"kith/ap/media"
	"kith/store"
)

// maxMediaBody bounds an upload request: the image and its description.
const maxMediaBody = ap.MaxUploadBytes + 64<<10

// errUnprocessable is an upload kith cannot use; its text says why.
type errUnprocessable struct{ msg string }

func (e errUnprocessable) Error() string { return e.msg }

// mediaError turns ap/media's errors into answers: too large is 413, a
// file that is not an image kith takes is 422.
func mediaError(err error) error {
	switch {
	case errors.Is(err, media.ErrTooLarge):
		return &http.MaxBytesError{Limit: ap.MaxUploadBytes}
	case errors.Is(err, media.ErrUnsupported), errors.Is(err, media.ErrCorrupt), errors.Is(err, media.ErrTooManyPixels):
		return errUnprocessable{"Validation failed: " + strings.TrimPrefix(err.Error(), "media: ")}
	}
	return err
}

// parseFocus reads "x,y" with both from -1 to 1.
func parseFocus(s string) (x, y float64, ok bool) {
	xs, ys, found := strings.Cut(s, ",")
	if !found {
		return 0, 0, false
	}
	x, err1 := strconv.ParseFloat(strings.TrimSpace(xs), 64)
	y, err2 := strconv.ParseFloat(strings.TrimSpace(ys), 64)
	if err1 != nil || err2 != nil || x < -1 || x > 1 || y < -1 || y > 1 {
		return 0, 0, false
	}
	return x, y, true
}

// mediaNote reads description and focus over note; ok is false with a
// message when one is malformed.
func mediaNote(p params, note store.MediaNote) (store.MediaNote, string) {
	if p.has("description") {
		note.Description = strings.TrimSpace(p.Get("description"))
		if utf8.RuneCountInString(note.Description) > ap.MaxAltRunes {
			return note, fmt.Sprintf("Validation failed: the description has more than %d characters", ap.MaxAltRunes)
		}
	}
	if f := p.Get("focus"); f != "" {
		x, y, ok := parseFocus(f)
		if !ok {
			return note, "Validation failed: focus must be two numbers from -1 to 1, as x,y"
		}
		note.FocusX, note.FocusY = x, y
	}
	return note, ""
}

// uploadMedia answers POST /api/v1/media and /api/v2/media. kith
// processes images while the request waits, so it answers 200 with the
// URL (Mastodon answers 202 only while a video is still processing).
func (h *Handler) uploadMedia(w http.ResponseWriter, r *http.Request) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: send the file as multipart/form-data")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxMediaBody)
	if err := r.ParseMultipartForm(maxMediaBody); err != nil {
		h.fail(w, r, uploadError(err))
		return
	}
	files := r.MultipartForm.File["file"]
	if len(files) == 0 {
		h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: File can't be blank")
		return
	}
	note, msg := mediaNote(params{Values: r.MultipartForm.Value}, store.MediaNote{})
	if msg != "" {
		h.apiError(w, r, http.StatusUnprocessableEntity, msg)
		return
	}
	f, err := files[0].Open()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer f.Close()
	m, err := h.ap.StoreUpload(r.Context(), f)
	if err != nil {
		h.fail(w, r, uploadError(err))
		return
	}
	if note != (store.MediaNote{}) {
		if err := h.db.SetMediaNote(r.Context(), m.ID, note); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.writeJSON(w, r, http.StatusOK, h.mediaView(m, note))
}

// getMedia answers GET /api/v1/media/:id, which clients poll after a 202.
func (h *Handler) getMedia(w http.ResponseWriter, r *http.Request) {
	m, note, err := h.mediaByID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, h.mediaView(m, note))
}

func (h *Handler) mediaByID(r *http.Request) (*store.Media, store.MediaNote, error) {
	id := r.PathValue("id")
	if id == "" || len(id) > 64 {
		return nil, store.MediaNote{}, store.ErrNotFound
	}
	m, err := h.db.MediaByID(r.Context(), id)
	if err != nil {
		return nil, store.MediaNote{}, err
	}
	notes, err := h.db.MediaNotes(r.Context(), []string{id})
	return m, notes[id], err
}

// updateMedia answers PUT /api/v1/media/:id: the description and focus
// of an upload, before it is posted (an edit of the post changes a posted
// image's description).
func (h *Handler) updateMedia(w http.ResponseWriter, r *http.Request) {
	m, note, err := h.mediaByID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var p params
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseMultipartForm(maxBody); err != nil {
			h.fail(w, r, uploadError(err))
			return
		}
		p = params{Values: r.MultipartForm.Value}
	} else if p, err = readParams(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	note, msg := mediaNote(p, note)
	if msg != "" {
		h.apiError(w, r, http.StatusUnprocessableEntity, msg)
		return
	}
	if err := h.db.SetMediaNote(r.Context(), m.ID, note); err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, h.mediaView(m, note))
}
