package web

import (
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"kith/ap"
	"kith/store"
)

// postForm is the compose and edit form as the owner filled it in. It is
// shown again, unchanged, after a preview or an error.
type postForm struct {
	Title      string
	Text       string // Markdown
	CW         string // content warning, the post's summary
	Sensitive  bool
	Visibility string
	Language   string
	// Attached are images already stored: the post's attachments when
	// editing, and uploads of an earlier preview, carried as hidden ids so
	// they need not be uploaded again.
	Attached []formMedia
	// NewAlts are the descriptions typed for the empty upload slots.
	NewAlts []string
	// InReplyTo is the IRI of the post answered, or "".
	InReplyTo string
	// Key is the compose form's one-time publish key, made when the form
	// is first shown and carried through previews and errors: the form
	// publishes once, however often it is sent.
	Key string
	// ScheduleAt is the datetime-local value of "Publish later", "" to
	// publish now; UTCOffset is the time zone it is in, in minutes.
	ScheduleAt string
	UTCOffset  string
}

// formMedia is a stored image attached to the form.
type formMedia struct {
	ID         string
	Alt        string
	PreviewURL string
	Width      int
	Height     int
}

// uploadSlot is a file input for new images, with a description for the
// first of them.
type uploadSlot struct {
	N    int
	Alt  string
	Room int // how many more images the post can take
}

// visibilityOption is one choice of who may see a post.
type visibilityOption struct {
	Value   string
	Label   string
	Hint    string
	Checked bool
}

// visibilities explains the four visibilities in one line each.
var visibilities = [...]visibilityOption{
	{Value: store.Public, Label: "Public", Hint: "Anyone can see it; it shows on your profile, in your feeds and on tag pages, and other servers may list it in public timelines."},
	{Value: store.Unlisted, Label: "Unlisted", Hint: "Anyone with the link can see it, but it stays out of your public profile, feeds, tag pages and public timelines."},
	{Value: store.Followers, Label: "Followers only", Hint: "Only your followers and the people you mention can see it."},
	{Value: store.Direct, Label: "Direct", Hint: "Only the people you mention can see it."},
}

// composePage is the data of compose.html and edit.html.
type composePage struct {
	page
	Form         postForm
	Action       string // where the form is sent
	Post         *postView
	Visibilities []visibilityOption
	Slots        []uploadSlot
	MaxImages    int
	Offsets      []offsetOption // the time zones "Publish later" offers
	Error        string
	Preview      *postView
	PreviewNote  string    // mentions the preview could not resolve
	ReplyTo      *cardView // the post answered, shown above the form
}

// showCompose shows an empty form. The language is the one of the last
// post, which is most likely the one of the next.
func (h *Handler) showCompose(w http.ResponseWriter, r *http.Request) {
	f := postForm{Visibility: store.Public, Key: rand.Text()}
	offset, err := h.db.ScheduleOffset(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	f.UTCOffset = strconv.Itoa(offset)
	last, err := h.db.LocalPosts(r.Context(), store.PostQuery{
		Visibilities: []string{store.Public, store.Unlisted, store.Followers, store.Direct}, Limit: 1,
	})
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if len(last) > 0 {
		f.Language = last[0].Language
	}
	if iri := r.URL.Query().Get("in_reply_to"); iri != "" {
		if !h.fillReply(w, r, &f, iri) {
			return
		}
	}
	h.renderPostForm(w, r, http.StatusOK, nil, f, "", nil, "")
}

// showEdit shows the form filled in from one of our posts.
func (h *Handler) showEdit(w http.ResponseWriter, r *http.Request) {
	post, ok := h.editablePost(w, r)
	if !ok {
		return
	}
	f := postForm{
		Title: post.Title, Text: post.Source, CW: post.Summary, Sensitive: post.Sensitive && post.Summary == "",
		Visibility: post.Visibility, Language: post.Language,
	}
	for _, a := range post.Attachments {
		if a.MediaID == "" {
			continue
		}
		m, err := h.db.MediaByID(r.Context(), a.MediaID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			h.serverError(w, r, err)
			return
		}
		f.Attached = append(f.Attached, h.formMedia(m, a.Description))
	}
	h.renderPostForm(w, r, http.StatusOK, post, f, "", nil, "")
}

// editablePost loads the post named in the path, answering 404 (and
// reporting false) when it is not one of ours or is deleted.
func (h *Handler) editablePost(w http.ResponseWriter, r *http.Request) (*store.Post, bool) {
	post, err := h.db.PostByLocalID(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) || err == nil && (post.LocalID == "" || !post.DeletedAt.IsZero()) {
		h.notFound(w, r)
		return nil, false
	} else if err != nil {
		h.serverError(w, r, err)
		return nil, false
	}
	return post, true
}

func (h *Handler) submitCompose(w http.ResponseWriter, r *http.Request) {
	h.submitPostForm(w, r, nil)
}

func (h *Handler) submitEdit(w http.ResponseWriter, r *http.Request) {
	post, ok := h.editablePost(w, r)
	if !ok {
		return
	}
	h.submitPostForm(w, r, post)
}

// submitPostForm previews, publishes or (when post is not nil) saves an
// edit. New images are stored first; if one of them is not a usable image,
// the others of this request are deleted and the form comes back with
// everything typed and one sentence about the file.
func (h *Handler) submitPostForm(w http.ResponseWriter, r *http.Request, post *store.Post) {
	ctx := r.Context()
	f, files, problem, err := h.readPostForm(r)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if post != nil {
		f.Visibility = post.Visibility
	}
	if problem != "" {
		h.renderPostForm(w, r, http.StatusUnprocessableEntity, post, f, problem, nil, "")
		return
	}
	stored, problem, status, err := h.storeUploads(ctx, files)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if problem != "" {
		h.renderPostForm(w, r, status, post, f, problem, nil, "")
		return
	}
	for i, m := range stored {
		f.Attached = append(f.Attached, h.formMedia(m, files[i].alt))
	}
	if len(stored) > 0 {
		f.NewAlts = nil // their descriptions moved with them
	}
	d := f.draft()

	if r.PostFormValue("action") == "preview" {
		html, unresolved, err := h.ap.Preview(ctx, d)
		if errors.Is(err, ap.ErrInvalid) {
			h.renderPostForm(w, r, http.StatusUnprocessableEntity, post, f, ownerMessage(err), nil, "")
			return
		} else if err != nil {
			h.serverError(w, r, err)
			return
		}
		acct, err := h.account(ctx)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		pv := postView{
			Title: strings.TrimSpace(f.Title), Summary: strings.TrimSpace(f.CW), Content: template.HTML(html),
			Visibility: orDefault(f.Visibility, store.Public), Lang: strings.TrimSpace(f.Language),
			Permalink: "#preview", Author: h.ownAuthor(acct), Published: h.now(),
			Sensitive: f.Sensitive || strings.TrimSpace(f.CW) != "",
		}
		if post != nil {
			pv.Published, pv.Updated = post.Published, h.now()
		}
		for _, m := range f.Attached {
			pv.Attachments = append(pv.Attachments, attachmentView{URL: m.PreviewURL, PreviewURL: m.PreviewURL, Description: m.Alt, Width: m.Width, Height: m.Height})
		}
		h.renderPostForm(w, r, http.StatusOK, post, f, "", &pv, unresolvedNotice(unresolved))
		return
	}

	if post == nil && strings.TrimSpace(f.ScheduleAt) != "" {
		h.schedulePost(w, r, f, d)
		return
	}
	var pub *ap.Published
	if post == nil {
		pub, err = h.ap.Publish(ctx, d)
	} else {
		d.Key = "" // an edit saved twice is the same edit
		pub, err = h.ap.Edit(ctx, post.LocalID, d)
	}
	switch {
	case errors.Is(err, ap.ErrInvalid):
		// The uploads stay attached as hidden ids: the owner fixes the
		// text and sends the form again without choosing them again.
		h.renderPostForm(w, r, http.StatusUnprocessableEntity, post, f, ownerMessage(err), nil, "")
		return
	case errors.Is(err, store.ErrNotFound):
		h.notFound(w, r) // deleted while being edited
		return
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	if pub.Repeated && len(stored) > 0 {
		// The form came again with its files: the first sending has
		// them already.
		ids := make([]string, len(stored))
		for i, m := range stored {
			ids[i] = m.ID
		}
		if err := h.db.DeleteMedia(ctx, ids...); err != nil {
			h.log.Error("delete the uploads of a repeated form", "err", err)
		}
	}
	q := url.Values{}
	if post == nil {
		q.Set("published", "1")
	} else {
		q.Set("edited", "1")
	}
	for _, m := range pub.Unresolved {
		q.Add("unresolved", m)
	}
	http.Redirect(w, r, h.localPath(h.urls.PostPage(pub.Post.LocalID))+"?"+q.Encode(), http.StatusSeeOther)
}

// readPostForm reads the fields of the compose or edit form, looks up the
// images attached earlier and collects the new files. problem is a
// sentence for the owner when the form cannot be used as it is.
func (h *Handler) readPostForm(r *http.Request) (f postForm, files []upload, problem string, err error) {
	f = postForm{
		Title:      r.PostFormValue("title"),
		Text:       r.PostFormValue("text"),
		CW:         r.PostFormValue("cw"),
		Sensitive:  r.PostFormValue("sensitive") != "",
		Visibility: r.PostFormValue("visibility"),
		Language:   r.PostFormValue("language"),
		Key:        r.PostFormValue("key"),
		InReplyTo:  r.PostFormValue("in_reply_to"),
		ScheduleAt: r.PostFormValue("schedule_at"),
		UTCOffset:  r.PostFormValue("utc_offset"),
	}
	if len(f.ScheduleAt) > 64 {
		f.ScheduleAt = "x" // not a time: said so when used
	}
	if len(f.Key) > 64 {
		f.Key = ""
	}
	if len(f.InReplyTo) > maxIRILength {
		return f, nil, "The post you answer has an address too long to be real.", nil
	}
	seen := map[string]bool{}
	for _, id := range r.PostForm["media"] {
		if id == "" || seen[id] || len(seen) > ap.MaxAttachments {
			continue
		}
		seen[id] = true
		if r.PostFormValue("remove-"+id) != "" {
			continue
		}
		m, err := h.db.MediaByID(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			problem = "An image attached earlier is gone; choose it again."
			continue
		} else if err != nil {
			return f, nil, "", err
		}
		f.Attached = append(f.Attached, h.formMedia(m, r.PostFormValue("alt-"+id)))
	}
	// The form has one file input, file-1, which takes several files at
	// once; more numbered inputs (file-2, ...) are read too, for clients
	// that send one file each. A description typed next to an input goes
	// with its first file; the others are described after a preview.
	for n := 1; n <= ap.MaxAttachments; n++ {
		field := fmt.Sprintf("file-%d", n)
		alt := r.PostFormValue(fmt.Sprintf("alt-new-%d", n))
		f.NewAlts = append(f.NewAlts, alt)
		for i, fh := range formFiles(r, field) {
			if len(files) > ap.MaxAttachments {
				break // enough to say there are too many
			}
			u := upload{file: fh, field: field}
			if i == 0 {
				u.alt = alt
			}
			files = append(files, u)
		}
	}
	if n := len(f.Attached) + len(files); n > ap.MaxAttachments {
		return f, nil, fmt.Sprintf("A post holds at most %d images, and this one would have %d; remove some.", ap.MaxAttachments, n), nil
	}
	return f, files, problem, nil
}

// draft is the form as ap wants it.
func (f *postForm) draft() ap.Draft {
	d := ap.Draft{
		Title: f.Title, Source: f.Text, Summary: f.CW, Sensitive: f.Sensitive,
		Visibility: f.Visibility, Language: f.Language, Key: f.Key, InReplyTo: f.InReplyTo,
	}
	for _, m := range f.Attached {
		d.Media = append(d.Media, ap.DraftMedia{ID: m.ID, Description: m.Alt})
	}
	return d
}

// formMedia describes a stored image for the form.
func (h *Handler) formMedia(m *store.Media, alt string) formMedia {
	return formMedia{
		ID: m.ID, Alt: alt, PreviewURL: h.localPath(h.urls.MediaPreview(m.ID, ".img")),
		Width: m.PreviewWidth, Height: m.PreviewHeight,
	}
}

// renderPostForm shows the compose form, or the edit form of post.
func (h *Handler) renderPostForm(w http.ResponseWriter, r *http.Request, status int, post *store.Post, f postForm, problem string, preview *postView, note string) {
	title, name, action := "Write", "compose", "/compose"
	if post != nil {
		title, name, action = "Edit", "edit", "/edit/"+post.LocalID
	}
	p, err := h.basePage(r, title)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := &composePage{page: p, Form: f, Action: action, MaxImages: ap.MaxAttachments, Error: problem, Preview: preview, PreviewNote: note}
	data.Title = title + " · " + p.Site.Name
	if post != nil {
		acct, err := h.account(r.Context())
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		pv := h.viewPost(post, h.ownAuthor(acct), false)
		data.Post = &pv
	}
	if post == nil && f.InReplyTo != "" {
		if data.ReplyTo, err = h.replyCard(r, &p, f.InReplyTo); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	for _, v := range visibilities {
		v.Checked = v.Value == f.Visibility
		data.Visibilities = append(data.Visibilities, v)
	}
	if post == nil {
		offset, _ := parseOffset(f.UTCOffset)
		data.Offsets = offsetOptions(offset)
	}
	// One file input that takes several images at once: four empty slots
	// made the form 2,400 px tall on a phone.
	if room := ap.MaxAttachments - len(f.Attached); room > 0 {
		s := uploadSlot{N: 1, Room: room}
		if len(f.NewAlts) > 0 {
			s.Alt = f.NewAlts[0]
		}
		data.Slots = append(data.Slots, s)
	}
	h.render(w, r, status, name, data)
}

// unresolvedNotice tells the owner which mentions stayed plain text.
func unresolvedNotice(mentions []string) string {
	switch len(mentions) {
	case 0:
		return ""
	case 1:
		return mentions[0] + " could not be found; it stays plain text."
	}
	return strings.Join(mentions[:len(mentions)-1], ", ") + " and " + mentions[len(mentions)-1] +
		" could not be found; they stay plain text."
}

// mentionLike reports whether s looks like @user@host, so that a notice
// built from a query parameter names mentions and nothing else.
func mentionLike(s string) bool {
	if len(s) < 4 || len(s) > 300 || s[0] != '@' || strings.Count(s, "@") != 2 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("@._-:", c)) {
			return false
		}
	}
	return true
}

// postFlash is the notice on the post page after the owner published,
// edited or pinned it.
func postFlash(q url.Values) (ok, warn string) {
	switch {
	case q.Get("published") != "":
		ok = "Published."
	case q.Get("edited") != "":
		ok = "Saved. Servers that have the post are being sent the new version."
	case q.Get("pinned") != "":
		ok = "Pinned to your profile."
	case q.Get("unpinned") != "":
		ok = "No longer pinned to your profile."
	}
	return ok, unresolvedWarning(q)
}

// unresolvedWarning names the mentions, passed back in the URL after a
// save, that could not be found. Only what looks like a mention is
// repeated: anyone can write a URL.
func unresolvedWarning(q url.Values) string {
	var mentions []string
	for _, m := range q["unresolved"] {
		if mentionLike(m) && len(mentions) < 20 {
			mentions = append(mentions, m)
		}
	}
	return unresolvedNotice(mentions)
}

// deletePage is the data of delete.html.
type deletePage struct {
	page
	Post postView
}

// showDelete asks before deleting: a form with one button, so it works
// without JavaScript.
func (h *Handler) showDelete(w http.ResponseWriter, r *http.Request) {
	post, ok := h.editablePost(w, r)
	if !ok {
		return
	}
	p, err := h.basePage(r, "Delete this post?")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	acct, err := h.account(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "delete", &deletePage{page: p, Post: h.viewPost(post, h.ownAuthor(acct), false)})
}

// submitDelete deletes a post; a Tombstone takes its place, and the
// servers that had it are told.
func (h *Handler) submitDelete(w http.ResponseWriter, r *http.Request) {
	err := h.ap.DeletePost(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		h.notFound(w, r)
		return
	} else if err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, h.localPath(h.urls.Profile())+"?deleted=1", http.StatusSeeOther)
}

// submitPin pins a post to the profile (pin=1) or unpins it (pin=0).
func (h *Handler) submitPin(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	pin := r.PostFormValue("pin") == "1"
	err := h.ap.Pin(r.Context(), id, pin)
	switch {
	case errors.Is(err, ap.ErrInvalid):
		h.showError(w, r, http.StatusConflict, "Not pinned", ownerMessage(err))
		return
	case errors.Is(err, store.ErrNotFound):
		h.notFound(w, r)
		return
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	q := "?unpinned=1"
	if pin {
		q = "?pinned=1"
	}
	http.Redirect(w, r, h.localPath(h.urls.PostPage(id))+q, http.StatusSeeOther)
}
