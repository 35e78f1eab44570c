package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"kith/ap"
)

// importFormLimit is the body limit of the import form: the largest CSV
// ap reads, and room for the multipart framing.
const importFormLimit = ap.MaxImportBytes + 64<<10

// showExport sends one of Mastodon's CSV exports as a download.
func (h *Handler) showExport(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "archive.zip" {
		h.showArchiveExport(w, r)
		return
	}
	if !slices.Contains(ap.ExportNames, name) {
		h.showError(w, r, http.StatusNotFound, "No such export", "kith exports "+strings.Join(ap.ExportNames, ", ")+".")
		return
	}
	// Built in memory first, so a failure is an error page, not half a file.
	var buf bytes.Buffer
	if err := h.ap.ExportCSV(r.Context(), name, &buf); err != nil {
		h.serverError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Write(buf.Bytes())
}

// showArchiveExport sends the whole account as a Mastodon-layout archive.
// It is written to a file in the data directory first, not to memory: with
// the owner's images it may be far larger than kith's RAM, and a failure
// must be an error page rather than half a file.
func (h *Handler) showArchiveExport(w http.ResponseWriter, r *http.Request) {
	f, err := os.CreateTemp(h.dataDir, "kith-export-*.zip") // mode 0600
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := h.ap.ExportArchive(r.Context(), f); err != nil {
		h.serverError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="archive.zip"`)
	// A download of many megabytes outlasts the server's write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(archiveUploadTime))
	http.ServeContent(w, r, "archive.zip", h.now(), f)
}

// submitImport applies an uploaded CSV export of Mastodon's and says what
// it did, with a count of each outcome.
func (h *Handler) submitImport(w http.ResponseWriter, r *http.Request) {
	f, fh, err := r.FormFile("file")
	if err != nil {
		h.showError(w, r, http.StatusBadRequest, "No file", "Choose one of the CSV files of a Mastodon export, then press Import.")
		return
	}
	defer f.Close()
	res, err := h.ap.ImportCSV(r.Context(), fh.Filename, f, nil)
	switch {
	case errors.Is(err, ap.ErrInvalid):
		h.showError(w, r, http.StatusBadRequest, "Not imported", strings.TrimPrefix(err.Error(), ap.ErrInvalid.Error()+": "))
		return
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	msg := fmt.Sprintf("%s: %d rows; %d applied, %d already in place, %d failed.", res.Kind, res.Rows, res.Applied, res.Unchanged, len(res.Failed))
	if len(res.Failed) > 0 {
		msg += " First failure: " + res.Failed[0]
	}
	h.log.Info("import", "kind", res.Kind, "rows", res.Rows, "applied", res.Applied, "unchanged", res.Unchanged, "failed", len(res.Failed))
	data, err := h.movingData(r)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data.Flash = msg
	h.render(w, r, http.StatusOK, "moving", data)
}
