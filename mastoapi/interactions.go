package mastoapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"kith/ap"
	"kith/store"
)

// interact answers the POST /api/v1/statuses/:id/<action> endpoints: the
// action goes through the ap.Service method the web pages use, and the
// answer is the status as it is now.
func (h *Handler) interact(action func(ctx context.Context, p *store.Post) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.visiblePost(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if err := action(r.Context(), p); err != nil {
			h.fail(w, r, err)
			return
		}
		p, err = h.db.PostBySID(r.Context(), p.SID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.writeStatus(w, r, p)
	}
}

// reblog answers POST /api/v1/statuses/:id/reblog with the new reblog
// status, the original embedded, as Mastodon does.
func (h *Handler) reblog(w http.ResponseWriter, r *http.Request) {
	p, err := h.visiblePost(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	if err := h.ap.Announce(ctx, p.IRI); err != nil {
		h.fail(w, r, err)
		return
	}
	b, err := h.db.BoostOf(ctx, p.ID, h.urls.Actor())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	posts := []store.Post{*p}
	posts[0].Attachments, posts[0].Tags, posts[0].Mentions = nil, nil, nil
	if err := h.db.LoadPostViews(ctx, posts, h.urls.Actor()); err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.newViews(ctx, []*store.Post{&posts[0]}, true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, v.entry(&store.Entry{SID: b.SID, Post: posts[0], Boost: b}))
}

// pin answers POST /api/v1/statuses/:id/pin and unpin, for the owner's
// own posts.
func (h *Handler) pin(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.ownPost(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if err := h.ap.Pin(r.Context(), p.LocalID, on); err != nil {
			h.fail(w, r, err)
			return
		}
		if p, err = h.db.PostBySID(r.Context(), p.SID); err != nil {
			h.fail(w, r, err)
			return
		}
		h.writeStatus(w, r, p)
	}
}

// whoActed answers GET /api/v1/statuses/:id/favourited_by and
// /reblogged_by: the accounts that liked or boosted a status the request
// may see, newest first. list returns a page of the likes' or boosts' own
// sids, which page the list, and their actors.
func (h *Handler) whoActed(list func(ctx context.Context, postID int64, pg store.Page) (sids, actors []string, err error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.visiblePost(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		ctx := r.Context()
		sids, iris, err := list(ctx, p.ID, page(r.URL.Query()))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		actors, err := h.db.ActorsByIRI(ctx, iris)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		out := []*Account{}
		for _, iri := range iris {
			switch {
			case iri == h.urls.Actor():
				owner, err := h.ownerAccount(ctx, false)
				if err != nil {
					h.fail(w, r, err)
					return
				}
				out = append(out, owner)
			case actors[iri] != nil:
				out = append(out, h.remoteAccount(actors[iri]))
			}
			// An actor no longer cached (deleted) is left out.
		}
		if len(sids) > 0 {
			h.setLink(w, r, sids[0], sids[len(sids)-1])
		}
		h.writeJSON(w, r, http.StatusOK, out)
	}
}

// entryList answers GET /api/v1/bookmarks and /favourites.
func (h *Handler) entryList(list func(ctx context.Context, pg store.Page) ([]store.Entry, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		entries, err := list(r.Context(), page(r.URL.Query()))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		// The entries' ids are the bookmarks' and likes' own, which page
		// the list; the statuses keep their ids.
		if len(entries) > 0 {
			h.setLink(w, r, entries[0].SID, entries[len(entries)-1].SID)
		}
		statuses, err := h.entryStatuses(r, entries)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.writeJSON(w, r, http.StatusOK, nonNilStatuses(statuses))
	}
}

// getPoll answers GET /api/v1/polls/:id; a poll's id is its status's.
func (h *Handler) getPoll(w http.ResponseWriter, r *http.Request) {
	s, err := h.pollStatus(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, s.Poll)
}

func (h *Handler) pollStatus(r *http.Request) (*Status, error) {
	p, err := h.visiblePost(r)
	if err != nil {
		return nil, err
	}
	s, err := h.statusOf(r.Context(), r, p)
	if err != nil {
		return nil, err
	}
	if s.Poll == nil {
		return nil, store.ErrNotFound
	}
	return s, nil
}

// votePoll answers POST /api/v1/polls/:id/votes with choices[].
func (h *Handler) votePoll(w http.ResponseWriter, r *http.Request) {
	p, err := h.visiblePost(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	params, err := readParams(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var choices []int
	for _, c := range params.list("choices") {
		n, err := strconv.Atoi(c)
		if err != nil {
			h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: choices must be numbers")
			return
		}
		choices = append(choices, n)
	}
	if err := h.ap.Vote(r.Context(), p.IRI, choices); err != nil {
		h.fail(w, r, err)
		return
	}
	h.getPoll(w, r)
}

// Notification is Mastodon's Notification entity.
type Notification struct {
	ID        string   `json:"id"`
	Type      string   `json:"type"`
	CreatedAt string   `json:"created_at"`
	GroupKey  string   `json:"group_key"`
	Account   *Account `json:"account"`
	Status    *Status  `json:"status,omitempty"`
}

// notificationTypes are the types Mastodon clients know; kith's others
// (a Pleroma-style move) are left out unless asked for by name.
var notificationTypes = []string{"mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update", "admin.report", "quote"}

// notifications answers GET /api/v1/notifications with types[] and
// exclude_types[] (Ivory asks for types one by one).
func (h *Handler) notifications(w http.ResponseWriter, r *http.Request) {
	out, err := h.queriedNotifications(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(out) > 0 {
		h.setLink(w, r, out[0].ID, out[len(out)-1].ID)
	}
	h.writeJSON(w, r, http.StatusOK, out)
}

// queriedNotifications reads the page of notifications a v1 or v2
// request asks for, with types[] and exclude_types[], as entities.
func (h *Handler) queriedNotifications(r *http.Request) ([]Notification, error) {
	q := params{Values: r.URL.Query()}
	nq := store.NotificationQuery{Page: page(r.URL.Query()), Types: q.list("types"), ExcludeTypes: q.list("exclude_types"), Owner: h.urls.Actor()}
	if len(nq.Types) == 0 {
		nq.Types = notificationTypes
	}
	ns, err := h.db.Notifications(r.Context(), nq)
	if err != nil {
		return nil, err
	}
	return h.notificationViews(r, ns)
}

// notificationViews converts notifications.
func (h *Handler) notificationViews(r *http.Request, ns []store.Notification) ([]Notification, error) {
	var posts []*store.Post
	for i := range ns {
		if ns[i].Post != nil {
			posts = append(posts, ns[i].Post)
		}
	}
	v, err := h.newViews(r.Context(), posts, true)
	if err != nil {
		return nil, err
	}
	out := []Notification{}
	for i := range ns {
		n := &ns[i]
		nv := Notification{ID: n.ID, Type: n.Type, CreatedAt: timeJSON(n.CreatedAt), GroupKey: "ungrouped-" + n.ID, Account: v.accountOf(n.ActorIRI, n.Actor)}
		if n.Post != nil {
			nv.Status = v.status(n.Post)
		}
		out = append(out, nv)
	}
	return out, nil
}

// getNotification answers GET /api/v1/notifications/:id.
func (h *Handler) getNotification(w http.ResponseWriter, r *http.Request) {
	n, err := h.db.NotificationByID(r.Context(), r.PathValue("id"), h.urls.Actor())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.notificationViews(r, []store.Notification{*n})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, out[0])
}

// dismissNotification answers POST /api/v1/notifications/:id/dismiss.
func (h *Handler) dismissNotification(w http.ResponseWriter, r *http.Request) {
	if err := h.db.DismissNotification(r.Context(), r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	h.emptyObject(w, r)
}

// clearNotifications answers POST /api/v1/notifications/clear.
func (h *Handler) clearNotifications(w http.ResponseWriter, r *http.Request) {
	if err := h.db.ClearNotifications(r.Context()); err != nil {
		h.fail(w, r, err)
		return
	}
	h.emptyObject(w, r)
}

// Relationship is Mastodon's Relationship entity: the owner and another
// account.
type Relationship struct {
	ID                  string   `json:"id"`
	Following           bool     `json:"following"`
	ShowingReblogs      bool     `json:"showing_reblogs"`
	Notifying           bool     `json:"notifying"`
	Languages           []string `json:"languages"`
	FollowedBy          bool     `json:"followed_by"`
	Blocking            bool     `json:"blocking"`
	BlockedBy           bool     `json:"blocked_by"`
	Muting              bool     `json:"muting"`
	MutingNotifications bool     `json:"muting_notifications"`
	Requested           bool     `json:"requested"`
	RequestedBy         bool     `json:"requested_by"`
	DomainBlocking      bool     `json:"domain_blocking"`
	Endorsed            bool     `json:"endorsed"`
	Note                string   `json:"note"`
}

// writeRelationship answers with the owner's relationship to actor after
// an action on it (follow, block, authorize, ...), as Mastodon does.
func (h *Handler) writeRelationship(w http.ResponseWriter, r *http.Request, id string, actor *store.Actor) {
	rel, err := h.relationship(r.Context(), id, actor)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, rel)
}

// relationship reads the owner's relationship with an actor.
func (h *Handler) relationship(ctx context.Context, id string, a *store.Actor) (*Relationship, error) {
	rel := &Relationship{ID: id, Languages: []string{}}
	if a == nil {
		return rel, nil // the owner and themselves
	}
	if f, err := h.db.Following(ctx, a.IRI); err == nil {
		rel.Following = f.State == store.Accepted
		rel.Requested = f.State == store.Pending
		rel.ShowingReblogs = rel.Following
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if f, err := h.db.Follower(ctx, a.IRI); err == nil {
		rel.FollowedBy = f.State == store.Accepted
		rel.RequestedBy = f.State == store.Pending
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	var err error
	if rel.Blocking, err = h.db.IsBlocked(ctx, a.IRI); err != nil {
		return nil, err
	}
	if rel.DomainBlocking, err = h.db.IsBlocked(ctx, a.Host); err != nil {
		return nil, err
	}
	// A timed mute past its end is not one, even before it is deleted.
	if m, err := h.db.MuteOf(ctx, a.IRI, h.now()); err == nil {
		rel.Muting, rel.MutingNotifications = true, m.Notifications
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return rel, nil
}

// relationships answers GET /api/v1/accounts/relationships?id[]=.
func (h *Handler) relationships(w http.ResponseWriter, r *http.Request) {
	ids := params{Values: r.URL.Query()}.list("id")
	out := []*Relationship{}
	for _, id := range ids[:min(len(ids), 40)] {
		_, actor, err := h.accountByID(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			h.fail(w, r, err)
			return
		}
		rel, err := h.relationship(r.Context(), id, actor)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		out = append(out, rel)
	}
	h.writeJSON(w, r, http.StatusOK, out)
}

// accountAction answers POST /api/v1/accounts/:id/<action> (follow,
// block, mute and their undoing) through ap.Service, with the
// relationship afterwards.
func (h *Handler) accountAction(action func(ctx context.Context, iri string) (*store.Actor, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		_, actor, err := h.accountByID(r.Context(), id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if actor == nil {
			h.apiError(w, r, http.StatusForbidden, "This action is not allowed on your own account")
			return
		}
		if _, err := action(r.Context(), actor.IRI); err != nil && !errors.Is(err, ap.ErrNotBlocked) && !errors.Is(err, ap.ErrNotMuted) {
			h.fail(w, r, err)
			return
		}
		h.writeRelationship(w, r, id, actor)
	}
}

// maxMuteDuration bounds a mute's duration, beyond which time.Duration
// would overflow: a century is as good as until lifted.
const maxMuteDuration = 100 * 365 * 24 * time.Hour

// mute answers POST /api/v1/accounts/:id/mute with Mastodon's parameters:
// notifications (hide them too, true unless false is sent) and duration
// (seconds until the mute ends by itself; 0 or none, until lifted).
func (h *Handler) mute(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	notifications := !p.has("notifications") || p.bool("notifications")
	var d time.Duration
	if v := strings.TrimSpace(p.Get("duration")); v != "" {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs < 0 {
			h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: duration must be a number of seconds")
			return
		}
		d = time.Duration(min(secs, int64(maxMuteDuration/time.Second))) * time.Second
	}
	h.accountAction(func(ctx context.Context, iri string) (*store.Actor, error) {
		return h.ap.MuteFor(ctx, iri, notifications, d)
	})(w, r)
}

// withIRI adapts an ap.Service method on a post IRI to interact.
func withIRI(f func(ctx context.Context, iri string) error) func(ctx context.Context, p *store.Post) error {
	return func(ctx context.Context, p *store.Post) error { return f(ctx, p.IRI) }
}

// notificationGroup is one group of Mastodon 4.3's grouped notifications.
// kith makes each notification a group of its own, which clients show
// like the ungrouped list.
type notificationGroup struct {
	GroupKey                 string   `json:"group_key"`
	NotificationsCount       int      `json:"notifications_count"`
	Type                     string   `json:"type"`
	MostRecentNotificationID string   `json:"most_recent_notification_id"`
	PageMinID                string   `json:"page_min_id"`
	PageMaxID                string   `json:"page_max_id"`
	LatestPageNotificationAt string   `json:"latest_page_notification_at"`
	SampleAccountIDs         []string `json:"sample_account_ids"`
	StatusID                 *string  `json:"status_id,omitempty"`
}

// groupedNotifications answers GET /api/v2/notifications, the form
// Mastodon 4.3 clients ask for: the groups, and the accounts and
// statuses they name, each once.
func (h *Handler) groupedNotifications(w http.ResponseWriter, r *http.Request) {
	views, err := h.queriedNotifications(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	groups := []notificationGroup{}
	accounts, statuses := []*Account{}, []*Status{}
	seenAccounts, seenStatuses := map[string]bool{}, map[string]bool{}
	for _, n := range views {
		g := notificationGroup{
			GroupKey: n.GroupKey, NotificationsCount: 1, Type: n.Type, MostRecentNotificationID: n.ID,
			PageMinID: n.ID, PageMaxID: n.ID, LatestPageNotificationAt: n.CreatedAt, SampleAccountIDs: []string{n.Account.ID},
		}
		if !seenAccounts[n.Account.ID] {
			seenAccounts[n.Account.ID] = true
			accounts = append(accounts, n.Account)
		}
		if n.Status != nil {
			g.StatusID = &n.Status.ID
			if !seenStatuses[n.Status.ID] {
				seenStatuses[n.Status.ID] = true
				statuses = append(statuses, n.Status)
			}
		}
		groups = append(groups, g)
	}
	if len(views) > 0 {
		h.setLink(w, r, views[0].ID, views[len(views)-1].ID)
	}
	h.writeJSON(w, r, http.StatusOK, map[string]any{"accounts": accounts, "statuses": statuses, "notification_groups": groups})
}

// unreadNotifications answers GET /api/v1/notifications/unread_count
// (and v2's), counted from the notifications marker.
func (h *Handler) unreadNotifications(w http.ResponseWriter, r *http.Request) {
	n, err := h.db.UnreadNotifications(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, map[string]int{"count": n})
}
