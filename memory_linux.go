package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// releaseBinaryPages unmaps the pages of kith's own executable that are
// mapped read-only (code, read-only data), leaving them to the kernel's
// page cache; the next instruction or table kith really uses is mapped
// again from there on first touch, with no disk read while the cache
// holds it.
//
// Why: the kernel maps a binary's pages 64 KB at a time around each page
// touched (fault-around), and start-up touches code all over the 18 MB
// binary: the init function of each of some 300 packages, migrations,
// account and template checks, the first requests. By the first idle
// moment 16 MB of it was mapped, while an idle kith then touches about
// 6 MB (measured with smaps after this call: 13 MB once the first page
// has been served, 6 MB some seconds later). Those pages were counted in
// kith's RSS, and the kernel keeps mapped executable pages in memory
// ahead of unmapped cache when memory runs short, as on a 1 GB board.
// Only clean, never-written mappings are touched: MADV_DONTNEED on a
// private writable mapping would throw away its changes.
func releaseBinaryPages() error {
	fi, err := os.Stat("/proc/self/exe")
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	maps, err := os.Open("/proc/self/maps")
	if err != nil {
		return err
	}
	defer maps.Close()
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		// 00400000-00cd8000 r-xp 00000000 fd:01 123456    /usr/bin/kith
		f := strings.Fields(sc.Text())
		if len(f) < 5 || (f[1] != "r-xp" && f[1] != "r--p") || f[4] != strconv.FormatUint(st.Ino, 10) {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED); errno != 0 {
			return fmt.Errorf("madvise %s: %w", f[0], errno)
		}
	}
	return sc.Err()
}
