package web

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"unicode/utf8"

	"kith/ap"
	"kith/ap/media"
	"kith/store"
)

// Body limits of the owner's forms: a post carries up to four images of
// at most ap.MaxUploadBytes each, the profile an avatar and a header, and
// one more MiB leaves room for the text and the multipart framing.
const (
	postFormLimit    = ap.MaxAttachments*ap.MaxUploadBytes + 1<<20
	profileFormLimit = 2*ap.MaxUploadBytes + 1<<20
	smallFormLimit   = 64 << 10
)

// multipartMemory is how much of a multipart form is held in memory; the
// rest of the uploads waits in temporary files, so a 40 MB post does not
// cost 40 MB of RAM on a small machine.
const multipartMemory = 1 << 20

// form reads the body of a form request, at most limit bytes, before next
// runs: the CSRF check in owner needs the token from the body, and a body
// that is too large must be answered with 413 rather than read on. Bodies
// of requests without a session are left unread; owner refuses them.
func (h *Handler) form(limit int64, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if sessionFrom(r) == nil {
			next(w, r)
			return
		}
		if r.ContentLength > limit {
			h.tooLarge(w, r, limit)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		var err error
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
			err = r.ParseMultipartForm(multipartMemory)
			if r.MultipartForm != nil {
				// The server removes the temporary files too, but only
				// when it is net/http's server that called us.
				defer r.MultipartForm.RemoveAll()
			}
		} else {
			err = r.ParseForm()
		}
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			h.tooLarge(w, r, limit)
			return
		case err != nil:
			h.log.Info("unreadable form", "path", r.URL.Path, "err", err)
			h.showError(w, r, http.StatusBadRequest, "Form not readable",
				"The form could not be read, perhaps because the connection broke. Go back and send it again.")
			return
		}
		next(w, r)
	}
}

// tooLarge answers a form whose body is over its limit. Nothing of it was
// read, so nothing was stored.
func (h *Handler) tooLarge(w http.ResponseWriter, r *http.Request, limit int64) {
	var msg string
	switch limit {
	case postFormLimit:
		msg = fmt.Sprintf("The images are too large together: a post carries at most %d images of up to %d MB each. Nothing was saved; go back, choose smaller images and send the post again.",
			ap.MaxAttachments, ap.MaxUploadBytes>>20)
	case profileFormLimit:
		msg = fmt.Sprintf("The images are too large: the avatar and the header may have up to %d MB each. Nothing was saved; go back, choose smaller images and try again.",
			ap.MaxUploadBytes>>20)
	default:
		msg = "This form is too large to be sent. Nothing was saved; go back, shorten it and try again."
	}
	h.showError(w, r, http.StatusRequestEntityTooLarge, "Too large", msg)
}

// upload is an image file sent with a form.
type upload struct {
	file  *multipart.FileHeader
	field string // the form field it came in
	alt   string // its description, for post attachments
	label string // what it is, for messages ("The avatar"); "" for the file name alone
}

// formFiles returns the files sent in the form field name: an input with
// the multiple attribute sends several. A file input left empty sends a
// part without a file name, which is no file.
func formFiles(r *http.Request, name string) []*multipart.FileHeader {
	if r.MultipartForm == nil {
		return nil
	}
	var out []*multipart.FileHeader
	for _, fh := range r.MultipartForm.File[name] {
		if fh.Filename != "" {
			out = append(out, fh)
		}
	}
	return out
}

// formFile returns the file sent in the form field name, or nil. A field
// whose file input was left empty arrives without a file name and is not a
// file.
func formFile(r *http.Request, name string) *multipart.FileHeader {
	if r.MultipartForm == nil {
		return nil
	}
	fhs := r.MultipartForm.File[name]
	if len(fhs) == 0 || fhs[0].Filename == "" {
		return nil
	}
	return fhs[0]
}

// storeUploads stores the uploaded images in order. When one of them is
// not a usable image, the ones stored before it are deleted again, so a
// failed form keeps nothing, and problem says what was wrong in a sentence
// for the owner (with the HTTP status to answer). err is for failures that
// are not the owner's.
func (h *Handler) storeUploads(ctx context.Context, files []upload) (stored []*store.Media, problem string, status int, err error) {
	undo := func() {
		ids := make([]string, len(stored))
		for i, m := range stored {
			ids[i] = m.ID
		}
		if len(ids) > 0 {
			if err := h.db.DeleteMedia(ctx, ids...); err != nil {
				h.log.Error("delete uploads of a failed form", "err", err)
			}
		}
		stored = nil
	}
	for _, u := range files {
		f, err := u.file.Open()
		if err != nil {
			undo()
			return nil, "", 0, fmt.Errorf("open upload: %w", err)
		}
		m, err := h.ap.StoreUpload(ctx, f)
		f.Close()
		if err != nil {
			undo()
			what := quoteName(u.file.Filename)
			if u.label != "" {
				what = u.label + " " + what
			}
			if msg, status, ok := uploadProblem(what, err); ok {
				return nil, msg, status, nil
			}
			return nil, "", 0, err
		}
		stored = append(stored, m)
	}
	return stored, "", 0, nil
}

// quoteName shows a file name in a message, shortened if it is long.
func quoteName(name string) string {
	name = strings.ToValidUTF8(name, "")
	if utf8.RuneCountInString(name) > 60 {
		name = string([]rune(name)[:60]) + "…"
	}
	return "“" + name + "”"
}

// uploadProblem explains why an upload was refused, in a sentence about
// what (the file's name, or "The avatar"), or reports false when err is
// not about the file.
func uploadProblem(what string, err error) (string, int, bool) {
	switch {
	case errors.Is(err, media.ErrTooLarge):
		return fmt.Sprintf("%s is larger than %d MB; make it smaller and choose it again.", what, ap.MaxUploadBytes>>20),
			http.StatusRequestEntityTooLarge, true
	case errors.Is(err, media.ErrTooManyPixels):
		return fmt.Sprintf("%s has too many pixels (at most %d megapixels); scale it down and choose it again.", what, media.DefaultMaxPixels/1_000_000),
			http.StatusUnprocessableEntity, true
	case errors.Is(err, media.ErrCorrupt):
		return fmt.Sprintf("%s is damaged or incomplete, perhaps cut short while uploading; choose it again.", what),
			http.StatusUnprocessableEntity, true
	case errors.Is(err, media.ErrUnsupported):
		return fmt.Sprintf("%s is not a JPEG, PNG, GIF or WebP image.", what),
			http.StatusUnprocessableEntity, true
	}
	return "", 0, false
}

// ownerMessage turns an ap.ErrInvalid error into a sentence for the owner:
// its text after "invalid post: ", capitalised, with a full stop.
func ownerMessage(err error) string {
	s := err.Error()
	if _, rest, ok := strings.Cut(s, ap.ErrInvalid.Error()+": "); ok {
		s = rest
	}
	if s == "" {
		return "Something in the form is not right."
	}
	r, n := utf8.DecodeRuneInString(s)
	s = strings.ToUpper(string(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// localPath turns one of our absolute URLs into a path, for redirects that
// must stay on the host the browser uses.
func (h *Handler) localPath(abs string) string {
	if p, ok := strings.CutPrefix(abs, h.urls.Base()); ok && strings.HasPrefix(p, "/") {
		return p
	}
	return abs
}
