package ap_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
)

// creates returns the Create activities the remote received.
func creates(remote *aptest.Remote) []aptest.Received {
	var out []aptest.Received
	for _, r := range remote.Received() {
		if r.Type() == "Create" {
			out = append(out, r)
		}
	}
	return out
}

// TestScheduledPostPublishedOnceAndDelivered: a scheduled post waits until
// it is due, then goes out through the path of every post: stored once,
// delivered to the follower signed, with its upload. Rounds after that, or
// running side by side, publish nothing more.
func TestScheduledPostPublishedOnceAndDelivered(t *testing.T) {
	ctx := context.Background()
	// The fake remote checks signatures' Date against the real clock,
	// within five minutes: kith's clock starts behind, so that it is near
	// the real time when the post falls due.
	clock := aptest.NewClock(time.Now().Add(-7 * time.Minute))
	inst, remote, _ := followerSetup(t, aptest.InstanceOptions{Now: clock.Now})
	inst.Service.Deliverer().RunOnce(ctx) // the Accept

	m := upload(t, inst)
	sp, err := inst.Service.Schedule(ctx, ap.Draft{Source: "Later, with #kith", Media: []ap.DraftMedia{{ID: m.ID, Description: "A black square"}}}, clock.Now().Add(6*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Minute)
	if n, err := inst.Service.PublishDue(ctx); err != nil || n != 0 {
		t.Fatalf("PublishDue before its time = %d, %v; want 0", n, err)
	}
	clock.Advance(time.Minute)

	// Two rounds at once, as a second process would run one: the post
	// goes out once.
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i := range counts {
		wg.Go(func() {
			n, err := inst.Service.PublishDue(ctx)
			if err != nil {
				t.Error(err)
			}
			counts[i] = n
		})
	}
	wg.Wait()
	if counts[0]+counts[1] != 1 {
		t.Fatalf("rounds published %v; want one post in all", counts)
	}
	if n, _ := inst.Service.PublishDue(ctx); n != 0 {
		t.Fatalf("a later round published %d more", n)
	}
	if n, _ := inst.DB.CountLocalPosts(ctx); n != 1 {
		t.Fatalf("%d posts stored; want 1", n)
	}
	if _, err := inst.DB.ScheduledPost(ctx, sp.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the scheduled post is still kept: %v", err)
	}

	inst.Service.Deliverer().RunOnce(ctx)
	got := creates(remote)
	if len(got) != 1 {
		t.Fatalf("the follower got %d Creates; want 1", len(got))
	}
	if got[0].VerifyErr != nil {
		t.Errorf("the Create's signature: %v", got[0].VerifyErr)
	}
	obj, _ := got[0].Activity["object"].(map[string]any)
	if att, _ := obj["attachment"].([]any); len(att) != 1 || att[0].(map[string]any)["name"] != "A black square" {
		t.Errorf("the Create carries attachments %v; want the upload with its description", att)
	}
	if pub, _ := obj["published"].(string); pub != clock.Now().UTC().Truncate(time.Second).Format(time.RFC3339) {
		t.Errorf("published %q; want the time it went out, %s", pub, clock.Now().UTC().Format(time.RFC3339))
	}
}

// upload stores a small image.
func upload(t *testing.T, inst *aptest.Instance) *store.Media {
	t.Helper()
	var buf bytes.Buffer
	png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 8, 8)))
	m, err := inst.Service.StoreUpload(context.Background(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestScheduledUploadsKept: housekeeping removes uploads no post uses after
// a day, but not those of a post that waits longer than that; once the
// post is cancelled they go.
func TestScheduledUploadsKept(t *testing.T) {
	ctx := context.Background()
	clock := aptest.NewClock(time.Now())
	inst := aptest.NewInstance(t, aptest.InstanceOptions{Now: clock.Now})
	m := upload(t, inst)
	sp, err := inst.Service.Schedule(ctx, ap.Draft{Source: "next week", Media: []ap.DraftMedia{{ID: m.ID}}}, clock.Now().Add(7*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(3 * 24 * time.Hour)
	inst.Service.Housekeep(ctx)
	if _, err := inst.DB.MediaByID(ctx, m.ID); err != nil {
		t.Fatalf("housekeeping removed the upload of a scheduled post: %v", err)
	}
	if err := inst.Service.CancelScheduled(ctx, sp.ID); err != nil {
		t.Fatal(err)
	}
	inst.Service.Housekeep(ctx)
	if _, err := inst.DB.MediaByID(ctx, m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the upload of a cancelled post stayed: %v", err)
	}
}

// TestScheduleRules: Mastodon's bounds on scheduling, and the idempotency
// key that makes a retried request schedule once.
func TestScheduleRules(t *testing.T) {
	ctx := context.Background()
	clock := aptest.NewClock(time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC))
	inst := aptest.NewInstance(t, aptest.InstanceOptions{Now: clock.Now})
	now := clock.Now()
	for _, ahead := range []time.Duration{4 * time.Minute, ap.MinScheduleDelay} {
		if _, err := inst.Service.Schedule(ctx, ap.Draft{Source: "soon"}, now.Add(ahead)); !errors.Is(err, ap.ErrScheduleTooSoon) {
			t.Errorf("%v ahead: %v; want ErrScheduleTooSoon", ahead, err)
		}
	}
	if _, err := inst.Service.Schedule(ctx, ap.Draft{}, now.Add(time.Hour)); !errors.Is(err, ap.ErrInvalid) {
		t.Errorf("an empty draft: %v; want ErrInvalid", err)
	}
	if _, err := inst.Service.Schedule(ctx, ap.Draft{Source: "x", Media: []ap.DraftMedia{{ID: "nope"}}}, now.Add(time.Hour)); !errors.Is(err, ap.ErrInvalid) {
		t.Errorf("a missing upload: %v; want ErrInvalid", err)
	}
	a, err := inst.Service.Schedule(ctx, ap.Draft{Source: "once", Key: "k1"}, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	b, err := inst.Service.Schedule(ctx, ap.Draft{Source: "once", Key: "k1"}, now.Add(time.Hour))
	if err != nil || b.ID != a.ID {
		t.Errorf("the same key again: %v, %v; want the first post, %s", b, err, a.ID)
	}
	day := now.Add(48 * time.Hour)
	for i := range ap.MaxScheduledPerDay {
		if _, err := inst.Service.Schedule(ctx, ap.Draft{Source: "many"}, day.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := inst.Service.Schedule(ctx, ap.Draft{Source: "one more"}, day.Add(time.Hour)); !errors.Is(err, ap.ErrScheduleDayFull) {
		t.Errorf("post %d on one day: %v; want ErrScheduleDayFull", ap.MaxScheduledPerDay+1, err)
	}
	if _, err := inst.Service.Reschedule(ctx, a.ID, day.Add(time.Hour)); !errors.Is(err, ap.ErrScheduleDayFull) {
		t.Errorf("moving a post onto a full day: %v; want ErrScheduleDayFull", err)
	}
	moved, err := inst.Service.Reschedule(ctx, a.ID, now.Add(3*time.Hour))
	if err != nil || !moved.ScheduledAt.Equal(now.Add(3*time.Hour)) {
		t.Errorf("Reschedule = %v, %v", moved, err)
	}
	if err := inst.Service.CancelScheduled(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := inst.Service.CancelScheduled(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cancelling twice: %v; want ErrNotFound", err)
	}
}

// TestScheduledPostSurvivesRestart: a post that fell due while kith was
// down, in a real database file, goes out when the next process starts,
// once, and reaches the follower.
func TestScheduledPostSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kith.db")
	clock := aptest.NewClock(time.Now().Add(-15 * time.Minute)) // see TestScheduledPostPublishedOnceAndDelivered
	first, remote, _ := followerSetup(t, aptest.InstanceOptions{Now: clock.Now, DBPath: path})
	first.Service.Deliverer().RunOnce(ctx)
	if _, err := first.Service.Schedule(ctx, ap.Draft{Source: "written before the restart"}, clock.Now().Add(6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	first.Close()

	clock.Advance(13 * time.Minute) // down past the time it was due
	second := aptest.NewInstance(t, aptest.InstanceOptions{Now: clock.Now, DBPath: path})
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { second.Service.Run(runCtx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	waitFor(t, "the scheduled post delivered", func() bool { return len(creates(remote)) == 1 })
	if err := creates(remote)[0].VerifyErr; err != nil {
		t.Errorf("the Create's signature: %v", err)
	}
	if n, _ := second.DB.CountLocalPosts(ctx); n != 1 {
		t.Errorf("%d posts after the restart; want 1", n)
	}
	if _, ok, _ := second.DB.NextScheduledAt(ctx); ok {
		t.Error("a scheduled post is still waiting")
	}
}
