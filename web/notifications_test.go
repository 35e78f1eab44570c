package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

// notify records a notification as the inbox would.
func (k *kit) notify(n store.Notification) {
	k.t.Helper()
	ctx := context.Background()
	if n.CreatedAt.IsZero() {
		n.CreatedAt = time.Now()
	}
	if err := k.inst.DB.Update(ctx, func(tx *store.Tx) error { return tx.Notify(ctx, &n) }); err != nil {
		k.t.Fatal(err)
	}
}

// TestNotificationsPage: every type reads as a sentence with who did it
// and the post concerned; the header of every owner page counts the
// unread ones until the owner marks them read.
func TestNotificationsPage(t *testing.T) {
	k := newKit(t, aptest.InstanceOptions{})
	if rec := k.get("/notifications"); rec.Code != http.StatusSeeOther {
		t.Fatalf("a visitor at /notifications: status %d; want a redirect to log in", rec.Code)
	}
	k.login()
	if body := k.get("/notifications").Body.String(); !strings.Contains(body, "No notifications yet") || strings.Contains(body, "badge unread") {
		t.Fatalf("empty notifications page:\n%s", body)
	}
	_, _, ann := k.followed("ann")
	own := k.publishPost("Something I wrote", store.Public)
	reply := k.remotePost(ann, 1, time.Now().Add(-time.Minute), func(p *store.Post) { p.InReplyTo = own.IRI })
	mention := k.remotePost(ann, 2, time.Now().Add(-time.Minute), nil)
	// A report shows what it says and what it is about, not its id.
	report := &store.Report{IRI: ann.IRI + "#flags/1", ActorIRI: ann.IRI, Content: "Spam, <b>clearly</b>",
		Objects: []string{own.IRI}, CreatedAt: time.Now()}
	if err := k.inst.DB.Update(context.Background(), func(tx *store.Tx) error { _, err := tx.PutReport(context.Background(), report); return err }); err != nil {
		t.Fatal(err)
	}
	types := []struct {
		n    store.Notification
		want string
	}{
		{store.Notification{Type: store.NotifyFollow}, "followed you"},
		{store.Notification{Type: store.NotifyFollowRequest}, `<a href="/followers">answer the request</a>`},
		{store.Notification{Type: store.NotifyMention, PostID: mention.ID}, "mentioned you"},
		{store.Notification{Type: store.NotifyMention, PostID: reply.ID}, "replied to your post"},
		{store.Notification{Type: store.NotifyFavourite, PostID: own.ID}, "liked your post"},
		{store.Notification{Type: store.NotifyReblog, PostID: own.ID}, "boosted your post"},
		{store.Notification{Type: store.NotifyQuote, PostID: mention.ID}, "quoted your post"},
		{store.Notification{Type: store.NotifyPoll, PostID: mention.ID}, "ran a poll that has ended"},
		{store.Notification{Type: store.NotifyMove, Target: "https://new.example/users/ann"}, `moved to another account: <a href="https://new.example/users/ann"`},
		{store.Notification{Type: store.NotifyReport, Target: "r1"}, "sent a report"},
		{store.Notification{Type: store.NotifyReport, Target: report.ID}, "<p>Spam, &lt;b&gt;clearly&lt;/b&gt;</p>"},
	}
	for _, tt := range types {
		n := tt.n
		n.ActorIRI = ann.IRI
		k.notify(n)
	}
	body := k.get("/notifications").Body.String()
	for _, tt := range types {
		if !strings.Contains(body, tt.want) {
			t.Errorf("the page lacks %q", tt.want)
		}
	}
	if strings.Count(body, `<li class="notification unread"`) != len(types) {
		t.Errorf("want %d unread notifications\n%s", len(types), body)
	}
	if !strings.Contains(body, `About: <a href="`+own.IRI+`"`) || strings.Contains(body, `href="`+report.ID+`"`) || strings.Contains(body, `href="r1"`) {
		t.Errorf("the report's notification does not link what it is about, or links its id\n%s", body)
	}
	for _, want := range []string{"Remote post 1", "Something I wrote", `<bdi>@ann@`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Every owner page counts them in its header.
	for _, path := range []string{"/home", "/compose", "/settings", "/notifications"} {
		if b := k.get(path).Body.String(); !strings.Contains(b, `Notifications <span class="badge unread">11<span class="visually-hidden"> unread</span>`) {
			t.Errorf("%s: the header does not count 11 unread", path)
		}
	}
	rec := k.post("/notifications/read", url.Values{})
	if loc := location(t, rec); loc != "/notifications?read=1" {
		t.Fatalf("mark read went to %s", loc)
	}
	body = k.get("/notifications?read=1").Body.String()
	if strings.Contains(body, "badge unread") || strings.Contains(body, "Mark all read") || !strings.Contains(body, "marked read") {
		t.Errorf("after marking read:\n%s", body)
	}
	k.notify(store.Notification{Type: store.NotifyFollow, ActorIRI: ann.IRI})
	if b := k.get("/home").Body.String(); !strings.Contains(b, `<span class="badge unread">1<span`) {
		t.Error("a new notification is not counted")
	}
	if rec := k.get("/notifications?max_id=%22"); rec.Code != http.StatusBadRequest {
		t.Errorf("a forged cursor: status %d; want 400", rec.Code)
	}
	if rec := k.post("/notifications/read", url.Values{"csrf": {"forged"}}); rec.Code != http.StatusForbidden {
		t.Errorf("mark read without the CSRF token: status %d; want 403", rec.Code)
	}
}
