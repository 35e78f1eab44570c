package safenet

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// CheckURL refuses URLs kith must never fetch: schemes other than https (and
// http when allowPrivate), a missing host, user info, .onion and .i2p hosts,
// .local, .localhost and "localhost" hosts (unless allowPrivate), IP-literal
// hosts that Allowed rejects (unless allowPrivate), numeric host names that
// are not valid IP addresses, and invalid ports. The error is a
// *BlockedError.
//
// CheckURL looks at the URL only; the address a name resolves to is checked
// when the connection is dialed.
func CheckURL(u *url.URL, allowPrivate bool) error {
	if u == nil {
		return &BlockedError{Addr: "<nil>", Reason: "no URL"}
	}
	refuse := func(reason string, private bool) error {
		return &BlockedError{Addr: u.Redacted(), Reason: reason, private: private}
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowPrivate {
			return refuse("plain http is not allowed, only https", true)
		}
	default:
		return refuse("scheme "+strconv.Quote(u.Scheme)+" is not allowed, only https", false)
	}
	if u.User != nil {
		// Nothing in ActivityPub uses it, and it only serves to disguise
		// the host ("https://mastodon.social@evil.example/").
		return refuse("the URL carries a user name or password", false)
	}
	host := u.Hostname()
	if host == "" {
		return refuse("the URL has no host", false)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return refuse("an invalid port", false)
		}
	}

	if addr, err := netip.ParseAddr(host); err == nil {
		if reason := blockReason(addr); reason != "" && !allowPrivate {
			return refuse(reason, true)
		}
		return nil
	}

	name := strings.TrimSuffix(strings.ToLower(host), ".")
	switch {
	case hasLabelSuffix(name, "onion"), hasLabelSuffix(name, "i2p"):
		// Reachable only through a Tor or I2P proxy, which kith never
		// uses; asking DNS for the name would only leak it.
		return refuse("a Tor or I2P host, which kith cannot reach", false)
	case hasLabelSuffix(name, "localhost"):
		if !allowPrivate {
			return refuse("a local host name", true)
		}
	case hasLabelSuffix(name, "local"):
		if !allowPrivate {
			return refuse("a multicast DNS (.local) host name", true)
		}
	}
	// A numeric last label makes resolvers and browsers read the host as an
	// IPv4 address in shorthand ("127.1", "2130706433", "0x7f.1"); no real
	// host name has one, so refuse it rather than guess how it is read.
	last := name[strings.LastIndexByte(name, '.')+1:]
	if last == "" || isNumericLabel(last) {
		return refuse("a numeric host name that is not a valid IP address", false)
	}
	return nil
}

// hasLabelSuffix reports whether name is tld or ends in "."+tld.
func hasLabelSuffix(name, tld string) bool {
	return name == tld || strings.HasSuffix(name, "."+tld)
}

// isNumericLabel reports whether label is decimal digits or 0x-prefixed hex.
func isNumericLabel(label string) bool {
	digits := "0123456789"
	if rest, ok := strings.CutPrefix(label, "0x"); ok {
		label, digits = rest, "0123456789abcdef"
	}
	for _, c := range label {
		if !strings.ContainsRune(digits, c) {
			return false
		}
	}
	return true
}
