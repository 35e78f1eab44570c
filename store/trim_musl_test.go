//go:build linux && (amd64 || arm64 || loong64 || ppc64le || s390x || riscv64 || 386 || arm)

package store

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestTrimSQLiteHeap: the pages of a closed connection's cache, which
// libc's allocator keeps for reuse, leave the process's resident memory
// when trimSQLiteHeap runs. (Not parallel: it reads the process's RssAnon.)
func TestTrimSQLiteHeap(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "kith.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// 8 MB of rows, read whole through one reader with a cache to hold
	// them, which is then closed: its pages go back to the allocator.
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE big (b BLOB);
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
		INSERT INTO big SELECT randomblob(4000) FROM n`); err != nil {
		t.Fatal(err)
	}
	conn, err := db.r.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if _, err := conn.ExecContext(ctx, "PRAGMA cache_size = -16000"); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT sum(length(b)) FROM big").Scan(&n); err != nil || n != 8_000_000 {
		t.Fatalf("read %d bytes, %v", n, err)
	}
	conn.Close()
	db.r.SetMaxIdleConns(0)
	db.r.SetMaxIdleConns(db.readers)

	before := rssAnonKB(t)
	if err := trimSQLiteHeap(); err != nil {
		t.Fatal(err)
	}
	after := rssAnonKB(t)
	t.Logf("RssAnon %d kB -> %d kB", before, after)
	if before-after < 1024 {
		t.Errorf("RssAnon %d kB before the trim, %d kB after; want at least 1 MB returned", before, after)
	}
	// The allocator stays usable.
	if err := db.r.QueryRowContext(ctx, "SELECT count(*) FROM big").Scan(&n); err != nil || n != 2000 {
		t.Errorf("count after the trim: %d, %v", n, err)
	}
}

// rssAnonKB reads this process's anonymous resident memory.
func rssAnonKB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssAnon in /proc/self/status")
	return 0
}

// TestTrimKnowsLibcVersion holds trim_musl.go to the libc it was written
// against: its go:linkname variables are not type-checked, so a libc that
// changed the type of its allocator or lock would corrupt memory rather
// than fail to build. When modernc.org/sqlite moves to another libc, read
// that version's allocator (or use its MemTrim), then update this test.
// (A test binary carries no module list, so go.mod is read.)
func TestTrimKnowsLibcVersion(t *testing.T) {
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(mod)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "modernc.org/libc" {
			if f[1] != "v1.80.1" {
				t.Fatalf("go.mod requires modernc.org/libc %s; trim_musl.go was checked against v1.80.1 only", f[1])
			}
			return
		}
	}
	t.Fatal("go.mod does not name modernc.org/libc")
}
