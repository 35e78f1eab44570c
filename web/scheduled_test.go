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

// TestComposeSchedules: "Publish later" on the compose page keeps the
// post, with its image and description, for the time typed in the time
// zone chosen (remembered for next time); the scheduled posts page lists
// it in that zone and cancels; times passed, too soon or malformed come
// back with a sentence; the scheduler's round publishes it.
func TestComposeSchedules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := aptest.NewClock(time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC))
	k := newKit(t, aptest.InstanceOptions{Now: clock.Now})
	k.login()
	if body := k.get("/compose").Body.String(); !strings.Contains(body, `name="schedule_at"`) || !strings.Contains(body, `<option value="0" selected>UTC&#43;00:00</option>`) {
		t.Fatalf("the compose page offers no time to publish in UTC by default:\n%s", body)
	}
	plus1 := time.FixedZone("", 3600)
	local := func(d time.Duration) string { return clock.Now().Add(d).In(plus1).Format("2006-01-02T15:04") }

	for _, tt := range []struct{ name, at, offset, want string }{
		{"passed", local(-time.Hour), "60", "has passed"},
		{"too soon", local(3 * time.Minute), "60", "at least five minutes"},
		{"malformed", "tomorrow", "60", "not a date and time"},
		{"no such zone", local(time.Hour), "61", "time zone"},
	} {
		rec := k.postMultipart("/compose", url.Values{"text": {"later"}, "action": {"publish"}, "schedule_at": {tt.at}, "utc_offset": {tt.offset}})
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("%s: status %d; want 422 saying %q\n%s", tt.name, rec.Code, tt.want, rec.Body)
		}
	}

	rec := k.postMultipart("/compose", url.Values{
		"text": {"Good morning, #kith"}, "action": {"publish"}, "schedule_at": {local(2 * time.Hour)}, "utc_offset": {"60"},
		"alt-new-1": {"A red square"},
	}, file{"file-1", "red.png", pngImage(t, 8, 8, red)})
	if rec.Code != http.StatusSeeOther || location(t, rec) != "/scheduled?done=scheduled" {
		t.Fatalf("schedule: status %d, to %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if posts, _ := k.counts(); posts != 0 {
		t.Fatalf("%d posts published at once; want none", posts)
	}
	sps, err := k.inst.DB.ScheduledPosts(ctx, store.Page{})
	if err != nil || len(sps) != 1 {
		t.Fatalf("scheduled %v, %v; want one", sps, err)
	}
	if want := clock.Now().Add(2 * time.Hour).Truncate(time.Minute); !sps[0].ScheduledAt.Equal(want) {
		t.Errorf("scheduled at %v; want %v (the time typed, at UTC+01:00)", sps[0].ScheduledAt, want)
	}
	list := k.get("/scheduled?done=scheduled").Body.String()
	for _, want := range []string{"Scheduled. It is published at its time.", "Good morning, #kith", "Mon 7 Dec 2026 00:00 UTC&#43;01:00", "1 image", `action="/scheduled/cancel"`} {
		if !strings.Contains(list, want) {
			t.Errorf("the scheduled posts page lacks %q:\n%s", want, list)
		}
	}
	if body := k.get("/compose").Body.String(); !strings.Contains(body, `<option value="60" selected>UTC&#43;01:00</option>`) {
		t.Error("the compose page forgot the time zone chosen")
	}

	clock.Advance(2 * time.Hour)
	if n, err := k.inst.Service.PublishDue(ctx); err != nil || n != 1 {
		t.Fatalf("PublishDue = %d, %v", n, err)
	}
	p, err := k.inst.DB.LocalPosts(ctx, store.PostQuery{Visibilities: []string{store.Public}, Limit: 5})
	if err != nil || len(p) != 1 || len(p[0].Attachments) != 1 || p[0].Attachments[0].Description != "A red square" {
		t.Fatalf("published %+v, %v; want the post with its described image", p, err)
	}

	rec = k.postMultipart("/compose", url.Values{"text": {"never mind"}, "action": {"publish"}, "schedule_at": {local(time.Hour)}, "utc_offset": {"60"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("schedule: %d", rec.Code)
	}
	sps, _ = k.inst.DB.ScheduledPosts(ctx, store.Page{})
	if rec := k.post("/scheduled/cancel", url.Values{"id": {sps[0].ID}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("cancel: %d", rec.Code)
	}
	if body := k.get("/scheduled?done=cancelled").Body.String(); !strings.Contains(body, "Nothing is scheduled.") {
		t.Errorf("after cancelling:\n%s", body)
	}
	if rec := k.post("/scheduled/cancel", url.Values{"id": {sps[0].ID}}); rec.Code != http.StatusNotFound {
		t.Errorf("cancelling again: %d; want 404", rec.Code)
	}
	if rec := k.visitor().get("/scheduled"); rec.Code == http.StatusOK {
		t.Error("a visitor sees the scheduled posts")
	}
}
