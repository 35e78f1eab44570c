package safenet

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// ErrTooLarge is returned by ReadAll when the body is longer than the limit.
var ErrTooLarge = errors.New("safenet: body too large")

// ReadAll reads all of r if it is at most limit bytes long. If it is longer
// it returns ErrTooLarge, never a silently truncated body: a cut-off JSON
// document might still parse, and mean something else.
func ReadAll(r io.Reader, limit int64) ([]byte, error) {
	limit = max(limit, 0)
	n := limit
	if n < math.MaxInt64 {
		n++ // one byte more tells "exactly limit" from "longer"
	}
	b, err := io.ReadAll(io.LimitReader(r, n))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w (more than %d bytes)", ErrTooLarge, limit)
	}
	return b, nil
}
