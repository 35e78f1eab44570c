package mastoapi

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"kith/ap"
	"kith/store"
)

// maxIdempotencyKey bounds the Idempotency-Key header kith keeps.
const maxIdempotencyKey = 200

// statusViews converts posts for the request, loading what their views
// need (counts, the owner's state, polls) first.
func (h *Handler) statusViews(ctx context.Context, r *http.Request, posts []store.Post) ([]*Status, error) {
	for i := range posts {
		// LoadPostViews reads them again; a post read by id has them.
		posts[i].Attachments, posts[i].Tags, posts[i].Mentions = nil, nil, nil
	}
	if err := h.db.LoadPostViews(ctx, posts, h.urls.Actor()); err != nil {
		return nil, err
	}
	ptrs := make([]*store.Post, len(posts))
	for i := range posts {
		ptrs[i] = &posts[i]
	}
	v, err := h.newViews(ctx, ptrs, isOwner(r))
	if err != nil {
		return nil, err
	}
	out := make([]*Status, len(posts))
	for i := range posts {
		out[i] = v.status(&posts[i])
	}
	return out, nil
}

// statusOf converts one post.
func (h *Handler) statusOf(ctx context.Context, r *http.Request, p *store.Post) (*Status, error) {
	s, err := h.statusViews(ctx, r, []store.Post{*p})
	if err != nil {
		return nil, err
	}
	return s[0], nil
}

// visiblePost returns the post with the status id in the path, if the
// request may see it: the owner sees everything stored, others only kith's
// own public and unlisted posts. Anything else is 404, as Mastodon answers
// for what one may not see.
func (h *Handler) visiblePost(r *http.Request) (*store.Post, error) {
	id := r.PathValue("id")
	if id == "" || len(id) > 64 {
		return nil, store.ErrNotFound
	}
	p, err := h.db.PostBySID(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if !p.DeletedAt.IsZero() {
		return nil, store.ErrNotFound
	}
	if !isOwner(r) && (p.LocalID == "" || (p.Visibility != store.Public && p.Visibility != store.Unlisted)) {
		return nil, store.ErrNotFound
	}
	return p, nil
}

// ownPost returns one of kith's own posts by status id, for changing it.
func (h *Handler) ownPost(r *http.Request) (*store.Post, error) {
	p, err := h.visiblePost(r)
	if err != nil {
		return nil, err
	}
	if p.LocalID == "" {
		return nil, store.ErrNotFound
	}
	return p, nil
}

// getStatus answers GET /api/v1/statuses/:id.
func (h *Handler) getStatus(w http.ResponseWriter, r *http.Request) {
	p, err := h.visiblePost(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeStatus(w, r, p)
}

// writeStatus answers with one post as a status.
func (h *Handler) writeStatus(w http.ResponseWriter, r *http.Request, p *store.Post) {
	s, err := h.statusOf(r.Context(), r, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, s)
}

// draftMedia reads media_ids[] (and, for edits, media_attributes[]) into
// the draft's media, with the descriptions the client set on the uploads.
func (h *Handler) draftMedia(ctx context.Context, p params) ([]ap.DraftMedia, error) {
	ids := p.list("media_ids")
	if len(ids) > ap.MaxAttachments {
		return nil, errors.Join(ap.ErrInvalid, errors.New("too many attachments"))
	}
	notes, err := h.db.MediaNotes(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []ap.DraftMedia
	for _, id := range ids {
		d := ap.DraftMedia{ID: id, Description: notes[id].Description}
		for j := 0; j < ap.MaxAttachments*2; j++ {
			// media_attributes[j][id] with its description, as edits send.
			key := "media_attributes[" + strconv.Itoa(j) + "]"
			if p.Get(key+"[id]") == id && p.has(key+"[description]") {
				d.Description = p.Get(key + "[description]")
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// draftPoll reads poll[options][], poll[expires_in] (seconds),
// poll[multiple] and poll[hide_totals] (form names; JSON's {"poll": {…}}
// is flattened to them), or nil without options. ap.Service checks the
// bounds.
func draftPoll(p params) (*ap.DraftPoll, error) {
	opts := p.list("poll[options]")
	if len(opts) == 0 {
		return nil, nil
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(p.Get("poll[expires_in]")), 10, 64)
	if err != nil || secs <= 0 || secs > int64(ap.MaxPollDuration/time.Second) {
		return nil, errors.Join(ap.ErrInvalid, fmt.Errorf("poll[expires_in] must be a number of seconds up to %d", int64(ap.MaxPollDuration/time.Second)))
	}
	return &ap.DraftPoll{Options: opts, Duration: time.Duration(secs) * time.Second, Multiple: p.bool("poll[multiple]"), HideTotals: p.bool("poll[hide_totals]")}, nil
}

// createStatus answers POST /api/v1/statuses: the draft goes through
// ap.Service.Publish, the same path as the compose page, and the
// Idempotency-Key becomes the draft's key, so a client that retries
// publishes once. With scheduled_at ahead it goes to ap.Service.Schedule
// instead, and the answer is a ScheduledStatus.
func (h *Handler) createStatus(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	// scheduled_at ahead keeps the post for later; one that has passed
	// publishes now, as Mastodon does; an empty one is no schedule.
	var scheduleAt time.Time
	if v := strings.TrimSpace(p.Get("scheduled_at")); v != "" {
		at, ok := parseScheduledAt(v)
		if !ok {
			h.apiError(w, r, http.StatusUnprocessableEntity, msgScheduleBadDate)
			return
		}
		if at.After(h.now()) {
			scheduleAt = at
		}
	}
	poll, err := draftPoll(p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	vis, ok := kithVisibility(p.Get("visibility"))
	if !ok {
		h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: visibility is not one of public, unlisted, private or direct")
		return
	}
	media, err := h.draftMedia(ctx, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := ap.Draft{
		Source: p.Get("status"), Summary: p.Get("spoiler_text"), Sensitive: p.bool("sensitive"),
		Visibility: vis, Language: p.Get("language"), Media: media, Poll: poll,
	}
	if id := p.Get("in_reply_to_id"); id != "" {
		parent, err := h.db.PostBySID(ctx, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		d.InReplyTo = parent.IRI
	}
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		if len(key) > maxIdempotencyKey || !utf8.ValidString(key) {
			h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: the Idempotency-Key is too long")
			return
		}
		// Keys are the client's; scoped to the token, two apps cannot
		// collide.
		d.Key = "api:" + tokenFrom(r).Hash + ":" + key
	}
	if !scheduleAt.IsZero() {
		h.scheduleStatus(w, r, d, scheduleAt)
		return
	}
	out, err := h.ap.Publish(ctx, d)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeStatus(w, r, out.Post)
}

// editStatus answers PUT /api/v1/statuses/:id through ap.Service.Edit.
// The title of an article stays; the API has no field for it.
func (h *Handler) editStatus(w http.ResponseWriter, r *http.Request) {
	old, err := h.ownPost(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, err := readParams(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(p.list("poll[options]")) > 0 {
		h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: a poll cannot be changed once published; delete and redraft the post instead")
		return
	}
	media, err := h.draftMedia(r.Context(), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := ap.Draft{
		Title: old.Title, Source: p.Get("status"), Summary: p.Get("spoiler_text"), Sensitive: p.bool("sensitive"),
		Language: p.Get("language"), Media: media,
	}
	if !p.has("language") {
		d.Language = old.Language
	}
	out, err := h.ap.Edit(r.Context(), old.LocalID, d)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeStatus(w, r, out.Post)
}

// deleteStatus answers DELETE /api/v1/statuses/:id with the status as it
// was, its source in text, which "delete and redraft" puts back in the
// composer.
func (h *Handler) deleteStatus(w http.ResponseWriter, r *http.Request) {
	p, err := h.ownPost(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s, err := h.statusOf(r.Context(), r, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.ap.DeletePost(r.Context(), p.LocalID); err != nil {
		h.fail(w, r, err)
		return
	}
	text := p.Source
	s.Text = &text
	h.writeJSON(w, r, http.StatusOK, s)
}

// statusSource answers GET /api/v1/statuses/:id/source.
func (h *Handler) statusSource(w http.ResponseWriter, r *http.Request) {
	p, err := h.ownPost(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, map[string]string{"id": p.SID, "text": p.Source, "spoiler_text": p.Summary})
}

// StatusEdit is one version of a status, in its history.
type StatusEdit struct {
	Content          string            `json:"content"`
	SpoilerText      string            `json:"spoiler_text"`
	Sensitive        bool              `json:"sensitive"`
	CreatedAt        string            `json:"created_at"`
	Account          *Account          `json:"account"`
	Poll             *struct{}         `json:"poll"`
	MediaAttachments []MediaAttachment `json:"media_attachments"`
	Emojis           []CustomEmoj      `json:"emojis"`
}

// statusHistory answers GET /api/v1/statuses/:id/history: the earlier
// versions, oldest first, then the current one.
func (h *Handler) statusHistory(w http.ResponseWriter, r *http.Request) {
	p, err := h.visiblePost(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cur, err := h.statusOf(r.Context(), r, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	edits, err := h.db.Edits(r.Context(), p.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := &views{h: h, notes: map[string]store.MediaNote{}}
	out := []StatusEdit{}
	for _, e := range edits {
		se := StatusEdit{
			Content: e.ContentHTML, SpoilerText: e.Summary, Sensitive: e.Sensitive, CreatedAt: timeJSON(e.CreatedAt),
			Account: cur.Account, MediaAttachments: []MediaAttachment{}, Emojis: []CustomEmoj{},
		}
		if e.Title != "" {
			se.Content = titled(e.Title, se.Content)
		}
		for i, a := range e.Attachments {
			se.MediaAttachments = append(se.MediaAttachments, v.attachment(p, i, a))
		}
		out = append(out, se)
	}
	created := cur.CreatedAt
	if cur.EditedAt != nil {
		created = *cur.EditedAt
	}
	out = append(out, StatusEdit{
		Content: cur.Content, SpoilerText: cur.SpoilerText, Sensitive: cur.Sensitive, CreatedAt: created,
		Account: cur.Account, MediaAttachments: cur.MediaAttachments, Emojis: []CustomEmoj{},
	})
	h.writeJSON(w, r, http.StatusOK, out)
}

// statusContext answers GET /api/v1/statuses/:id/context with the post
// it answers (when stored) and the replies shown under it.
func (h *Handler) statusContext(w http.ResponseWriter, r *http.Request) {
	p, err := h.visiblePost(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	var ancestors []store.Post
	seen := map[string]bool{p.IRI: true}
	for parent := p.InReplyTo; parent != "" && !seen[parent] && len(ancestors) < 40; {
		seen[parent] = true
		a, err := h.db.PostByIRI(ctx, parent)
		if errors.Is(err, store.ErrNotFound) {
			break
		} else if err != nil {
			h.fail(w, r, err)
			return
		}
		if !a.DeletedAt.IsZero() || (!isOwner(r) && (a.LocalID == "" || a.Visibility == store.Followers || a.Visibility == store.Direct)) {
			break
		}
		ancestors = append([]store.Post{*a}, ancestors...)
		parent = a.InReplyTo
	}
	replies, err := h.db.Replies(ctx, p.IRI, 60)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	as, err := h.statusViews(ctx, r, ancestors)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ds, err := h.statusViews(ctx, r, replies)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, map[string][]*Status{"ancestors": nonNilStatuses(as), "descendants": nonNilStatuses(ds)})
}

func nonNilStatuses(s []*Status) []*Status {
	if s == nil {
		return []*Status{}
	}
	return s
}

// titled puts an article's title above its text, as Mastodon shows an
// Article's name.
func titled(title, content string) string {
	return "<p><strong>" + html.EscapeString(title) + "</strong></p>" + content
}
