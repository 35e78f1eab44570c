package ap

import (
	"context"
	"net"
	"strings"
)

// fromBlocked reports whether an activity comes from a blocked account or
// server: its actor, or the actor's host or the signing key's host or a
// domain above them, is on the block list. postInbox asks before anything
// else is done for the sender (a blocked server is not worth a key fetch,
// nor a row in the inbox). Once the signature checks out the signer is the
// actor, so this one look covers the signer too.
func (s *Service) fromBlocked(ctx context.Context, act *Activity, keyID string) (bool, error) {
	actor := string(act.Actor)
	targets := append([]string{actor}, blockTargets(actor)...)
	return s.db.IsBlocked(ctx, append(targets, blockTargets(keyID)...)...)
}

// hostBlocked reports whether the host of iri is covered by a domain block.
func (s *Service) hostBlocked(ctx context.Context, iri string) (bool, error) {
	return s.db.IsBlocked(ctx, blockTargets(iri)...)
}

// maxBlockLabels bounds how many parent domains a host is looked up under.
const maxBlockLabels = 6

// blockTargets returns the block list entries that would cover the host
// of iri: host[:port] as written, the name without its port, and each
// domain above it, since blocking example.com blocks social.example.com
// too, as Mastodon's domain blocks do. An IP address has no parents.
func blockTargets(iri string) []string {
	host := hostOf(iri)
	if host == "" {
		return nil
	}
	out := []string{host}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
		out = append(out, h)
	}
	if net.ParseIP(strings.Trim(name, "[]")) != nil {
		return out
	}
	labels := strings.Split(name, ".")
	for i := 1; i < len(labels)-1 && i <= maxBlockLabels; i++ {
		out = append(out, strings.Join(labels[i:], "."))
	}
	return out
}
