package ap

import (
	"context"
	"fmt"
	"slices"

	"kith/store"
)

// enqueue stores an outgoing activity once and one delivery per inbox.
func (s *Service) enqueue(ctx context.Context, tx *store.Tx, id, typ, object string, doc any, inboxes []string) error {
	body, err := marshal(doc)
	if err != nil {
		return fmt.Errorf("encode %s: %w", typ, err)
	}
	act := &store.Activity{IRI: id, Type: typ, ObjectIRI: object, Body: body}
	inboxes, err = s.unblockedInboxes(ctx, tx, s.filterInboxes(inboxes))
	if err != nil {
		return err
	}
	_, err = tx.Enqueue(ctx, act, inboxes, s.now())
	return err
}

// unblockedInboxes drops the inboxes on blocked domains (and their
// subdomains): nothing of ours goes to a server the owner blocked,
// whatever addressed it.
func (s *Service) unblockedInboxes(ctx context.Context, tx *store.Tx, inboxes []string) ([]string, error) {
	var candidates []string
	for _, in := range inboxes {
		candidates = append(candidates, blockTargets(in)...)
	}
	slices.Sort(candidates)
	blocked, err := tx.BlockedHosts(ctx, slices.Compact(candidates))
	if err != nil || len(blocked) == 0 {
		return inboxes, err
	}
	out := inboxes[:0:0]
	for _, in := range inboxes {
		if !slices.ContainsFunc(blockTargets(in), func(h string) bool { return blocked[h] }) {
			out = append(out, in)
		}
	}
	return out, nil
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
