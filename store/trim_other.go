//go:build !(linux && (amd64 || arm64 || loong64 || ppc64le || s390x || riscv64 || 386 || arm))

package store

// trimSQLiteHeap does nothing where libc's allocator is another one
// (trim_musl.go says why it helps on Linux).
func trimSQLiteHeap() error { return nil }
