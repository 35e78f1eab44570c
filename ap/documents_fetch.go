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

// fetchAllowed applies authorized fetch to an ActivityPub request and
// answers it when refused: 401 unsigned or badly signed, 403 signed by a
// blocked actor or server. Pages for browsers are not its concern. signed
// reports whether a verified signature came with the request.
func (s *Service) fetchAllowed(w http.ResponseWriter, r *http.Request) (ok, signed bool) {
	if !WantsActivityJSON(r) {
		return true, false
	}
	on, err := s.db.AuthorizedFetch(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return false, false
	}
	if !on {
		return true, false
	}
	w.Header().Add("Vary", "Signature, Signature-Input")
	params, err := sig.Check(r, nil, s.now())
	if err != nil {
		sigError(w, err)
		return false, false
	}
	signer, err := s.verify(r.Context(), r, params)
	if err != nil {
		s.verifyError(w, r, err)
		return false, false
	}
	blocked, err := s.db.IsBlocked(r.Context(), signer.IRI, signer.Host)
	if err != nil {
		s.serverError(w, r, err)
		return false, false
	}
	if blocked {
		inboxError(w, http.StatusForbidden, "this server does not serve you")
		return false, false
	}
	return true, true
}

// signedFetch wraps a handler of ActivityPub documents with fetchAllowed.
func (s *Service) signedFetch(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ok, _ := s.fetchAllowed(w, r); ok {
			next(w, r)
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
// or not verifiable under authorized fetch), or none (a blocked signer,
// answered 403 here).
func (s *Service) actorView(w http.ResponseWriter, r *http.Request) (full, ok bool) {
	on, err := s.db.AuthorizedFetch(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return false, false
	}
	if !on {
		return true, true
	}
	w.Header().Add("Vary", "Signature, Signature-Input")
	params, err := sig.Check(r, nil, s.now())
	if err != nil {
		return false, true
	}
	signer, err := s.verify(r.Context(), r, params)
	if err != nil {
		return false, true
	}
	if blocked, err := s.db.IsBlocked(r.Context(), signer.IRI, signer.Host); err != nil {
		s.serverError(w, r, err)
		return false, false
	} else if blocked {
		inboxError(w, http.StatusForbidden, "this server does not serve you")
		return false, false
	}
	return true, true
}
