package ap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"kith/ap/sig"
	"kith/store"
)

// maxInboxBody caps an incoming activity. Real activities are a few KB;
// Mastodon caps fetched JSON at 1 MB.
const maxInboxBody = 1 << 20

// postInbox receives an activity on the shared or personal inbox. It
// verifies the signature, stores the activity durably and answers 202; the
// inbox worker does the rest. Apart from fetching an unknown signer's key,
// nothing remote happens while the request is open.
func (s *Service) postInbox(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !isActivityContentType(r.Header.Get("Content-Type")) {
		inboxError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/activity+json or application/ld+json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInboxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			inboxError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("activity larger than %d bytes", maxInboxBody))
			return
		}
		inboxError(w, http.StatusBadRequest, "could not read the request body")
		return
	}
	now := s.now()
	params, err := sig.Check(r, body, now)
	if err != nil {
		sigError(w, err)
		return
	}
	act, err := DecodeActivity(body)
	if err != nil {
		inboxError(w, http.StatusBadRequest, err.Error())
		return
	}

	// The activity id is the dedup key, so an id on another host than the
	// actor's is refused before it is stored: kept, it would make the real
	// activity of that id look like a duplicate and be dropped. snac's
	// withdrawn follow request is the exception (idIsLabel).
	dedupID := act.ID
	if act.ID != "" && !sameOrigin(act.ID, string(act.Actor)) {
		if !s.idIsLabel(act) {
			inboxError(w, http.StatusBadRequest, "activity id "+act.ID+" is not on the host of its actor "+string(act.Actor))
			return
		}
		dedupID = "" // the body's hash: the label cannot stand for anything
	}
	// A key on another host than the actor's is refused before it is
	// fetched: kith fetches no URL a stranger picks.
	if err := checkKeyHost(params.KeyID, string(act.Actor)); err != nil {
		sigError(w, err)
		return
	}
	if blocked, err := s.fromBlocked(ctx, act, params.KeyID); err != nil {
		s.unavailable(w, r, err)
		return
	} else if blocked {
		// Accepted and dropped: telling a blocked server it is blocked only
		// invites it to retry from elsewhere.
		w.WriteHeader(http.StatusAccepted)
		return
	}

	// A deleted account's last words: Mastodon sends Delete{actor} (and
	// sometimes Update{actor}) for accounts whose key is already gone. If we
	// never knew the actor there is nothing to change, and fetching its key
	// would fail anyway.
	if (act.Type.Is("Delete") || act.Type.Is("Update")) && act.ObjectID() == string(act.Actor) {
		if _, err := s.db.ActorByIRI(ctx, string(act.Actor)); errors.Is(err, store.ErrNotFound) {
			w.WriteHeader(http.StatusAccepted)
			return
		}
	}

	signer, err := s.verify(ctx, r, params)
	if err != nil {
		s.verifyError(w, r, err)
		return
	}
	if signer.IRI != string(act.Actor) {
		// A forwarded activity (someone else's, relayed by the signer).
		// Without a way to check the original author's own signature we
		// cannot trust it.
		inboxError(w, http.StatusUnauthorized, "signed by "+signer.IRI+", but the activity's actor is "+string(act.Actor))
		return
	}

	item := &store.InboxItem{
		DedupKey:   dedupKey(dedupID, body),
		Type:       act.Type.Main(),
		ActorIRI:   signer.IRI,
		Body:       body,
		ReceivedAt: now,
	}
	added, err := s.db.AddInbox(ctx, item)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if added {
		s.wakeInbox()
	}
	w.WriteHeader(http.StatusAccepted)
}

// dedupKey is the activity id, or a hash of the body for the rare activity
// sent without one, so that a redelivery is recognised either way.
func dedupKey(id string, body []byte) string {
	if id != "" {
		return id
	}
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// verify finds the signer's key (cached, or fetched once for an unknown
// signer), checks the signature with it, and on failure with a cached key
// refetches the key once: the sender may have rotated it. A bad signature
// or key is a *sig.Error; a refusal to fetch now is a *retryLater; any
// other error is the database's.
func (s *Service) verify(ctx context.Context, r *http.Request, p sig.Params) (*store.Actor, error) {
	actor, err := s.db.ActorByKeyID(ctx, p.KeyID)
	cached := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if !cached {
		if actor, err = s.refreshKey(ctx, p.KeyID); err != nil {
			return nil, err
		}
	}
	err = checkWith(r, p, actor)
	if err == nil {
		return actor, nil
	}
	if !cached || !s.keys.mayRefetch(p.KeyID, s.now()) {
		return nil, err
	}
	fresh, ferr := s.refreshKey(ctx, p.KeyID)
	if ferr != nil {
		var se *sig.Error
		if errors.As(ferr, &se) {
			return nil, err // the first failure says more than the refetch's
		}
		return nil, ferr
	}
	if err := checkWith(r, p, fresh); err != nil {
		return nil, err
	}
	return fresh, nil
}

// checkWith checks the request's signature with actor's key.
func checkWith(r *http.Request, p sig.Params, actor *store.Actor) error {
	pub, err := sig.ParsePublicKeyPEM(actor.PublicKeyPEM)
	if err != nil {
		return &sig.Error{Status: http.StatusUnauthorized, Reason: "the signer's public key is unusable: " + err.Error()}
	}
	if err := sig.Verify(r, p, pub); err != nil {
		var se *sig.Error
		if errors.As(err, &se) {
			return err
		}
		return &sig.Error{Status: http.StatusUnauthorized, Reason: "signature verification failed"}
	}
	return nil
}

// refreshKey fetches the actor owning keyID, if the guard allows a fetch
// now, and caches it as the key's owner: it was found through the key's
// own document. A failed fetch is remembered, so the same keyId is not
// fetched again for a while.
func (s *Service) refreshKey(ctx context.Context, keyID string) (*store.Actor, error) {
	if err := s.keys.mayFetch(keyID, s.now()); err != nil {
		return nil, err
	}
	a, err := s.fetch.ActorForKey(ctx, keyID)
	if err != nil {
		s.keys.fetchFailed(keyID, s.now())
		s.log.Info("could not fetch a signer's key", "key_id", keyID, "err", err)
		return nil, &sig.Error{Status: http.StatusUnauthorized, Reason: "could not fetch the signing key " + keyID}
	}
	if err := s.db.PutKeyOwner(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// isActivityContentType accepts the two ActivityPub media types and plain
// JSON, which some small servers send.
func isActivityContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/activity+json" || mt == "application/ld+json" || mt == "application/json"
}

// sigError answers a signature failure with its status and reason.
func sigError(w http.ResponseWriter, err error) {
	var se *sig.Error
	if errors.As(err, &se) {
		inboxError(w, se.Status, se.Reason)
		return
	}
	inboxError(w, http.StatusUnauthorized, "signature verification failed")
}

// inboxError answers a remote server with a status and a one-line reason in
// JSON, as Mastodon does.
func inboxError(w http.ResponseWriter, status int, reason string) {
	writeJSON(w, status, "application/json; charset=utf-8", map[string]string{"error": reason})
}

// serverError logs an internal failure and answers 500 without details.
func (s *Service) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	inboxError(w, http.StatusInternalServerError, "internal error")
}

func (s *Service) postPersonalInbox(w http.ResponseWriter, r *http.Request) {
	if !s.ours(r) {
		jsonNotFound(w)
		return
	}
	s.postInbox(w, r)
}
