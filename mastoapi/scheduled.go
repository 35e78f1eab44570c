package mastoapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"kith/ap"
	"kith/store"
)

// Mastodon's texts for a scheduled time it refuses (its validation of
// ScheduledStatus, prefixed as Rails prefixes a failed validation).
const (
	msgScheduleTooSoon = "Validation failed: Scheduled at The scheduled date must be in the future"
	msgScheduleBadDate = "Validation failed: Scheduled at is not a date and time (ISO 8601, such as 2026-12-24T18:00:00Z)"
)

// ScheduledStatus is Mastodon's ScheduledStatus entity.
type ScheduledStatus struct {
	ID               string            `json:"id"`
	ScheduledAt      string            `json:"scheduled_at"`
	Params           ScheduledParams   `json:"params"`
	MediaAttachments []MediaAttachment `json:"media_attachments"`
}

// ScheduledParams are the parameters a scheduled status will be posted
// with. Mastodon's serializer leaves out application_id (an internal id);
// scheduled_at and idempotency are always null, as Mastodon clears them
// once the status is scheduled.
type ScheduledParams struct {
	Text          string               `json:"text"`
	Poll          *ScheduledPollParams `json:"poll"`
	MediaIDs      []string             `json:"media_ids"`
	Sensitive     bool                 `json:"sensitive"`
	SpoilerText   string               `json:"spoiler_text"`
	Visibility    string               `json:"visibility"`
	InReplyToID   *string              `json:"in_reply_to_id"`
	Language      *string              `json:"language"`
	ScheduledAt   *string              `json:"scheduled_at"`
	Idempotency   *string              `json:"idempotency"`
	WithRateLimit bool                 `json:"with_rate_limit"`
}

// ScheduledPollParams is the poll of a scheduled status.
type ScheduledPollParams struct {
	Options    []string `json:"options"`
	ExpiresIn  int64    `json:"expires_in"`
	Multiple   bool     `json:"multiple"`
	HideTotals bool     `json:"hide_totals"`
}

// parseScheduledAt reads scheduled_at. Mastodon reads it with Ruby's
// lenient date parser, and clients send several shapes: full ISO 8601 with
// or without fractions and zone (Tusky, toot), minutes only (datetime-local
// inputs), a date alone (the documentation's own example). A time without
// a zone is UTC, as Mastodon takes it.
func parseScheduledAt(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 64 {
		return time.Time{}, false
	}
	for _, layout := range []string{
		time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04Z07:00",
		"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999", "2006-01-02 15:04", "2006-01-02",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// scheduleStatus is POST /api/v1/statuses with a scheduled_at ahead: the
// draft is kept and a ScheduledStatus answers.
func (h *Handler) scheduleStatus(w http.ResponseWriter, r *http.Request, d ap.Draft, at time.Time) {
	sp, err := h.ap.Schedule(r.Context(), d, at)
	if err != nil {
		h.failSchedule(w, r, err)
		return
	}
	h.writeScheduled(w, r, sp)
}

// failSchedule answers the errors of scheduling in Mastodon's words.
func (h *Handler) failSchedule(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ap.ErrScheduleTooSoon):
		h.apiError(w, r, http.StatusUnprocessableEntity, msgScheduleTooSoon)
	case errors.Is(err, ap.ErrScheduleFull):
		h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: You have exceeded the limit of 300 scheduled posts")
	case errors.Is(err, ap.ErrScheduleDayFull):
		h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: You have exceeded the limit of 25 scheduled posts for today")
	default:
		h.fail(w, r, err)
	}
}

// writeScheduled answers with one scheduled status.
func (h *Handler) writeScheduled(w http.ResponseWriter, r *http.Request, sp *store.ScheduledPost) {
	v, err := h.scheduledView(r.Context(), sp)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, v)
}

// scheduledView converts a scheduled post.
func (h *Handler) scheduledView(ctx context.Context, sp *store.ScheduledPost) (*ScheduledStatus, error) {
	text := sp.Source
	if sp.Title != "" {
		// Scheduled from the compose page as an article: the API has no
		// title, so it shows above the text, as statuses show it.
		text = sp.Title + "\n\n" + text
	}
	out := &ScheduledStatus{
		ID: sp.ID, ScheduledAt: timeJSON(sp.ScheduledAt), MediaAttachments: []MediaAttachment{},
		Params: ScheduledParams{
			Text: text, Sensitive: sp.Sensitive, SpoilerText: sp.Summary,
			Visibility: apiVisibility(sp.Visibility), Language: optString(sp.Language),
		},
	}
	if sp.InReplyTo != "" {
		parent, err := h.db.PostByIRI(ctx, sp.InReplyTo)
		if err == nil {
			out.Params.InReplyToID = &parent.SID
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	if sp.Poll != nil {
		out.Params.Poll = &ScheduledPollParams{
			Options: sp.Poll.Options, ExpiresIn: int64(sp.Poll.Duration / time.Second),
			Multiple: sp.Poll.Multiple, HideTotals: sp.Poll.HideTotals,
		}
	}
	if len(sp.MediaIDs) > 0 {
		out.Params.MediaIDs = sp.MediaIDs
		notes, err := h.db.MediaNotes(ctx, sp.MediaIDs)
		if err != nil {
			return nil, err
		}
		for i, id := range sp.MediaIDs {
			m, err := h.db.MediaByID(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return nil, err
			}
			note := notes[id]
			if note.Description == "" && i < len(sp.MediaAlts) {
				note.Description = sp.MediaAlts[i] // written on the compose page
			}
			out.MediaAttachments = append(out.MediaAttachments, h.mediaView(m, note))
		}
	}
	return out, nil
}

// scheduledByID returns the scheduled post in the path.
func (h *Handler) scheduledByID(r *http.Request) (*store.ScheduledPost, error) {
	id := r.PathValue("id")
	if id == "" || len(id) > 64 {
		return nil, store.ErrNotFound
	}
	return h.db.ScheduledPost(r.Context(), id)
}

// listScheduled answers GET /api/v1/scheduled_statuses: newest scheduled
// first, paged by id with Link headers.
func (h *Handler) listScheduled(w http.ResponseWriter, r *http.Request) {
	posts, err := h.db.ScheduledPosts(r.Context(), page(r.URL.Query()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := []*ScheduledStatus{}
	for _, sp := range posts {
		v, err := h.scheduledView(r.Context(), sp)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		out = append(out, v)
	}
	if len(out) > 0 {
		h.setLink(w, r, out[0].ID, out[len(out)-1].ID)
	}
	h.writeJSON(w, r, http.StatusOK, out)
}

// getScheduled answers GET /api/v1/scheduled_statuses/:id.
func (h *Handler) getScheduled(w http.ResponseWriter, r *http.Request) {
	sp, err := h.scheduledByID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeScheduled(w, r, sp)
}

// rescheduleStatus answers PUT /api/v1/scheduled_statuses/:id, which
// changes scheduled_at only, as Mastodon's does.
func (h *Handler) rescheduleStatus(w http.ResponseWriter, r *http.Request) {
	sp, err := h.scheduledByID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, err := readParams(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if strings.TrimSpace(p.Get("scheduled_at")) == "" {
		h.writeScheduled(w, r, sp) // nothing to change
		return
	}
	at, ok := parseScheduledAt(p.Get("scheduled_at"))
	if !ok {
		h.apiError(w, r, http.StatusUnprocessableEntity, msgScheduleBadDate)
		return
	}
	sp, err = h.ap.Reschedule(r.Context(), sp.ID, at)
	if err != nil {
		h.failSchedule(w, r, err)
		return
	}
	h.writeScheduled(w, r, sp)
}

// cancelScheduled answers DELETE /api/v1/scheduled_statuses/:id with {}.
func (h *Handler) cancelScheduled(w http.ResponseWriter, r *http.Request) {
	sp, err := h.scheduledByID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.ap.CancelScheduled(r.Context(), sp.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	h.emptyObject(w, r)
}
