package web

import (
	"context"
	"image/color"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"kith/ap/aptest"
)

var keyField = regexp.MustCompile(`name="key" value="([^"]+)"`)

// formKey reads the one-time publish key from a compose page.
func formKey(t *testing.T, body string) string {
	t.Helper()
	m := keyField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no publish key in the form:\n%s", body)
	}
	return m[1]
}

// TestComposePublishesOnce: the same compose form sent twice, one after
// the other or both at once (a double click on a slow machine), makes one
// post and one delivery, and both answers lead to that post. The key
// survives a preview; a new form publishes a new post.
func TestComposePublishesOnce(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	k.addFollower()
	k.login()
	ctx := context.Background()
	queued := func() int {
		st, err := k.inst.DB.DeliveryStats(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return st.Pending
	}
	before := queued()

	key := formKey(t, k.get("/compose").Body.String())
	fields := url.Values{"text": {"Once only"}, "visibility": {"public"}, "key": {key}}
	preview := url.Values{"action": {"preview"}}
	for f, v := range fields {
		preview[f] = v
	}
	if got := formKey(t, k.postMultipart("/compose", preview).Body.String()); got != key {
		t.Fatalf("the preview's key is %q; want the form's %q", got, key)
	}

	fields.Set("action", "publish")
	img := file{"file-1", "dot.png", pngImage(t, 4, 4, color.RGBA{R: 200, A: 255})}
	first := postIDFrom(t, k.postMultipart("/compose", fields, img))
	second := postIDFrom(t, k.postMultipart("/compose", fields, img))
	if second != first {
		t.Errorf("the second sending led to %s; want the first post %s", second, first)
	}
	if posts, media := k.counts(); posts != 1 || media != 1 {
		t.Errorf("%d posts and %d uploads after sending the form twice; want 1 and 1", posts, media)
	}
	if n := queued() - before; n != 1 {
		t.Errorf("%d deliveries queued; want 1", n)
	}

	// Both at once, from a new form.
	fields.Set("key", formKey(t, k.get("/compose").Body.String()))
	fields.Set("text", "At the same time")
	ids := make(chan string, 2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			rec := k.postMultipart("/compose", fields)
			if rec.Code != http.StatusSeeOther {
				t.Errorf("status %d; want 303", rec.Code)
				return
			}
			ids <- postIDFrom(t, rec)
		})
	}
	wg.Wait()
	close(ids)
	a, b := <-ids, <-ids
	if a == "" || a != b || a == first {
		t.Errorf("two sendings at once led to %q and %q; want one new post", a, b)
	}
	if posts, _ := k.counts(); posts != 2 {
		t.Errorf("%d posts; want 2", posts)
	}
	if n := queued() - before; n != 2 {
		t.Errorf("%d deliveries queued in all; want 2", n)
	}
}
