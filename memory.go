package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// After a burst of work (a flood of inbox POSTs, a fan-out to thousands of
// followers) the Go heap has grown, and the runtime hands the freed part
// back to the system only slowly: kith idled at 24-29 MB after traffic
// against 19 MB fresh (issue 7, item 21). releaseWhenIdle watches how much
// is allocated and, once a busy period is followed by a quiet one, returns
// the free memory at once. It costs nothing on the hot paths: one read of
// a runtime counter every idleCheckEvery, and one forced GC per burst,
// when there is nothing else to do.
const (
	idleCheckEvery = 5 * time.Second
	// busyAlloc is what counts as a burst within one interval, quietAlloc
	// as idle (the housekeeping and a page view now and then stay below).
	busyAlloc  = 4 << 20
	quietAlloc = 512 << 10
)

// idleWatch decides when to release memory from successive readings of
// the cumulative allocation counter.
type idleWatch struct {
	last uint64 // the counter at the previous reading
	busy bool   // a burst happened since the last release
}

// step takes a new reading and reports whether to release now.
func (w *idleWatch) step(allocated uint64) bool {
	d := allocated - w.last
	w.last = allocated
	switch {
	case d >= busyAlloc:
		w.busy = true
	case d < quietAlloc && w.busy:
		w.busy = false
		return true
	}
	return false
}

// releaseWhenIdle runs until ctx is done, returning freed memory to the
// system after each burst of work.
func releaseWhenIdle(ctx context.Context) {
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return sample[0].Value.Uint64()
	}
	w := idleWatch{last: read()}
	t := time.NewTicker(idleCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if w.step(read()) {
				debug.FreeOSMemory()
			}
		}
	}
}
