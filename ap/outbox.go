package ap

import (
	"context"
	"fmt"

	"kith/store"
)

// enqueue stores an outgoing activity once and one delivery per inbox.
func (s *Service) enqueue(ctx context.Context, tx *store.Tx, id, typ, object string, doc any, inboxes []string) error {
	body, err := marshal(doc)
	if err != nil {
		return fmt.Errorf("encode %s: %w", typ, err)
	}
	act := &store.Activity{IRI: id, Type: typ, ObjectIRI: object, Body: body}
	_, err = tx.Enqueue(ctx, act, s.filterInboxes(inboxes), s.now())
	return err
}

// filterInboxes drops our own inboxes and duplicates: we never deliver to
// ourselves.
func (s *Service) filterInboxes(inboxes []string) []string {
	seen := make(map[string]bool, len(inboxes))
	out := inboxes[:0:0]
	for _, in := range inboxes {
		if in == "" || seen[in] || s.urls.IsLocal(in) {
			continue
		}
		seen[in] = true
		out = append(out, in)
	}
	return out
}
