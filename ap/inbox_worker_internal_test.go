package ap

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"kith/ap/safenet"
	"kith/store"
)

// TestTransient: what is retried and what is dropped at once.
func TestTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"database busy", fmt.Errorf("store: put follower: %w", errors.New("database is locked (5) (SQLITE_BUSY)")), true},
		{"remote 503", &FetchError{URL: "https://a.example/x", Status: 503}, true},
		{"remote 429", &FetchError{URL: "https://a.example/x", Status: 429}, true},
		{"fetch timed out", fmt.Errorf("fetch actor: %w", &FetchError{URL: "https://a.example/x", Err: context.DeadlineExceeded}), true},
		{"remote 404", &FetchError{URL: "https://a.example/x", Status: 404}, false},
		{"remote 410", &FetchError{URL: "https://a.example/x", Status: 410}, false},
		{"address we do not fetch", &FetchError{URL: "https://10.0.0.1/x", Err: &safenet.BlockedError{}}, false},
		{"document not what it claims", &FetchError{URL: "https://a.example/x", Err: errors.New("document id is not on the host")}, false},
		{"ignored", ignored("type Wiggle is not handled"), false},
		{"not found", store.ErrNotFound, false},
		{"undecodable", unusable(errors.New("not JSON")), false},
	}
	for _, tt := range tests {
		if got := transient(tt.err); got != tt.want {
			t.Errorf("%s: transient(%v) = %v; want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
