package ap_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
)

// TestHousekeep: uploads nothing uses go after a day, used ones stay;
// processed activities go after the dedup window, unprocessed ones stay.
func TestHousekeep(t *testing.T) {
	ctx := context.Background()
	clock := aptest.NewClock(time.Now())
	inst := aptest.NewInstance(t, aptest.InstanceOptions{Now: clock.Now})
	var buf bytes.Buffer
	png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 8, 8)))
	used, err := inst.Service.StoreUpload(ctx, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inst.Service.StoreUpload(ctx, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if _, err := inst.Service.Publish(ctx, ap.Draft{Source: "with an image", Media: []ap.DraftMedia{{ID: used.ID}}}); err != nil {
		t.Fatal(err)
	}
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	req := alice.NewPost(t, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "1")), clock.Now())
	if resp, err := remote.Client.Do(req); err != nil || resp.StatusCode != 202 {
		t.Fatalf("Follow: %v %v", resp, err)
	}
	inst.Service.ProcessInbox(ctx)

	inst.Service.Housekeep(ctx) // nothing is old yet
	if n, _ := inst.DB.CountMedia(ctx); n != 2 {
		t.Fatalf("%d uploads after a housekeeping round at once; want 2", n)
	}
	clock.Advance(31 * 24 * time.Hour)
	inst.Service.Housekeep(ctx)
	if n, _ := inst.DB.CountMedia(ctx); n != 1 {
		t.Errorf("%d uploads a month later; want only the one a post uses", n)
	}
	if _, err := inst.DB.MediaByID(ctx, used.ID); err != nil {
		t.Errorf("the used upload went: %v", err)
	}
	if total, _, _ := inst.DB.CountInbox(ctx); total != 0 {
		t.Errorf("%d processed activities kept after 31 days; want 0", total)
	}
	if n, _ := inst.DB.CountFollowers(ctx, store.Accepted); n != 1 {
		t.Errorf("housekeeping touched the followers: %d", n)
	}
}
