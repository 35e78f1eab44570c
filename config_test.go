package main

import (
	"errors"
	"testing"
)

// TestParseMediaCache: --media-cache takes decimal sizes as the status
// page shows them, a bare number as megabytes, and refuses nonsense and
// caches too small to hold a photo.
func TestParseMediaCache(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // 0 with ok: the default; -1: a usage error
	}{
		{"", 0}, {"256MB", 256_000_000}, {"1GB", 1_000_000_000}, {"1.5gb", 1_500_000_000},
		{"512", 512_000_000}, {"2000kB", 2_000_000}, {" 64 M ", 64_000_000},
		{"500kB", -1}, {"0", -1}, {"-5MB", -1}, {"lots", -1}, {"NaN", -1}, {"Inf", -1}, {"1e12GB", -1},
	}
	for _, tt := range tests {
		got, err := parseMediaCache(tt.in)
		var usage usageError
		switch {
		case tt.want == -1 && !errors.As(err, &usage):
			t.Errorf("parseMediaCache(%q) = %d, %v; want a usage error", tt.in, got, err)
		case tt.want != -1 && (err != nil || got != tt.want):
			t.Errorf("parseMediaCache(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}
