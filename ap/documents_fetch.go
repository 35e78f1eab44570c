package ap

import (
	"net/http"

	"kith/ap/sig"
)

// Authorized fetch: an owner setting under which kith's ActivityPub
// documents are served only to a signed GET from a server the owner did
// not block, so that a blocked server cannot read them by asking
// unsigned. As in Mastodon's secure mode, the actor document stays
// fetchable unsigned with its technical fields only (a remote server
// needs its key to check kith's signatures at all); the instance actor,
// WebFinger and NodeInfo stay public.

// access is what authorized fetch makes of a request.
type access int

const (
	open     access = iota // setting off, or not an ActivityPub request
	signed                 // verified signer, not blocked
	unsigned               // no signature, or one that did not verify (err says why)
	refused                // blocked signer, or the answer was already written
)

// fetchAccess classifies r under authorized fetch. For unsigned, err is
// the signature failure; for refused, w has been answered (403 for a
// blocked signer, 500 when the database failed).
func (s *Service) fetchAccess(w http.ResponseWriter, r *http.Request) (access, error) {
	if !WantsActivityJSON(r) {
		return open, nil
	}
	on, err := s.db.AuthorizedFetch(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return refused, nil
	}
	if !on {
		return open, nil
	}
	w.Header().Add("Vary", "Signature, Signature-Input")
	params, err := sig.Check(r, nil, s.now())
	if err != nil {
		return unsigned, err
	}
	signer, err := s.verify(r.Context(), r, params)
	if err != nil {
		return unsigned, err
	}
	blocked, err := s.db.IsBlocked(r.Context(), signer.IRI, signer.Host)
	if err != nil {
		s.serverError(w, r, err)
		return refused, nil
	}
	if blocked {
		inboxError(w, http.StatusForbidden, "this server does not serve you")
		return refused, nil
	}
	return signed, nil
}

// signedFetch wraps a handler of ActivityPub documents: under authorized
// fetch, an unsigned or unverifiable request is answered 401 (or 503 when
// the key could not be looked up now), a blocked signer 403.
func (s *Service) signedFetch(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch a, err := s.fetchAccess(w, r); a {
		case open, signed:
			next(w, r)
		case unsigned:
			s.verifyError(w, r, err)
		}
	}
}

// minimalActor is the actor document an unsigned request gets under
// authorized fetch: what a server needs to check kith's signatures and
// to address it, and nothing about the person.
func minimalActor(doc jsonActor) any {
	return struct {
		Context           any           `json:"@context"`
		ID                string        `json:"id"`
		Type              string        `json:"type"`
		PreferredUsername string        `json:"preferredUsername"`
		URL               string        `json:"url"`
		Inbox             string        `json:"inbox"`
		Outbox            string        `json:"outbox"`
		Followers         string        `json:"followers"`
		Following         string        `json:"following"`
		Endpoints         jsonEndpoints `json:"endpoints"`
		PublicKey         jsonKey       `json:"publicKey"`
	}{doc.Context, doc.ID, doc.Type, doc.PreferredUsername, doc.URL, doc.Inbox, doc.Outbox, doc.Followers, doc.Following, doc.Endpoints, doc.PublicKey}
}

// actorView decides which actor document r gets: full, minimal (unsigned
// or not verifiable under authorized fetch), or none (already answered).
func (s *Service) actorView(w http.ResponseWriter, r *http.Request) (full, ok bool) {
	switch a, _ := s.fetchAccess(w, r); a {
	case open, signed:
		return true, true
	case unsigned:
		return false, true
	}
	return false, false
}
