package main

import "testing"

// TestIdleWatch: memory is released once after a burst, when the next
// interval is quiet; never while busy, and not again until the next burst.
func TestIdleWatch(t *testing.T) {
	const mb = 1 << 20
	w := idleWatch{}
	var total uint64
	steps := []struct {
		alloc   uint64
		release bool
	}{
		{100 << 10, false}, // quiet from the start: nothing to give back
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
