// Package sig signs and verifies HTTP Signatures (draft-cavage-http-signatures-12)
// the way the fediverse uses them, on top of github.com/go-fed/httpsig v1.1.0,
// and verifies HTTP Message Signatures (RFC 9421) with the same Check and
// Verify (message.go).
//
// go-fed/httpsig builds and checks the signing string, but leaves out most of
// what makes a signature meaningful between servers, so this package adds it:
//
//   - Digest. go-fed's Verifier never compares the Digest header with the body
//     (its digest check is unexported and unused). Check does, for SHA-256 and
//     SHA-512, and requires digest to be signed on requests with a body.
//   - Date window. go-fed ignores Date and checks (created)/(expires) against
//     the wall clock with 10 s of slack. Check applies Mastodon's effective
//     window (65 minutes back, 60 minutes ahead) with a clock passed in.
//   - Required headers. go-fed verifies whatever list the sender chose, even
//     headers="date" alone. Check insists on (request-target), host, and date
//     or (created), like Mastodon.
//   - The algorithm label. go-fed writes algorithm="hs2019", which PeerTube and
//     some small servers reject; Sign rewrites it to "rsa-sha256" (the label is
//     not part of the signed string). go-fed also ignores the label on input;
//     Verify picks the algorithm from the key, as hs2019 intends.
//   - Parsing. go-fed splits the Signature header on ',' and '=' literally, so
//     "keyId=..., headers=..." loses the headers list. ParseHeader is lenient
//     about whitespace and case, and Verify hands go-fed a normalised header.
//   - Request targets. go-fed signs and verifies the decoded URL path. Sign
//     signs the path as sent on the wire, and Verify also tries the raw path
//     and the query-less target that old Mastodon versions signed.
//   - Host. go-fed's signer reads a Host entry from the header map, which Go's
//     client never fills in; Sign sets it from the URL.
//
// Signing and verifying build a fresh go-fed signer or verifier per call,
// because go-fed's are not safe for concurrent use.
//
// An inbox handler caps and reads the body, calls Check, resolves the key
// named by Params.KeyID, then calls Verify; an *Error carries the status to
// answer and a reason that is safe to send back.
package sig
