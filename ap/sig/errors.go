package sig

import (
	"net/http"
	"strconv"
)

// Error is a verification failure: the HTTP status to answer (400 for
// malformed input, 401 for a missing, invalid or stale signature) and a
// one-line reason that is safe to send to the remote server. Reasons never
// echo raw request input beyond short, validated header names.
type Error struct {
	Status int
	Reason string
}

// Error returns the reason, prefixed so that log lines say where it came from.
func (e *Error) Error() string { return "http signature: " + e.Reason }

// ErrNoSignature is returned when a request has neither a Signature header
// nor an Authorization header with the Signature scheme. Compare with
// errors.Is; it is an *Error with Status 401.
var ErrNoSignature = &Error{Status: http.StatusUnauthorized, Reason: "request is not signed"}

func malformed(reason string) *Error {
	return &Error{Status: http.StatusBadRequest, Reason: reason}
}

func unauthorized(reason string) *Error {
	return &Error{Status: http.StatusUnauthorized, Reason: reason}
}

// quoteName quotes a header name for a Reason. Names reaching here have been
// checked to be tokens, but their length is up to the sender.
func quoteName(name string) string {
	const max = 40
	if len(name) > max {
		name = name[:max] + "..."
	}
	return strconv.Quote(name)
}
