package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/color"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

// TestMediaCacheEviction: with the remote image cache capped at 1 MB and
// five 300 kB images fetched through /proxy an hour apart, the background
// housekeeping evicts the least recently shown (not the first fetched:
// image 0 is shown again) until the cache is under its cap; the proxy
// itself never evicts, and an evicted image is fetched again when shown.
// The status page shows the cache's size and cap beside the database's.
func TestMediaCacheEviction(t *testing.T) {
	ctx := context.Background()
	clock := aptest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	k := newKit(t, aptest.InstanceOptions{Now: clock.Now, MediaCache: 1_000_000})
	img := append(pngImage(t, 4, 4, color.RGBA{B: 200, A: 255}), make([]byte, 300_000)...)
	fetches := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches++
		w.Header().Set("Content-Type", "image/png")
		w.Write(img)
	}))
	t.Cleanup(srv.Close)
	acct, err := k.inst.DB.Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v := k.visitor()
	imageURL := func(i int) string { return fmt.Sprintf("%s/%d.png", srv.URL, i) }
	show := func(i int) {
		t.Helper()
		if rec := v.get(k.h.proxyURL(acct, imageURL(i))); rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), img) {
			t.Fatalf("image %d: status %d, %d bytes", i, rec.Code, rec.Body.Len())
		}
	}
	for i := range 5 {
		show(i)
		clock.Advance(2 * time.Hour)
	}
	show(0) // shown again: now the most recently used
	if fetches != 5 {
		t.Fatalf("%d fetches; want 5, the sixth from the cache", fetches)
	}
	if s, _ := k.inst.DB.Stats(ctx); s.RemoteMedia != 5 {
		t.Fatalf("the proxy evicted: %d images cached; want 5 until housekeeping", s.RemoteMedia)
	}

	k.inst.Service.Housekeep(ctx)
	for i, want := range []bool{true, false, false, true, true} {
		_, err := k.inst.DB.RemoteMediaByURL(ctx, imageURL(i))
		if got := err == nil; got != want {
			t.Errorf("image %d cached: %v; want %v", i, got, want)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
	}
	s, err := k.inst.DB.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.RemoteMediaBytes > 1_000_000 || s.RemoteMedia != 3 {
		t.Errorf("after housekeeping: %d images, %d bytes; want 3, under 1 MB", s.RemoteMedia, s.RemoteMediaBytes)
	}
	show(1)
	if fetches != 6 {
		t.Errorf("%d fetches; want an evicted image fetched again", fetches)
	}

	k.login()
	body := k.get("/settings/status").Body.String()
	want := `class="remote-media">` + regexp.QuoteMeta(byteSize(s.RemoteMediaBytes+int64(len(img)))) + ` of 1\.0 MB`
	if !regexp.MustCompile(want).MatchString(body) {
		t.Errorf("the status page does not show the cache's size and cap (%s)\n%s", want, body)
	}
}
