//go:build linux && (amd64 || arm64 || loong64 || ppc64le || s390x || riscv64 || 386 || arm)

package store

import (
	"sync"
	_ "unsafe" // for go:linkname

	"modernc.org/memory"
)

// SQLite's memory comes from modernc.org/libc's allocator, which keeps the
// pages SQLite frees (up to 4 MB per size of region, besides what is in
// use) for reuse and has no way in v1.80.1, the version modernc.org/sqlite
// is built against, to hand them back: after the inbound-load benchmark
// kith idled with 4 MB of them (issue 7 item 21). libc v1.82 adds MemTrim
// for this; until modernc.org/sqlite moves to it, trimSQLiteHeap takes
// libc's allocator and its lock by name and trims it, as MemTrim does.
// If libc renames either, the build fails at link time rather than
// misbehaving; switch to libc.MemTrim then.

//go:linkname libcAllocator modernc.org/libc.allocator
var libcAllocator memory.Allocator

//go:linkname libcAllocatorMu modernc.org/libc.allocatorMu
var libcAllocatorMu sync.Mutex

// trimSQLiteHeap returns to the OS the empty pages libc's allocator keeps.
// Pages that still hold a live allocation stay.
func trimSQLiteHeap() error {
	libcAllocatorMu.Lock()
	defer libcAllocatorMu.Unlock()
	return libcAllocator.Trim()
}
