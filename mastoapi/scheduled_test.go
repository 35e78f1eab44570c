package mastoapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
)

// TestScheduledStatusGolden: POST /api/v1/statuses with scheduled_at
// answers a ScheduledStatus (with its upload, reply and poll parameters),
// exactly as kith sends it; the list and GET answer the same entity, and
// PUT moves it.
func TestScheduledStatusGolden(t *testing.T) {
	k, clock := goldenKit(t)
	tok := k.login("read write")
	body, ct := multipartBody(t, url.Values{"description": {"A gradient"}}, "file", "g.png", pngImage(t, 40, 30))
	m := decode[MediaAttachment](t, k.do(request{method: "POST", path: "/api/v2/media", token: tok, body: body, contentType: ct}), 200)
	first := decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, form: url.Values{"status": {"First"}}}), 200)

	at := clock.Now().Add(24 * time.Hour).Format(time.RFC3339)
	rec := k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, json: map[string]any{
		"status": "Tomorrow, #kith", "media_ids": []string{m.ID}, "in_reply_to_id": first.ID,
		"visibility": "private", "spoiler_text": "news", "language": "en", "scheduled_at": at,
	}})
	if rec.Code != 200 {
		t.Fatalf("schedule: %d %s", rec.Code, rec.Body)
	}
	k.golden(t, "scheduled-status.json", rec, rec.Body.Bytes())
	sched := decode[ScheduledStatus](t, rec, 200)

	rec = k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, form: url.Values{
		"status": {"Which?"}, "poll[options][]": {"this", "that"}, "poll[expires_in]": {"3600"},
		"poll[multiple]": {"true"}, "poll[hide_totals]": {"true"}, "scheduled_at": {clock.Now().Add(48 * time.Hour).Format("2006-01-02T15:04")},
	}})
	if rec.Code != 200 {
		t.Fatalf("schedule a poll: %d %s", rec.Code, rec.Body)
	}
	k.golden(t, "scheduled-status-poll.json", rec, rec.Body.Bytes())
	poll := decode[ScheduledStatus](t, rec, 200)

	rec = k.do(request{method: "GET", path: "/api/v1/scheduled_statuses?limit=1", token: tok})
	list := decode[[]ScheduledStatus](t, rec, 200)
	if len(list) != 1 || list[0].ID != poll.ID {
		t.Fatalf("first page %+v; want the newest scheduled, %s", list, poll.ID)
	}
	if link := rec.Header().Get("Link"); !strings.Contains(link, "max_id="+poll.ID) || !strings.Contains(link, `rel="next"`) {
		t.Errorf("Link %q", link)
	}
	list = decode[[]ScheduledStatus](t, k.do(request{method: "GET", path: "/api/v1/scheduled_statuses?max_id=" + poll.ID, token: tok}), 200)
	if len(list) != 1 || list[0].ID != sched.ID {
		t.Fatalf("second page %+v; want %s", list, sched.ID)
	}
	got := k.do(request{method: "GET", path: "/api/v1/scheduled_statuses/" + sched.ID, token: tok})
	want, _ := json.Marshal(sched)
	if g := strings.TrimSpace(got.Body.String()); g != string(want) {
		t.Errorf("GET = %s\nwant %s", g, want)
	}

	later := clock.Now().Add(72 * time.Hour).UTC()
	moved := decode[ScheduledStatus](t, k.do(request{method: "PUT", path: "/api/v1/scheduled_statuses/" + sched.ID, token: tok,
		form: url.Values{"scheduled_at": {later.Format(time.RFC3339Nano)}}}), 200)
	if moved.ScheduledAt != timeJSON(later) || moved.Params.Text != sched.Params.Text {
		t.Errorf("PUT moved it to %s (%q); want %s", moved.ScheduledAt, moved.Params.Text, timeJSON(later))
	}
	rec = k.do(request{method: "DELETE", path: "/api/v1/scheduled_statuses/" + poll.ID, token: tok})
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != "{}" {
		t.Errorf("DELETE: %d %s", rec.Code, rec.Body)
	}
	list = decode[[]ScheduledStatus](t, k.do(request{method: "GET", path: "/api/v1/scheduled_statuses", token: tok}), 200)
	if len(list) != 1 || list[0].ID != sched.ID {
		t.Errorf("after DELETE the list is %+v", list)
	}
}

// TestScheduledStatusBadInput: Mastodon's answers to dates it refuses, to
// unknown ids and to tokens without the scope; a time already passed
// publishes at once, as Mastodon does.
func TestScheduledStatusBadInput(t *testing.T) {
	clock := aptest.NewClock(time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC))
	k := newKit(t, aptest.InstanceOptions{Now: clock.Now})
	tok := k.login("read write")
	readOnly := k.login("read")
	writeOnly := k.login("write")
	now := clock.Now()
	sched := decode[ScheduledStatus](t, k.do(request{method: "POST", path: "/api/v1/statuses", token: tok,
		form: url.Values{"status": {"later"}, "scheduled_at": {now.Add(time.Hour).Format(time.RFC3339)}}}), 200)

	for _, tt := range []struct {
		name       string
		req        request
		status     int
		wantError  string
		wantStatus bool // a Status answered: published at once
	}{
		{"malformed date", request{method: "POST", path: "/api/v1/statuses", token: tok, form: url.Values{"status": {"x"}, "scheduled_at": {"next tuesday"}}}, 422, msgScheduleBadDate, false},
		{"four minutes ahead", request{method: "POST", path: "/api/v1/statuses", token: tok, form: url.Values{"status": {"x"}, "scheduled_at": {now.Add(4 * time.Minute).Format(time.RFC3339)}}}, 422, msgScheduleTooSoon, false},
		{"an empty post", request{method: "POST", path: "/api/v1/statuses", token: tok, form: url.Values{"scheduled_at": {now.Add(time.Hour).Format(time.RFC3339)}}}, 422, "", false},
		{"a date passed", request{method: "POST", path: "/api/v1/statuses", token: tok, form: url.Values{"status": {"now"}, "scheduled_at": {now.Add(-time.Hour).Format(time.RFC3339)}}}, 200, "", true},
		{"unknown id", request{method: "GET", path: "/api/v1/scheduled_statuses/01nope", token: tok}, 404, msgNotFound, false},
		{"unknown id PUT", request{method: "PUT", path: "/api/v1/scheduled_statuses/01nope", token: tok, form: url.Values{"scheduled_at": {now.Add(time.Hour).Format(time.RFC3339)}}}, 404, msgNotFound, false},
		{"unknown id DELETE", request{method: "DELETE", path: "/api/v1/scheduled_statuses/01nope", token: tok}, 404, msgNotFound, false},
		{"PUT too soon", request{method: "PUT", path: "/api/v1/scheduled_statuses/" + sched.ID, token: tok, form: url.Values{"scheduled_at": {now.Add(time.Minute).Format(time.RFC3339)}}}, 422, msgScheduleTooSoon, false},
		{"PUT malformed", request{method: "PUT", path: "/api/v1/scheduled_statuses/" + sched.ID, token: tok, form: url.Values{"scheduled_at": {"soon"}}}, 422, msgScheduleBadDate, false},
		{"no token", request{method: "GET", path: "/api/v1/scheduled_statuses"}, 401, msgInvalidToken, false},
		{"list without read", request{method: "GET", path: "/api/v1/scheduled_statuses", token: writeOnly}, 403, msgOutOfScope, false},
		{"schedule without write", request{method: "POST", path: "/api/v1/statuses", token: readOnly, form: url.Values{"status": {"x"}, "scheduled_at": {now.Add(time.Hour).Format(time.RFC3339)}}}, 403, msgOutOfScope, false},
		{"PUT without write", request{method: "PUT", path: "/api/v1/scheduled_statuses/" + sched.ID, token: readOnly, form: url.Values{"scheduled_at": {now.Add(2 * time.Hour).Format(time.RFC3339)}}}, 403, msgOutOfScope, false},
		{"DELETE without write", request{method: "DELETE", path: "/api/v1/scheduled_statuses/" + sched.ID, token: readOnly}, 403, msgOutOfScope, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := k.do(tt.req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			var body map[string]any
			json.Unmarshal(rec.Body.Bytes(), &body)
			if tt.wantError != "" && body["error"] != tt.wantError {
				t.Errorf("error %q; want %q", body["error"], tt.wantError)
			}
			if tt.status == 422 && body["error"] == nil {
				t.Errorf("no error message: %s", rec.Body)
			}
			if tt.wantStatus && (body["content"] == nil || body["params"] != nil) {
				t.Errorf("want a Status published at once, got %s", rec.Body)
			}
		})
	}
	list := decode[[]ScheduledStatus](t, k.do(request{method: "GET", path: "/api/v1/scheduled_statuses", token: tok}), 200)
	if len(list) != 1 || list[0].ID != sched.ID || list[0].ScheduledAt != timeJSON(now.Add(time.Hour)) {
		t.Errorf("scheduled after the refusals: %+v; want only %s, unmoved", list, sched.ID)
	}
}

// TestScheduledStatusPublished: once due, the scheduler's round publishes
// it as a status of the owner's, with its Idempotency-Key honoured when
// scheduling, and it leaves the list.
func TestScheduledStatusPublished(t *testing.T) {
	ctx := context.Background()
	clock := aptest.NewClock(time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC))
	k := newKit(t, aptest.InstanceOptions{Now: clock.Now})
	tok := k.login("read write")
	req := request{method: "POST", path: "/api/v1/statuses", token: tok, header: http.Header{"Idempotency-Key": {"abc"}},
		json: map[string]any{"status": "from the future", "scheduled_at": clock.Now().Add(10 * time.Minute).Format(time.RFC3339)}}
	a := decode[ScheduledStatus](t, k.do(req), 200)
	if b := decode[ScheduledStatus](t, k.do(req), 200); b.ID != a.ID {
		t.Fatalf("a retried request scheduled %s besides %s", b.ID, a.ID)
	}
	clock.Advance(10 * time.Minute)
	if n, err := k.inst.Service.PublishDue(ctx); err != nil || n != 1 {
		t.Fatalf("PublishDue = %d, %v; want 1", n, err)
	}
	if list := decode[[]ScheduledStatus](t, k.do(request{method: "GET", path: "/api/v1/scheduled_statuses", token: tok}), 200); len(list) != 0 {
		t.Errorf("still scheduled: %+v", list)
	}
	if rec := k.do(request{method: "GET", path: "/api/v1/scheduled_statuses/" + a.ID, token: tok}); rec.Code != 404 {
		t.Errorf("GET the published one: %d", rec.Code)
	}
	statuses := decode[[]Status](t, k.do(request{method: "GET", path: "/api/v1/accounts/" + ownerID + "/statuses", token: tok}), 200)
	if len(statuses) != 1 || !strings.Contains(statuses[0].Content, "from the future") {
		t.Fatalf("statuses after publishing: %+v", statuses)
	}
}

// TestScheduledStatusStreamed: a scheduled status published by the
// scheduler's round reaches a client's stream as an update, as a post
// made at once does.
func TestScheduledStatusStreamed(t *testing.T) {
	clock := aptest.NewClock(time.Now())
	k, srv := streamKit(t, aptest.InstanceOptions{Now: clock.Now})
	tok := k.login("read write")
	next := sseStream(t, srv, tok)
	decode[ScheduledStatus](t, k.do(request{method: "POST", path: "/api/v1/statuses", token: tok,
		form: url.Values{"status": {"on time"}, "scheduled_at": {clock.Now().Add(time.Hour).Format(time.RFC3339)}}}), 200)
	clock.Advance(time.Hour)
	if n, err := k.inst.Service.PublishDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("PublishDue = %d, %v", n, err)
	}
	var got Status
	if err := json.Unmarshal([]byte(next("update")), &got); err != nil || !strings.Contains(got.Content, "on time") {
		t.Fatalf("update: %+v %v", got, err)
	}
}
