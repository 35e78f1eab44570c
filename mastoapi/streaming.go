package mastoapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"kith/store"
)

// Hub passes the database's committed changes (store.Change) to the open
// streams. main builds one, gives its Publish to store.DB.Observe and the
// Hub to New; a Handler without one answers the streaming endpoints 503.
type Hub struct {
	mu   sync.Mutex
	subs map[chan []store.Change]struct{}
}

// NewHub returns a Hub with no streams.
func NewHub() *Hub { return &Hub{subs: map[chan []store.Change]struct{}{}} }

// streamBuffer is how many commits a stream may fall behind before it
// misses some: a client that reads this slowly refetches its timeline.
const streamBuffer = 64

// Publish hands changes to every stream without waiting: it runs on the
// database writer's goroutine, just after the commit.
func (hub *Hub) Publish(changes []store.Change) {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	for ch := range hub.subs {
		select {
		case ch <- changes:
		default: // this stream is behind; it misses these
		}
	}
}

// subscribe opens a channel of changes; cancel closes it.
func (hub *Hub) subscribe() (ch chan []store.Change, cancel func()) {
	ch = make(chan []store.Change, streamBuffer)
	hub.mu.Lock()
	hub.subs[ch] = struct{}{}
	hub.mu.Unlock()
	return ch, func() {
		hub.mu.Lock()
		delete(hub.subs, ch)
		hub.mu.Unlock()
	}
}

// Stream names, as Mastodon's streaming API names them.
const (
	streamUser          = "user"
	streamNotification  = "user:notification"
	streamPublic        = "public"
	streamPublicLocal   = "public:local"
	streamPublicMedia   = "public:media"
	streamLocalMedia    = "public:local:media"
	streamHashtag       = "hashtag"
	streamHashtagLocal  = "hashtag:local"
	heartbeat           = 30 * time.Second
	maxStreamsPerSocket = 32
	maxTagLen           = 100
)

// stream is one subscription of a connection: a name, and a tag for the
// hashtag streams.
type stream struct{ name, tag string }

// label is the "stream" array of an event: the name, and the tag after it.
func (s stream) label() []string {
	if s.tag != "" {
		return []string{s.name, s.tag}
	}
	return []string{s.name}
}

// parseStream checks a stream name (and its tag) and whether the caller may
// open it: the user streams need the owner's token with a read scope.
func parseStream(name, tag string, owner bool) (stream, int, string) {
	switch name {
	case streamUser, streamNotification:
		if !owner {
			return stream{}, http.StatusUnauthorized, msgInvalidToken
		}
		return stream{name: name}, 0, ""
	case streamPublic, streamPublicLocal, streamPublicMedia, streamLocalMedia:
		return stream{name: name}, 0, ""
	case streamHashtag, streamHashtagLocal:
		tag = strings.ToLower(strings.TrimPrefix(tag, "#"))
		if tag == "" || len(tag) > maxTagLen {
			return stream{}, http.StatusBadRequest, "No tag for stream provided"
		}
		return stream{name: name, tag: tag}, 0, ""
	}
	return stream{}, http.StatusBadRequest, "Unknown stream type"
}

// event is one message of a stream, in Mastodon's shape. Over WebSocket
// the payload is a string (JSON inside JSON, as Mastodon sends it); over
// server-sent events it is the data line.
type event struct {
	Stream  []string `json:"stream"`
	Event   string   `json:"event"`
	Payload string   `json:"payload"`
}

// streamAuth finds the streaming request's token: the Authorization
// header, the access_token query parameter, or the Sec-WebSocket-Protocol
// header (browsers cannot set headers on a WebSocket, so Mastodon's web
// client and Elk send it there). owner reports a valid owner token with a
// read scope; a token sent but invalid is refused.
func (h *Handler) streamAuth(r *http.Request) (req *http.Request, protocol string, status int) {
	raw := bearer(r)
	if raw == "" {
		protocol = strings.TrimSpace(r.Header.Get("Sec-WebSocket-Protocol"))
		raw = protocol
	}
	if raw == "" {
		return r, "", 0
	}
	t, err := h.db.AccessTokenByHash(r.Context(), store.HashSecret(raw))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, "", http.StatusUnauthorized
	case err != nil:
		h.log.Error("streaming: token lookup failed", "err", err)
		return nil, "", http.StatusInternalServerError
	}
	scopes, _ := parseScopes(t.Scopes)
	if t.Owner && (allows(scopes, "read:statuses") || allows(scopes, "read:notifications")) {
		r = r.WithContext(context.WithValue(r.Context(), tokenKey{}, t))
	}
	return r, protocol, 0
}

// streamHealth answers GET /api/v1/streaming/health as Mastodon does.
func (h *Handler) streamHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, "OK")
}

// streaming answers GET /api/v1/streaming: a WebSocket when the client asks
// to upgrade, server-sent events otherwise (Mastodon's streaming server
// answers both there).
func (h *Handler) streaming(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		h.streamSSE("")(w, r)
		return
	}
	if h.hub == nil {
		h.apiError(w, r, http.StatusServiceUnavailable, "Streaming is not available")
		return
	}
	r, protocol, status := h.streamAuth(r)
	if status != 0 {
		h.apiError(w, r, status, msgInvalidToken)
		return
	}
	owner := isOwner(r)
	q := r.URL.Query()
	var streams []stream
	if name := q.Get("stream"); name != "" {
		s, status, msg := parseStream(name, q.Get("tag"), owner)
		if status != 0 {
			h.apiError(w, r, status, msg)
			return
		}
		streams = append(streams, s)
	}
	// A stream lasts longer than the server's write timeout.
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{})
	rc.SetReadDeadline(time.Time{})
	opts := &websocket.AcceptOptions{
		// Clients connect from their own origin (Elk, Phanpy) and prove
		// who they are with a token, never a cookie, so the origin check
		// that guards cookie-authenticated sockets is not needed.
		InsecureSkipVerify: true,
	}
	if protocol != "" {
		opts.Subprotocols = []string{protocol} // Mastodon answers with the token it was given
	}
	c, err := websocket.Accept(w, r, opts)
	if err != nil {
		return // Accept has answered
	}
	defer c.CloseNow()
	c.SetReadLimit(4096)
	changes, cancel := h.hub.subscribe()
	defer cancel()

	ctx, stop := context.WithCancel(r.Context())
	defer stop()
	// Subscribe and unsubscribe messages arrive on their own goroutine.
	msgs := make(chan streamMessage, 4)
	go func() {
		defer stop()
		for {
			var m streamMessage
			typ, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			if typ != websocket.MessageText || json.Unmarshal(b, &m) != nil {
				continue
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	send := func(e event) error {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		wctx, done := context.WithTimeout(ctx, 10*time.Second)
		defer done()
		return c.Write(wctx, websocket.MessageText, b)
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			c.Close(websocket.StatusNormalClosure, "")
			return
		case <-tick.C:
			pctx, done := context.WithTimeout(ctx, 10*time.Second)
			err := c.Ping(pctx)
			done()
			if err != nil {
				return
			}
		case m := <-msgs:
			s, status, msg := parseStream(m.Stream, m.Tag, owner)
			if status != 0 {
				b, _ := json.Marshal(map[string]any{"error": msg, "status": status})
				if c.Write(ctx, websocket.MessageText, b) != nil {
					return
				}
				continue
			}
			switch m.Type {
			case "subscribe":
				if !slices.Contains(streams, s) && len(streams) < maxStreamsPerSocket {
					streams = append(streams, s)
				}
			case "unsubscribe":
				streams = slices.DeleteFunc(streams, func(x stream) bool { return x == s })
			}
		case cs := <-changes:
			for _, e := range h.streamEvents(r, streams, cs) {
				if send(e) != nil {
					return
				}
			}
		}
	}
}

// streamMessage is what a WebSocket client sends to change its streams.
type streamMessage struct {
	Type   string `json:"type"` // subscribe or unsubscribe
	Stream string `json:"stream"`
	Tag    string `json:"tag"`
}

// streamSSE answers the server-sent-events form of one stream
// (GET /api/v1/streaming/user and the others), which Mastodon.py uses;
// name "" takes the stream from the query's stream parameter.
func (h *Handler) streamSSE(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.hub == nil {
			h.apiError(w, r, http.StatusServiceUnavailable, "Streaming is not available")
			return
		}
		r, _, status := h.streamAuth(r)
		if status != 0 {
			h.apiError(w, r, status, msgInvalidToken)
			return
		}
		q := r.URL.Query()
		if name == "" {
			name = q.Get("stream")
		}
		s, status, msg := parseStream(name, q.Get("tag"), isOwner(r))
		if status != 0 {
			h.apiError(w, r, status, msg)
			return
		}
		rc := http.NewResponseController(w)
		rc.SetWriteDeadline(time.Time{})
		changes, cancel := h.hub.subscribe()
		defer cancel()
		hdr := w.Header()
		hdr.Set("Content-Type", "text/event-stream")
		hdr.Set("Cache-Control", "no-store")
		hdr.Set("X-Accel-Buffering", "no") // a proxy in front must not hold events back
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, ":)\n\n")
		if rc.Flush() != nil {
			return
		}
		tick := time.NewTicker(heartbeat)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
				fmt.Fprint(w, ":thump\n\n")
			case cs := <-changes:
				for _, e := range h.streamEvents(r, []stream{s}, cs) {
					fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Event, e.Payload)
				}
			}
			if rc.Flush() != nil {
				return
			}
		}
	}
}

// streamEvents turns committed changes into the events the streams want.
func (h *Handler) streamEvents(r *http.Request, streams []stream, changes []store.Change) []event {
	if len(streams) == 0 {
		return nil
	}
	ctx := r.Context()
	var out []event
	emit := func(want func(stream) bool, name string, payload func() (any, error)) {
		var body string
		for _, s := range streams {
			if !want(s) {
				continue
			}
			if body == "" {
				v, err := payload()
				if err != nil {
					if !errors.Is(err, store.ErrNotFound) {
						h.log.Warn("streaming: could not build an event", "event", name, "err", err)
					}
					return
				}
				if str, ok := v.(string); ok {
					body = str
				} else {
					b, err := json.Marshal(v)
					if err != nil {
						return
					}
					body = string(b)
				}
			}
			out = append(out, event{Stream: s.label(), Event: name, Payload: body})
		}
	}
	for _, c := range changes {
		switch c.Kind {
		case store.ChangeNotification:
			emit(func(s stream) bool { return s.name == streamUser || s.name == streamNotification }, "notification",
				func() (any, error) { return h.streamNotification(r, c.SID) })
		case store.ChangeHome:
			emit(func(s stream) bool { return s.name == streamUser }, "update",
				func() (any, error) { return h.homeStatus(r, c.SID) })
		case store.ChangePost:
			if !c.Local && !c.Edited {
				continue // a remote post reaches the user stream through the home timeline
			}
			p, err := h.db.PostBySID(ctx, c.SID)
			if err != nil {
				continue
			}
			name := "update"
			if c.Edited {
				name = "status.update"
			}
			// The owner's post, or an edited post on the home timeline.
			emit(func(s stream) bool { return s.name == streamUser }, name, func() (any, error) {
				if c.Local {
					return h.statusOf(ctx, r, p)
				}
				return h.homeStatus(r, c.SID)
			})
			if c.Local && p.Visibility == store.Public && p.DeletedAt.IsZero() {
				emit(func(s stream) bool { return publicWants(s, p) }, name,
					func() (any, error) { return h.statusOf(ctx, r, p) })
			}
		case store.ChangeDelete:
			emit(func(stream) bool { return true }, "delete", func() (any, error) { return c.SID, nil })
		}
	}
	return out
}

// publicWants reports whether a public stream shows one of the owner's
// public posts. kith keeps no federated timeline, so the public streams,
// like the public timeline, are the owner's posts.
func publicWants(s stream, p *store.Post) bool {
	switch s.name {
	case streamPublic, streamPublicLocal:
		return true
	case streamPublicMedia, streamLocalMedia:
		return len(p.Attachments) > 0
	case streamHashtag, streamHashtagLocal:
		return slices.Contains(p.Tags, s.tag)
	}
	return false
}

// homeStatus is the home timeline's entry sid as a Status, or
// store.ErrNotFound when it is not shown there (a muted account).
func (h *Handler) homeStatus(r *http.Request, sid string) (*Status, error) {
	// The entry at sid: the newest at or below it, if it is that one.
	entries, err := h.db.Home(r.Context(), store.HomeQuery{Page: store.Page{MaxID: sid + "\x00", Limit: 1}, Owner: h.urls.Actor()})
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 || entries[0].SID != sid {
		return nil, store.ErrNotFound
	}
	out, err := h.entryStatuses(r, entries)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// streamNotification is the notification id as Mastodon's entity, or
// store.ErrNotFound when the owner does not see it (a muted account).
func (h *Handler) streamNotification(r *http.Request, id string) (*Notification, error) {
	ns, err := h.db.Notifications(r.Context(), store.NotificationQuery{Page: store.Page{MaxID: id + "\x00", Limit: 1}, Owner: h.urls.Actor()})
	if err != nil {
		return nil, err
	}
	if len(ns) == 0 || ns[0].ID != id {
		return nil, store.ErrNotFound
	}
	out, err := h.notificationViews(r, ns)
	if err != nil {
		return nil, err
	}
	return &out[0], nil
}

// streamRoutes registers the streaming endpoints.
func (h *Handler) streamRoutes() {
	m := h.mux
	m.HandleFunc("GET /api/v1/streaming", h.streaming)
	m.HandleFunc("GET /api/v1/streaming/{$}", h.streaming)
	m.HandleFunc("GET /api/v1/streaming/health", h.streamHealth)
	for path, name := range map[string]string{
		"user": streamUser, "user/notification": streamNotification,
		"public": streamPublic, "public/local": streamPublicLocal,
		"public/media": streamPublicMedia, "public/local/media": streamLocalMedia,
		"hashtag": streamHashtag, "hashtag/local": streamHashtagLocal,
	} {
		m.HandleFunc("GET /api/v1/streaming/"+path, h.streamSSE(name))
	}
}
