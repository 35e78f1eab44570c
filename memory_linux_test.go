package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestReleaseBinaryPages: the executable's read-only pages leave the
// process's resident set, and the code runs on, mapped back as it is
// touched.
func TestReleaseBinaryPages(t *testing.T) {
	before := rssFileKB(t)
	if err := releaseBinaryPages(); err != nil {
		t.Fatal(err)
	}
	after := rssFileKB(t)
	if after >= before {
		t.Errorf("RssFile %d kB before, %d kB after; want it smaller", before, after)
	}
	// Code not run since: still works.
	if got := shellQuote("a b"); got != "'a b'" {
		t.Errorf("shellQuote after the release = %q", got)
	}
	t.Logf("RssFile %d kB -> %d kB", before, after)
}

// rssFileKB reads this process's file-backed resident memory.
func rssFileKB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}
