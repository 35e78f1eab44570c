package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"kith/ap"
	"kith/store"
)

// utcOffsets are the offsets from UTC in use somewhere, in minutes: the
// compose form asks for one with a scheduled time, because a page without
// JavaScript cannot learn the browser's time zone.
var utcOffsets = [...]int{
	-720, -660, -600, -570, -540, -480, -420, -360, -300, -240, -210, -180, -120, -60,
	0, 60, 120, 180, 210, 240, 270, 300, 330, 345, 360, 390, 420, 480, 525, 540, 570, 600, 630, 660, 720, 765, 780, 840,
}

// offsetOption is one choice of the time zone select.
type offsetOption struct {
	Value    int
	Label    string
	Selected bool
}

// offsetLabel names an offset as UTC+05:30.
func offsetLabel(minutes int) string {
	sign := "+"
	if minutes < 0 {
		sign, minutes = "-", -minutes
	}
	return fmt.Sprintf("UTC%s%02d:%02d", sign, minutes/60, minutes%60)
}

// offsetOptions is the select's choices with selected marked.
func offsetOptions(selected int) []offsetOption {
	out := make([]offsetOption, len(utcOffsets))
	for i, m := range utcOffsets {
		out[i] = offsetOption{Value: m, Label: offsetLabel(m), Selected: m == selected}
	}
	return out
}

// parseOffset reads the select's value; ok is false for one not offered.
func parseOffset(s string) (int, bool) {
	m, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, false
	}
	for _, o := range utcOffsets {
		if o == m {
			return m, true
		}
	}
	return 0, false
}

// scheduleTime reads the form's datetime-local value in the chosen
// offset; problem is a sentence for the owner when it cannot be used.
func (h *Handler) scheduleTime(f postForm) (at time.Time, problem string) {
	offset, ok := parseOffset(f.UTCOffset)
	if !ok {
		return at, "Choose your time zone for the time to publish."
	}
	// Browsers send minutes, some also seconds.
	zone := time.FixedZone(offsetLabel(offset), offset*60)
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(f.ScheduleAt), zone); err == nil {
			at = t
			break
		}
	}
	switch {
	case at.IsZero():
		return at, "The time to publish is not a date and time."
	case !at.After(h.now()):
		return at, "The time to publish has passed; choose a later one, or leave it empty to publish now."
	}
	return at, ""
}

// schedulePost keeps the compose form's post to be published at the time
// it names, and shows the scheduled posts.
func (h *Handler) schedulePost(w http.ResponseWriter, r *http.Request, f postForm, d ap.Draft) {
	at, problem := h.scheduleTime(f)
	if problem != "" {
		h.renderPostForm(w, r, http.StatusUnprocessableEntity, nil, f, problem, nil, "")
		return
	}
	_, err := h.ap.Schedule(r.Context(), d, at)
	switch {
	case errors.Is(err, ap.ErrScheduleTooSoon):
		problem = "The time to publish must be at least five minutes from now."
	case errors.Is(err, ap.ErrScheduleFull):
		problem = fmt.Sprintf("%d posts are scheduled already, the most kith keeps; cancel one first.", ap.MaxScheduled)
	case errors.Is(err, ap.ErrScheduleDayFull):
		problem = fmt.Sprintf("%d posts are scheduled on that day already, the most for one day; choose another.", ap.MaxScheduledPerDay)
	case errors.Is(err, ap.ErrInvalid):
		problem = ownerMessage(err)
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	if problem != "" {
		h.renderPostForm(w, r, http.StatusUnprocessableEntity, nil, f, problem, nil, "")
		return
	}
	offset, _ := parseOffset(f.UTCOffset)
	if err := h.db.SetScheduleOffset(r.Context(), offset); err != nil {
		h.log.Error("remember the time zone", "err", err)
	}
	http.Redirect(w, r, "/scheduled?done=scheduled", http.StatusSeeOther)
}

// scheduledPage is the data of scheduled.html.
type scheduledPage struct {
	page
	Posts []scheduledView
}

// scheduledView is one scheduled post in the list.
type scheduledView struct {
	ID         string
	At         time.Time
	When       string // in the owner's time zone
	Visibility string
	Title      string
	Summary    string
	Excerpt    string
	Images     int
	Reply      string // the IRI answered
}

// showScheduled lists the posts waiting to be published, the next first,
// each with a button to cancel it.
func (h *Handler) showScheduled(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := h.basePage(r, "Scheduled posts")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	// Every post waiting is due before the end of time, in the order due.
	posts, err := h.db.DueScheduledPosts(ctx, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), ap.MaxScheduled)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	offset, err := h.db.ScheduleOffset(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	zone := time.FixedZone(offsetLabel(offset), offset*60)
	data := &scheduledPage{page: p}
	switch r.URL.Query().Get("done") {
	case "scheduled":
		data.Flash = "Scheduled. It is published at its time."
	case "cancelled":
		data.Flash = "Cancelled. Nothing was published."
	}
	for _, sp := range posts {
		v := scheduledView{
			ID: sp.ID, At: sp.ScheduledAt, When: sp.ScheduledAt.In(zone).Format("Mon 2 Jan 2006 15:04 MST"),
			Title: sp.Title, Summary: sp.Summary, Excerpt: excerpt(sp.Source, 280), Images: len(sp.MediaIDs), Reply: sp.InReplyTo,
		}
		for _, o := range visibilities {
			if o.Value == sp.Visibility {
				v.Visibility = o.Label
			}
		}
		data.Posts = append(data.Posts, v)
	}
	h.render(w, r, http.StatusOK, "scheduled", data)
}

// excerpt is the start of s, at most n characters, cut at a space.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut := string([]rune(s)[:n])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return cut + "…"
}

// submitCancelScheduled cancels one scheduled post.
func (h *Handler) submitCancelScheduled(w http.ResponseWriter, r *http.Request) {
	id := r.PostFormValue("id")
	if id == "" || len(id) > 64 {
		h.notFound(w, r)
		return
	}
	err := h.ap.CancelScheduled(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		h.notFound(w, r) // published or cancelled meanwhile
		return
	} else if err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/scheduled?done=cancelled", http.StatusSeeOther)
}
