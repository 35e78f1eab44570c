package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// After a burst of work (a flood of inbox POSTs, a fan-out to thousands of
// followers) the Go heap has grown, and the runtime hands the freed part
// back to the system only slowly; SQLite's connections keep the pages they
// read; and the kernel keeps mapped whatever code ran: kith idled at 24-29
// MB after traffic against 19 MB fresh (issue 7, item 21). releaseWhenIdle
// watches how much is allocated and, once a busy period is followed by a
// quiet one, calls release at once. Start-up counts as a busy period. It
// costs nothing on the hot paths: one read of a runtime counter every
// idleCheckEvery, and one release per burst, when there is nothing else
// to do.
const (
	idleCheckEvery = 5 * time.Second
	// busyAlloc is what counts as a burst within one interval, quietAlloc
	// as idle (the housekeeping and a page view now and then stay below).
	busyAlloc  = 4 << 20
	quietAlloc = 512 << 10
	// releaseSettle is how long closed connections get to wind down
	// before the heap is collected and returned.
	releaseSettle = 250 * time.Millisecond
)

// idleWatch decides when to release memory from successive readings of
// the cumulative allocation counter.
type idleWatch struct {
	last uint64 // the counter at the previous reading
	busy bool   // a burst happened since the last release
}

// newIdleWatch starts watching from the counter's reading at the end of
// start-up, which counts as a burst: what it mapped and left over is
// released at the first quiet interval.
func newIdleWatch(allocated uint64) idleWatch {
	return idleWatch{last: allocated, busy: true}
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

// releaseWhenIdle runs until ctx is done, calling release after start-up
// and after each burst of work, once things are quiet.
func releaseWhenIdle(ctx context.Context, release func(context.Context)) {
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return sample[0].Value.Uint64()
	}
	w := newIdleWatch(read())
	t := time.NewTicker(idleCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if w.step(read()) {
				release(ctx)
			}
		}
	}
}

// releaseMemory returns to the system what kith holds but does not use
// while idle: connections to other servers kept alive after a fan-out,
// the free part of the Go heap, SQLite's idle readers and cache
// (store.DB.ReleaseMemory), and the pages of its own binary that start-up
// or the burst mapped (releaseBinaryPages).
func (a *app) releaseMemory(ctx context.Context) {
	a.ap.CloseIdleConnections()
	if err := a.db.ReleaseMemory(ctx); err != nil && ctx.Err() == nil {
		a.log.Warn("releasing SQLite's memory", "err", err)
	}
	// A closed connection's buffers stay reachable until its reader
	// goroutine has seen the close and returned; collected before that,
	// the 20 MB that 500 connections hold after a fan-out stayed in use
	// until some later collection, and nothing would return them. The
	// wait costs nothing: this goroutine only watches the counter.
	select {
	case <-time.After(releaseSettle):
	case <-ctx.Done():
		return
	}
	debug.FreeOSMemory()
	if err := releaseBinaryPages(); err != nil {
		a.log.Warn("releasing the binary's pages", "err", err)
	}
}
