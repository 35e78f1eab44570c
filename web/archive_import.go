package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"kith/ap"
	"kith/store/archive"
)

// DefaultArchiveUploadLimit is the largest archive the settings page
// takes: what `kith import` accepts (archive.DefaultLimits.Total, the
// limit on the whole archive; a .zip of stored entries is no smaller than
// that), and room for the multipart framing.
const DefaultArchiveUploadLimit = 4<<30 + 1<<20

// archiveUploadTime is how long an archive upload may take: the server's
// read timeout of two minutes suits forms, not gigabytes from home.
const archiveUploadTime = 2 * time.Hour

// uploadPattern names the uploads waiting in the data directory, so that
// those a crash left behind are found and removed.
const uploadPattern = "kith-import-*.upload"

// archiveRefresh is how often, in seconds, the page reloads itself while
// an import runs.
const archiveRefresh = 2

// archiveImports runs the archives the owner uploads, one at a time, and
// keeps the last one's progress and result for the page.
type archiveImports struct {
	mu    sync.Mutex
	state importState
	jobs  chan importJob // holds the one upload waiting for RunImports
	// mine lists the uploads of this process in the data directory; any
	// other is left over from a crash.
	mine map[string]bool
}

// importJob is an uploaded archive waiting in the data directory.
type importJob struct {
	path, name string
}

// importState is what the page shows of the last import.
type importState struct {
	File     string // the name it was uploaded under
	Running  bool   // uploaded and not finished: waiting or importing
	Progress ap.ArchiveProgress
	Started  time.Time
	Finished time.Time
	Result   *ap.ArchiveResult
	Err      string // why it stopped, for the owner
}

// PhaseLabel says in words what the import is doing.
func (st importState) PhaseLabel() string {
	switch p := st.Progress.Phase; p {
	case "waiting":
		return "waiting to start"
	case "checking":
		return "checking the archive"
	case "profile":
		return "avatar and header"
	case "posts":
		return "posts"
	default:
		return "applying " + p
	}
}

func newArchiveImports() *archiveImports {
	return &archiveImports{jobs: make(chan importJob, 1), mine: map[string]bool{}}
}

// create makes the file an upload is written to (mode 0600).
func (ai *archiveImports) create(dir string) (*os.File, error) {
	ai.mu.Lock()
	defer ai.mu.Unlock()
	f, err := os.CreateTemp(dir, uploadPattern)
	if err == nil {
		ai.mine[f.Name()] = true
	}
	return f, err
}

// remove deletes an upload.
func (ai *archiveImports) remove(path string) {
	ai.mu.Lock()
	defer ai.mu.Unlock()
	os.Remove(path)
	delete(ai.mine, path)
}

// removeStale deletes the uploads in dir that are not this process's.
func (ai *archiveImports) removeStale(dir string) {
	ai.mu.Lock()
	defer ai.mu.Unlock()
	left, _ := filepath.Glob(filepath.Join(dir, uploadPattern))
	for _, f := range left {
		if !ai.mine[f] {
			os.Remove(f)
		}
	}
}

// queue starts job unless an import is waiting or running.
func (ai *archiveImports) queue(job importJob, now time.Time) bool {
	ai.mu.Lock()
	defer ai.mu.Unlock()
	if ai.state.Running {
		return false
	}
	select {
	case ai.jobs <- job:
	default:
		return false
	}
	ai.state = importState{File: job.name, Running: true, Started: now, Progress: ap.ArchiveProgress{Phase: "waiting"}}
	return true
}

// busy reports whether an import is waiting or running.
func (ai *archiveImports) busy() bool {
	ai.mu.Lock()
	defer ai.mu.Unlock()
	return ai.state.Running
}

func (ai *archiveImports) progress(p ap.ArchiveProgress) {
	ai.mu.Lock()
	ai.state.Progress = p
	ai.mu.Unlock()
}

func (ai *archiveImports) finish(res ap.ArchiveResult, errText string, now time.Time) {
	ai.mu.Lock()
	ai.state.Running, ai.state.Finished, ai.state.Result, ai.state.Err = false, now, &res, errText
	ai.mu.Unlock()
}

func (ai *archiveImports) snapshot() importState {
	ai.mu.Lock()
	defer ai.mu.Unlock()
	return ai.state
}

// RunImports runs the archive imports the settings page queues, one at a
// time, until ctx is done; that also stops a running import between two
// posts (importing the archive again goes on where it stopped). Uploads
// an earlier run left in the data directory are removed first.
func (h *Handler) RunImports(ctx context.Context) {
	h.imports.removeStale(h.dataDir)
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-h.imports.jobs:
			h.runImport(ctx, job)
		}
	}
}

// runImport imports one uploaded archive with the code kith import runs,
// and removes the upload.
func (h *Handler) runImport(ctx context.Context, job importJob) {
	defer h.imports.remove(job.path)
	h.log.Info("archive import started", "file", job.name)
	res, err := h.ap.ImportArchiveFile(ctx, job.path, h.imports.progress)
	var msg string
	switch {
	case err == nil:
	case errors.Is(err, archive.ErrRefused):
		msg = err.Error() + "; nothing was imported."
	case errors.Is(err, ap.ErrInvalid):
		msg = strings.TrimPrefix(err.Error(), ap.ErrInvalid.Error()+": ") + "."
	case ctx.Err() != nil:
		msg = "kith stopped before the import finished. Upload the archive again: what is in already stays as it is, and the rest follows."
	default:
		h.log.Error("archive import failed", "file", job.name, "err", err)
		msg = "The import failed; the server's log says why. Upload the archive again to go on where it stopped."
	}
	h.log.Info("archive import finished", "file", job.name, "posts", res.Posts, "unchanged", res.Unchanged,
		"media", res.Media, "media_skipped", res.MediaSkipped, "avatar", res.Avatar, "header", res.Header, "err", err)
	h.imports.finish(res, msg, h.now())
}

// archivePage is the data of archive.html.
type archivePage struct {
	page
	Import    *importState // nil before the first upload
	LimitText string
}

// showArchiveImport shows the upload form, or how far the running import
// has come (reloading itself, without JavaScript), and the last result.
func (h *Handler) showArchiveImport(w http.ResponseWriter, r *http.Request) {
	p, err := h.basePage(r, "Import a Mastodon archive")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := &archivePage{page: p, LimitText: byteSize(h.archiveLimit)}
	if st := h.imports.snapshot(); st.File != "" {
		data.Import = &st
		if st.Running {
			data.Refresh = archiveRefresh
		}
	}
	h.render(w, r, http.StatusOK, "archive", data)
}

// submitArchiveImport takes an uploaded archive and queues its import.
// The body is streamed to a file in the data directory (0600), never held
// in memory; it is read in order, so the form puts its CSRF token before
// the file, and the token is checked before any of the file is written.
func (h *Handler) submitArchiveImport(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r)
	if s == nil {
		h.showError(w, r, http.StatusUnauthorized, "Logged out", "Your session has ended. Log in again, then repeat what you were doing.")
		return
	}
	tooLarge := func() {
		h.showError(w, r, http.StatusRequestEntityTooLarge, "Too large",
			fmt.Sprintf("The archive is larger than the %s kith imports. Nothing was imported.", byteSize(h.archiveLimit)))
	}
	if r.ContentLength > h.archiveLimit {
		tooLarge()
		return
	}
	// Not supported by every ResponseWriter (tests' recorders); the
	// server's own timeouts then stay. The write deadline runs from the
	// end of the headers too, so the answer after a long upload needs it.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(archiveUploadTime))
	_ = rc.SetWriteDeadline(time.Now().Add(archiveUploadTime + time.Minute))
	r.Body = http.MaxBytesReader(w, r.Body, h.archiveLimit)
	mr, err := r.MultipartReader()
	if err != nil {
		h.showError(w, r, http.StatusBadRequest, "Form not readable", "Send the archive with the form on the import page.")
		return
	}
	part, err := mr.NextPart()
	var token []byte
	if err == nil && part.FormName() == "csrf" {
		token, _ = io.ReadAll(io.LimitReader(part, 256))
	}
	if !sameToken(string(token), s.CSRF) {
		h.showError(w, r, http.StatusForbidden, "Form expired", "This form was not sent from a page of this site, or it is too old. Go back, reload the page and try again.")
		return
	}
	part, err = mr.NextPart()
	if err != nil || part.FormName() != "file" || part.FileName() == "" {
		h.showError(w, r, http.StatusBadRequest, "No file", "Choose the archive (.zip or .tar.gz) Mastodon made for you, then press Upload.")
		return
	}
	if h.imports.busy() {
		h.showError(w, r, http.StatusConflict, "An import is running", "One archive is imported at a time. Wait until it is done; its page shows how far it has come.")
		return
	}
	f, err := h.imports.create(h.dataDir)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	_, err = io.Copy(f, part)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var big *http.MaxBytesError
	switch {
	case errors.As(err, &big):
		h.imports.remove(f.Name())
		tooLarge()
		return
	case err != nil:
		h.imports.remove(f.Name())
		h.log.Info("archive upload broke off", "err", err)
		h.showError(w, r, http.StatusBadRequest, "Upload incomplete", "The upload broke off before the end of the file. Nothing was imported; try again.")
		return
	}
	name := filepath.Base(strings.ReplaceAll(part.FileName(), `\`, "/"))
	if !h.imports.queue(importJob{path: f.Name(), name: name}, h.now()) {
		h.imports.remove(f.Name())
		h.showError(w, r, http.StatusConflict, "An import is running", "One archive is imported at a time. Wait until it is done; its page shows how far it has come.")
		return
	}
	http.Redirect(w, r, "/settings/archive", http.StatusSeeOther)
}
