package web

import "net/http"

// routes registers every browser route. The whole mux sits behind the
// session loader and Go's cross-origin protection, which refuses unsafe
// requests (POST and the like) that a browser marks as coming from another
// site.
func (h *Handler) routes() {
	m := h.mux
	m.HandleFunc("GET /{$}", h.showHome)
	// Go's patterns match whole segments, so /@name is /{handle} with the
	// @ checked by the handlers.
	m.HandleFunc("GET /{handle}", h.showProfile)
	m.HandleFunc("GET /{handle}/{id}", h.showPost)
	m.HandleFunc("GET /tags/{tag}", h.showTag)
	m.HandleFunc("GET /media/{file}", h.serveMedia)
	m.HandleFunc("GET /media/{id}/{file}", h.serveMediaPreview)
	m.HandleFunc("GET /static/{file}", h.static.serve)
	m.HandleFunc("GET /proxy/{mac}", h.serveProxiedMedia)
	m.HandleFunc("GET /robots.txt", h.serveRobots)
	m.HandleFunc("GET /feed.atom", h.serveAtom)
	m.HandleFunc("GET /feed.rss", h.serveRSS)
	m.HandleFunc("GET /feeds", h.showFeeds)

	m.HandleFunc("GET /login", h.showLogin)
	m.HandleFunc("POST /login", h.submitLogin)
	m.HandleFunc("POST /logout", h.form(smallFormLimit, h.owner(h.submitLogout)))

	// The owner's pages. Forms are read (within their size limit) before
	// the CSRF check, which needs the token from the body.
	m.HandleFunc("GET /compose", h.owner(h.showCompose))
	m.HandleFunc("POST /compose", h.form(postFormLimit, h.owner(h.submitCompose)))
	m.HandleFunc("GET /scheduled", h.owner(h.showScheduled))
	m.HandleFunc("POST /scheduled/cancel", h.form(smallFormLimit, h.owner(h.submitCancelScheduled)))
	m.HandleFunc("GET /edit/{id}", h.owner(h.showEdit))
	m.HandleFunc("POST /edit/{id}", h.form(postFormLimit, h.owner(h.submitEdit)))
	m.HandleFunc("GET /delete/{id}", h.owner(h.showDelete))
	m.HandleFunc("POST /delete/{id}", h.form(smallFormLimit, h.owner(h.submitDelete)))
	m.HandleFunc("POST /pin/{id}", h.form(smallFormLimit, h.owner(h.submitPin)))
	m.HandleFunc("GET /home", h.owner(h.showTimeline))
	m.HandleFunc("GET /bookmarks", h.owner(h.showBookmarks))
	m.HandleFunc("GET /notifications", h.owner(h.showNotifications))
	m.HandleFunc("POST /notifications/read", h.form(smallFormLimit, h.owner(h.submitNotificationsRead)))
	m.HandleFunc("GET /replies", h.owner(h.showReplies))
	m.HandleFunc("GET /replies/hidden", h.owner(h.showReplies))
	m.HandleFunc("POST /replies/approval", h.form(smallFormLimit, h.owner(h.submitReplyApproval)))
	m.HandleFunc("POST /replies/remove", h.form(smallFormLimit, h.owner(h.submitReplyRemove)))
	m.HandleFunc("POST /settings/replies", h.form(smallFormLimit, h.owner(h.submitReplyPolicy)))
	m.HandleFunc("POST /poll", h.form(smallFormLimit, h.owner(h.submitVote)))
	for _, action := range []string{"like", "unlike", "boost", "unboost", "bookmark", "unbookmark"} {
		m.HandleFunc("POST /"+action, h.form(smallFormLimit, h.owner(h.submitInteraction(action))))
	}
	m.HandleFunc("GET /thread", h.owner(h.showThread))
	m.HandleFunc("GET /search", h.owner(h.showSearch))
	m.HandleFunc("GET /settings/status", h.owner(h.showStatus))
	m.HandleFunc("GET /settings", h.owner(h.showSettings))
	m.HandleFunc("GET /settings/profile", h.owner(h.showProfileSettings))
	m.HandleFunc("POST /settings/profile", h.form(profileFormLimit, h.owner(h.submitProfileSettings)))
	m.HandleFunc("GET /followers", h.owner(h.showFollowers))
	m.HandleFunc("GET /avatars", h.owner(h.serveAvatar))
	m.HandleFunc("GET /people", h.owner(h.showPerson))
	m.HandleFunc("POST /people", h.form(smallFormLimit, h.owner(h.submitPerson)))
	m.HandleFunc("GET /following", h.owner(h.showFollowing))
	m.HandleFunc("GET /settings/blocks", h.owner(h.showBlocks))
	m.HandleFunc("POST /settings/blocks", h.form(smallFormLimit, h.owner(h.submitBlocks)))
	m.HandleFunc("POST /settings/blocks/import", h.form(blocklistFormLimit, h.owner(h.submitBlocklist)))
	m.HandleFunc("POST /following", h.form(smallFormLimit, h.owner(h.submitUnfollow)))
	m.HandleFunc("POST /followers", h.form(smallFormLimit, h.owner(h.submitFollower)))
	m.HandleFunc("GET /settings/deliveries", h.owner(h.showDeliveries))
	m.HandleFunc("POST /settings/deliveries/retry", h.form(smallFormLimit, h.owner(h.submitRetryHost)))
	m.HandleFunc("GET /settings/moving", h.owner(h.showMoving))
	m.HandleFunc("POST /settings/moving", h.form(smallFormLimit, h.owner(h.submitMoving)))
	m.HandleFunc("GET /settings/export/{name}", h.owner(h.showExport))
	m.HandleFunc("POST /settings/import", h.form(importFormLimit, h.owner(h.submitImport)))
	m.HandleFunc("GET /settings/archive", h.owner(h.showArchiveImport))
	// Streamed to disk rather than read by form: it checks the session and
	// the CSRF token itself, from the first part of the body.
	m.HandleFunc("POST /settings/archive", h.submitArchiveImport)
	m.HandleFunc("GET /settings/password", h.owner(h.showPassword))
	m.HandleFunc("POST /settings/password", h.form(smallFormLimit, h.owner(h.submitPassword)))
	m.HandleFunc("GET /settings/sessions", h.owner(h.showSessions))
	m.HandleFunc("POST /settings/sessions", h.form(smallFormLimit, h.owner(h.submitEndSession)))
	m.HandleFunc("GET /settings/apps", h.owner(h.showApps))
	m.HandleFunc("POST /settings/apps", h.form(smallFormLimit, h.owner(h.submitRevokeApp)))

	m.HandleFunc("/", h.notFound)

	cop := http.NewCrossOriginProtection()
	h.handler = h.withSession(cop.Handler(m))
}
