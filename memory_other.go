//go:build !linux

package main

// releaseBinaryPages does nothing outside Linux, where kith is not
// measured (memory_linux.go says why it helps there).
func releaseBinaryPages() error { return nil }
