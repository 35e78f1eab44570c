package store

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// crockford is Crockford's base-32 alphabet in lower case: URL-safe, no
// ambiguous letters, and its byte order matches its numeric order, so IDs
// sort by time as strings.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// NewID returns a new opaque identifier: 26 characters encoding 48 bits of
// Unix milliseconds followed by 80 random bits (the ULID layout). IDs made in
// different milliseconds sort by time; IDs are never reused.
func NewID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:]) // crypto/rand.Read never returns an error
	return encode128(b)
}

// encode128 writes 128 bits as 26 base-32 digits, most significant first
// (the first digit carries only the top 3 bits).
func encode128(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
