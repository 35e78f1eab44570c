package safenet

import (
	"net/netip"
	"syscall"
)

// BlockedError is returned (wrapped in the *url.Error from client.Do) when
// the guard refuses an address or a URL. Its message says what was refused
// and, when --allow-private-networks would lift the refusal, how to allow it.
type BlockedError struct {
	Addr   string // the dialed ip:port, or the URL (with any password redacted)
	Reason string // why, e.g. "a loopback address"

	// private is set when AllowPrivate would have let this through, so the
	// message can point the admin at the flag (and only then).
	private bool
}

// Error tells an admin reading the log what happened and how to allow it.
func (e *BlockedError) Error() string {
	msg := "refusing to connect to " + e.Addr + ": " + e.Reason
	if e.private {
		msg += " (start kith with --allow-private-networks to allow private and loopback addresses)"
	}
	return msg
}

// blockedPrefix is a range kith refuses to connect to, with the reason given to admins.
type blockedPrefix struct {
	prefix netip.Prefix
	reason string
}

// blockedPrefixes is what Mastodon refuses (protocol.md §8.1), plus the
// IPv6 documentation range 3fff::/20 (RFC 9637). The first match gives the
// reason, so 255.255.255.255 comes before 240/4. IPv4-mapped IPv6 addresses
// are unmapped before the lookup, which covers ::ffff:0:0/96.
var blockedPrefixes = [...]blockedPrefix{
	{netip.MustParsePrefix("0.0.0.0/8"), `a "this network" address`},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment address"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("192.88.99.0/24"), "a 6to4 relay anycast address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("255.255.255.255/32"), "the broadcast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},

	{netip.MustParsePrefix("::/128"), "the unspecified address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	{netip.MustParsePrefix("64:ff9b::/96"), "a NAT64 address"},
	{netip.MustParsePrefix("100::/64"), "a discard-only address"},
	{netip.MustParsePrefix("2001::/32"), "a Teredo address"},
	{netip.MustParsePrefix("2001:10::/28"), "an ORCHID address"},
	{netip.MustParsePrefix("2001:20::/28"), "an ORCHIDv2 address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	{netip.MustParsePrefix("2002::/16"), "a 6to4 address"},
	{netip.MustParsePrefix("3fff::/20"), "a documentation address"},
	{netip.MustParsePrefix("fc00::/7"), "a unique local (private) address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

// globalUnicast6 is the only IPv6 space IANA hands out for public unicast.
// Refusing everything outside it also covers what the list above leaves
// open: IPv4-compatible addresses such as ::127.0.0.1, the local-use NAT64
// prefix 64:ff9b:1::/48 and the old site-local fec0::/10.
var globalUnicast6 = netip.MustParsePrefix("2000::/3")

const notGlobal6 = "not a global unicast IPv6 address"

// blockReason says why addr is refused, or returns "" if it is a public
// unicast address kith may connect to. It refuses everything in
// protocol.md §8.1, in IPv4-mapped form too, and every IPv6 address
// outside 2000::/3.
func blockReason(addr netip.Addr) string {
	if !addr.IsValid() {
		return "not a valid IP address"
	}
	// A zone only picks the interface; the address decides where it goes.
	addr = addr.WithZone("").Unmap()
	for _, b := range blockedPrefixes {
		if b.prefix.Contains(addr) {
			return b.reason
		}
	}
	if addr.Is6() && !globalUnicast6.Contains(addr) {
		return notGlobal6
	}
	return ""
}

// dialControl is the net.Dialer.Control hook. It runs after name resolution
// with the exact address about to be connected to, so it sees what DNS
// really answered this time.
func dialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &BlockedError{Addr: address, Reason: "not an IP address and port"}
	}
	if reason := blockReason(ap.Addr()); reason != "" {
		return &BlockedError{Addr: address, Reason: reason, private: true}
	}
	return nil
}
