package ap

import (
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// URLs builds every URL kith serves. Keeping them in one place makes the
// actor id, the WebFinger self link and every reference to them the same
// string, which Mastodon's WebFinger round trip requires.
type URLs struct {
	scheme   string
	domain   string // host[:port], lower case
	username string
}

// NewURLs returns the URL builder for the account username on domain. The
// scheme is https except for local domains (see IsLocalDomain), which are
// served over plain http.
func NewURLs(domain, username string) URLs {
	domain = strings.ToLower(strings.TrimSuffix(domain, "/"))
	scheme := "https"
	if IsLocalDomain(domain) {
		scheme = "http"
	}
	return URLs{scheme: scheme, domain: domain, username: username}
}

// WithScheme returns a copy using scheme; tests serve on loopback over TLS.
func (u URLs) WithScheme(scheme string) URLs {
	u.scheme = scheme
	return u
}

// IsLocalDomain reports whether domain (host[:port]) can only be reached
// from this machine or its local network, so that no other server could
// ever fetch from it: localhost, loopback, private and link-local
// addresses, names under .local, .lan, .home.arpa, .internal and
// .localhost, and single-label names such as "raspberrypi". kith serves
// such a domain over plain HTTP, as no certificate authority would vouch
// for it.
func IsLocalDomain(domain string) bool {
	host := domain
	if h, _, err := net.SplitHostPort(domain); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(strings.ToLower(host), "[]"), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() ||
			netip.MustParsePrefix("100.64.0.0/10").Contains(ip) // RFC 6598: carrier-grade NAT, mesh VPNs
	}
	if !strings.Contains(host, ".") {
		return true // "localhost", or a machine's bare name on the LAN
	}
	for _, suffix := range []string{".localhost", ".local", ".lan", ".home.arpa", ".internal"} {
		if strings.HasSuffix(host, suffix) {
			return true
		}
	}
	return false
}

// Scheme is "https" or "http".
func (u URLs) Scheme() string { return u.scheme }

// Domain is the host[:port] kith is reached at.
func (u URLs) Domain() string { return u.domain }

// Hostname is the domain without a port.
func (u URLs) Hostname() string {
	if h, _, err := net.SplitHostPort(u.domain); err == nil {
		return h
	}
	return u.domain
}

// Username is the account's name.
func (u URLs) Username() string { return u.username }

// Base is scheme://domain, with no trailing slash.
func (u URLs) Base() string { return u.scheme + "://" + u.domain }

// Acct is user@domain, the handle without its leading @.
func (u URLs) Acct() string { return u.username + "@" + u.domain }

// Actor is the account's ActivityPub id.
func (u URLs) Actor() string { return u.Base() + "/users/" + u.username }

// KeyID is the id of the account's public key.
func (u URLs) KeyID() string { return u.Actor() + "#main-key" }

// Inbox is the account's personal inbox.
func (u URLs) Inbox() string { return u.Actor() + "/inbox" }

// SharedInbox is the server-wide inbox.
func (u URLs) SharedInbox() string { return u.Base() + "/inbox" }

// Outbox is the account's outbox collection.
func (u URLs) Outbox() string { return u.Actor() + "/outbox" }

// Followers is the account's followers collection.
func (u URLs) Followers() string { return u.Actor() + "/followers" }

// Following is the account's following collection.
func (u URLs) Following() string { return u.Actor() + "/following" }

// Featured is the collection of pinned posts.
func (u URLs) Featured() string { return u.Actor() + "/collections/featured" }

// Profile is the account's HTML profile page.
func (u URLs) Profile() string { return u.Base() + "/@" + u.username }

// Post is the ActivityPub id of the local post id.
func (u URLs) Post(id string) string { return u.Actor() + "/statuses/" + id }

// PostActivity is the id of the Create activity of the local post id.
func (u URLs) PostActivity(id string) string { return u.Post(id) + "/activity" }

// PostPage is the HTML page of the local post id.
func (u URLs) PostPage(id string) string { return u.Profile() + "/" + id }

// Tag is the page of posts carrying a hashtag.
func (u URLs) Tag(tag string) string {
	return u.Base() + "/tags/" + url.PathEscape(strings.ToLower(tag))
}

// InstanceActor is the server's own actor, which signs fetches made on no
// one's behalf.
func (u URLs) InstanceActor() string { return u.Base() + "/actor" }

// InstanceKeyID is the id of the instance actor's key.
func (u URLs) InstanceKeyID() string { return u.InstanceActor() + "#main-key" }

// InstanceInbox is the instance actor's inbox.
func (u URLs) InstanceInbox() string { return u.InstanceActor() + "/inbox" }

// Media is the URL of a stored upload; ext includes its dot.
func (u URLs) Media(id, ext string) string { return u.Base() + "/media/" + id + ext }

// MediaPreview is the URL of the scaled preview of a stored upload.
func (u URLs) MediaPreview(id, ext string) string {
	return u.Base() + "/media/" + id + "/preview" + ext
}

// Activity returns an id for an outgoing activity that is not served at a
// URL of its own (Follow, Accept, Undo, Update, Delete): a fragment of the
// actor, as Mastodon does, with a fresh opaque id.
func (u URLs) Activity(kind, id string) string { return u.Actor() + "#" + kind + "/" + id }

// IsLocal reports whether iri lives on this server.
func (u URLs) IsLocal(iri string) bool {
	rest, ok := u.cutBase(iri)
	return ok && (rest == "" || rest[0] == '/')
}

// cutBase returns what follows Base in iri, and whether iri starts with
// it, without building Base: pages ask this of every post they show.
func (u URLs) cutBase(iri string) (string, bool) {
	return cutPrefixes(iri, u.scheme, "://", u.domain)
}

// cutPrefixes returns s without the prefixes, one after the other, and
// whether s started with all of them.
func cutPrefixes(s string, prefixes ...string) (string, bool) {
	for _, p := range prefixes {
		var ok bool
		if s, ok = strings.CutPrefix(s, p); !ok {
			return "", false
		}
	}
	return s, true
}

// LocalPostID returns the post id of a local post IRI or page URL.
func (u URLs) LocalPostID(iri string) (string, bool) {
	rest, ok := u.cutBase(iri)
	if !ok {
		return "", false
	}
	// Actor()+"/statuses/" or Profile()+"/", matched piece by piece.
	id, ok := cutPrefixes(rest, "/users/", u.username, "/statuses/")
	if !ok {
		id, ok = cutPrefixes(rest, "/@", u.username, "/")
	}
	if !ok || id == "" || strings.ContainsAny(id, "/?#") {
		return "", false
	}
	return id, true
}
