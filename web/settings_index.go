package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"kith/store"
)

// settingsIndexPage is the data of settings-index.html.
type settingsIndexPage struct {
	page
	Sections []settingsSection
}

// settingsSection is one entry of the settings index: a page of settings
// and a line about what it holds, with its state when there is one worth
// knowing before opening it.
type settingsSection struct {
	URL    string
	Title  string
	About  string
	Status string
}

// showSettings lists every settings page, so that /settings is the one
// address the owner needs to remember.
func (h *Handler) showSettings(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := h.basePage(r, "Settings")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	acct, err := h.account(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	sessions, err := h.db.Sessions(ctx, h.now())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	queue, err := h.db.DeliveryStats(ctx, h.now())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	apps, err := h.db.AuthorizedApps(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	nFollowing, err := h.db.CountFollowing(ctx, store.Accepted)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	following := "You follow " + plural(nFollowing, "account", "accounts") + "."
	held, err := h.db.CountHeldReplies(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := &settingsIndexPage{page: p}
	data.Title = "Settings · " + p.Site.Name

	approval := "Anyone can follow you at once."
	if acct.Locked {
		approval = "You approve followers by hand."
	}
	data.Sections = []settingsSection{
		{URL: "/settings/profile", Title: "Profile", About: "Your name, bio, avatar, header image and profile fields, and whether you approve followers.", Status: approval},
		{URL: "/settings/moving", Title: "Moving", About: "Bring your followers from an old account, or move to a new one and take them along."},
		{URL: "/settings/password", Title: "Password", About: "Change the password you log in with. Every other browser is logged out when you do."},
		{URL: "/settings/sessions", Title: "Logged-in browsers", About: "Where you are logged in; log out a browser you no longer use, or everywhere at once.", Status: plural(len(sessions), "browser", "browsers") + " logged in."},
		{URL: "/settings/apps", Title: "Apps", About: "The Mastodon apps you let use your account, such as Tusky, Ice Cubes or toot; revoke one you no longer use.", Status: plural(len(apps), "app", "apps") + " with access."},
		{URL: "/followers", Title: "Followers", About: "Approve follow requests and remove followers.", Status: followStatus(p.FollowRequests)},
		{URL: "/following", Title: "Following", About: "The accounts you follow, your requests still waiting for an answer, and those turned down.", Status: following},
		{URL: "/replies", Title: "Replies to your posts", About: "Who may appear under your posts, the replies waiting for your approval, and those you hid.", Status: plural(held, "reply", "replies") + " waiting."},
		{URL: "/settings/blocks", Title: "Blocks and mutes", About: "The accounts and servers you blocked or muted; block a server, import a blocklist, lift a block."},
		{URL: "/settings/deliveries", Title: "Deliveries", About: "How sending your posts to other servers goes, and which servers keep failing.", Status: queueStatus(queue)},
		{URL: "/settings/status", Title: "Status", About: "How big the database is, what it holds and queues, and which old posts from other servers were pruned."},
	}
	h.render(w, r, http.StatusOK, "settings-index", data)
}

// plural writes n with the singular or plural noun.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func followStatus(waiting int) string {
	if waiting == 0 {
		return "No requests waiting."
	}
	return plural(waiting, "request", "requests") + " waiting."
}

func queueStatus(q store.QueueStats) string {
	if q.Pending == 0 {
		return "Nothing waiting to be sent."
	}
	return plural(q.Pending, "delivery", "deliveries") + " waiting, to " + plural(q.Hosts, "server", "servers") + "."
}

// agentName describes a browser from its User-Agent header in a few words,
// such as "Firefox on Linux", the way the sessions page lists it.
func agentName(ua string) string {
	if ua == "" {
		return "Unknown browser"
	}
	browser := "Unknown browser"
	for _, b := range []struct{ token, name string }{
		// Order matters: Edge and Opera also claim Chrome, and Chrome
		// claims Safari.
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chromium/", "Chromium"},
		{"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, o := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Mac OS X", "macOS"},
		{"Windows", "Windows"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			return browser + " on " + o.name
		}
	}
	return browser
}

// sinceText says how long ago t was, roughly, for the sessions page.
func sinceText(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 2*time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour", "hours") + " ago"
	}
	return plural(int(d/(24*time.Hour)), "day", "days") + " ago"
}
