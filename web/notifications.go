package web

import (
	"errors"
	"net/http"

	"kith/store"
)

// notificationsPageSize is the number of notifications on a page.
const notificationsPageSize = 30

// notificationsPage is the data of notifications.html.
type notificationsPage struct {
	page
	Items  []notificationView
	Pager  pager
	Newest bool
}

// notificationView is one notification: who did what, and the post it
// is about, as a card.
type notificationView struct {
	ID     string
	Type   string
	Unread bool
	Actor  authorView
	Verb   string // "liked your post", after the actor's name
	When   timeView
	Target string // a move's new account
	Post   *cardView
	Report *reportView // what a report says and is about
}

// reportView is a report (a Flag from another server) as the owner reads
// it under its notification.
type reportView struct {
	Content string   // the reporter's comment, plain text
	Objects []string // the reported posts and accounts
}

// notificationVerbs says what each type of notification means, after the
// name of who did it.
var notificationVerbs = map[string]string{
	store.NotifyFollow:        "followed you",
	store.NotifyFollowRequest: "asked to follow you",
	store.NotifyMention:       "mentioned you",
	store.NotifyStatus:        "posted",
	store.NotifyFavourite:     "liked your post",
	store.NotifyReblog:        "boosted your post",
	store.NotifyQuote:         "quoted your post",
	store.NotifyPoll:          "ran a poll that has ended",
	store.NotifyUpdate:        "edited a post you interacted with",
	store.NotifyMove:          "moved to another account",
	store.NotifyReport:        "sent a report",
}

// showNotifications lists the owner's notifications, newest first, the
// unread ones marked, paged by id (?max_id=, ?min_id=).
func (h *Handler) showNotifications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pg, ok := h.readCursor(w, r, notificationsPageSize)
	if !ok {
		return
	}
	ctx := r.Context()
	list, err := h.db.Notifications(ctx, store.NotificationQuery{Page: pg, Owner: h.urls.Actor()})
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	marker, err := h.db.MarkerOf(ctx, store.MarkerNotifications)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	p, acct, ok := h.pageAndAccount(w, r, "Notifications")
	if !ok {
		return
	}
	list, pager := pageLinks(list, notificationsPageSize, pg.MaxID, pg.MinID,
		func(n store.Notification) string { return n.ID }, "/notifications", "max_id", "min_id")
	data := &notificationsPage{page: p, Pager: pager, Newest: pg.MaxID == "" && pg.MinID == ""}
	if q.Get("read") != "" {
		data.Flash = "All notifications are marked read."
	}
	c := h.cardContext(acct, &data.page, r.URL.RequestURI())
	for i := range list {
		n := &list[i]
		v := notificationView{ID: n.ID, Type: n.Type, Unread: n.ID > marker.LastReadID, When: c.timeView(n.CreatedAt),
			Verb: notificationVerbs[n.Type], Target: n.Target}
		if v.Verb == "" {
			v.Verb = "did something kith does not know how to show (" + n.Type + ")"
		}
		switch {
		case n.ActorIRI == h.urls.Actor():
			v.Actor = h.ownAuthor(acct)
		case n.Actor != nil:
			v.Actor = h.actorAuthor(c, n.Actor)
		default:
			v.Actor = authorView{Name: n.ActorIRI, URL: n.ActorIRI}
			v.Actor.Avatar, _ = h.static.URL("avatar.svg")
		}
		if n.Type == store.NotifyMention && n.Post != nil && h.urls.IsLocal(n.Post.InReplyTo) {
			v.Verb = "replied to your post" // Mastodon names answers mentions too
		}
		if n.Post != nil {
			card := h.card(c, n.Post)
			v.Post = &card
		}
		if n.Type == store.NotifyReport {
			// The target is the report's id, not an address to link.
			v.Target = ""
			rep, err := h.db.ReportByID(ctx, n.Target)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				h.serverError(w, r, err)
				return
			}
			if err == nil {
				v.Report = &reportView{Content: rep.Content, Objects: rep.Objects}
			}
		}
		data.Items = append(data.Items, v)
	}
	h.render(w, r, http.StatusOK, "notifications", data)
}

// submitNotificationsRead marks every notification read: the header's
// count goes back to nothing.
func (h *Handler) submitNotificationsRead(w http.ResponseWriter, r *http.Request) {
	if err := h.db.MarkNotificationsRead(r.Context(), h.now()); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/notifications?read=1", http.StatusSeeOther)
}
