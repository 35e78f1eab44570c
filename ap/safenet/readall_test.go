package safenet

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadAll(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		limit   int64
		want    string
		wantErr error
	}{
		{"empty", "", 10, "", nil},
		{"empty with limit 0", "", 0, "", nil},
		{"shorter", "abc", 10, "abc", nil},
		{"exact limit", "0123456789", 10, "0123456789", nil},
		{"limit plus one", "0123456789a", 10, "", ErrTooLarge},
		{"far longer", strings.Repeat("x", 1<<20), 1 << 10, "", ErrTooLarge},
		{"limit 0, one byte", "x", 0, "", ErrTooLarge},
		{"negative limit", "x", -5, "", ErrTooLarge},
		{"no limit", "abc", math.MaxInt64, "abc", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// OneByteReader: the limit must hold however the body arrives.
			got, err := ReadAll(iotest.OneByteReader(strings.NewReader(tt.body)), tt.limit)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v; want %v", err, tt.wantErr)
			}
			if string(got) != tt.want {
				t.Errorf("got %q; want %q", got, tt.want)
			}
			if err != nil && got != nil {
				t.Errorf("got %d bytes with the error; want none", len(got))
			}
		})
	}
	t.Run("reader error", func(t *testing.T) {
		boom := errors.New("boom")
		r := io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom))
		if _, err := ReadAll(r, 10); !errors.Is(err, boom) {
			t.Errorf("got %v; want %v", err, boom)
		}
	})
}
