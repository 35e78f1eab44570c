package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"kith/ap/aptest"
	"kith/store/storetest"
)

// TestIdleWatch: memory is released once after start-up and once after
// each burst, when the next interval is quiet; never while busy, and not
// again until the next burst.
func TestIdleWatch(t *testing.T) {
	const mb = 1 << 20
	w := newIdleWatch(0)
	var total uint64
	steps := []struct {
		alloc   uint64
		release bool
	}{
		{100 << 10, true},  // quiet after start-up: release what it left
		{100 << 10, false}, // still quiet: already released
		{10 * mb, false},   // a burst
		{8 * mb, false},    // still busy
		{1 * mb, false},    // slowing, not quiet
		{100 << 10, true},  // quiet: release
		{100 << 10, false}, // still quiet: already released
		{5 * mb, false},    // the next burst
		{0, true},
	}
	for i, s := range steps {
		total += s.alloc
		if got := w.step(total); got != s.release {
			t.Errorf("step %d (%d bytes allocated): release = %v; want %v", i, s.alloc, got, s.release)
		}
	}
}

// TestReleaseMemoryKeepsServing: after releasing its memory (readers
// closed, heap and binary pages handed back) kith answers pages as before.
func TestReleaseMemoryKeepsServing(t *testing.T) {
	cfg := &config{domain: "kith.example", user: "me", data: t.TempDir()}
	a, err := setupWith(context.Background(), storetest.OpenAt(t, filepath.Join(t.TempDir(), "kith.db")), cfg, io.Discard, aptest.Logger(t), appOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		rec := httptest.NewRecorder()
		a.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/@me", nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "@me@kith.example") {
			t.Fatalf("GET /@me after %d releases: %d", i, rec.Code)
		}
		a.releaseMemory(context.Background())
	}
}
