package safenet

import (
	"errors"
	"net/netip"
	"testing"
)

// Each range from protocol.md §8.1 has a row inside it and a row just
// outside it. wantReason pins which rule refused an address, so a row just
// outside a range that is refused for another reason (an IPv6 address
// outside 2000::/3, say) still proves the range's own edge.
var allowedTests4 = []struct {
	addr       string
	wantReason string // "" means allowed
}{
	{"0.0.0.0", `a "this network" address`},
	{"0.255.255.255", `a "this network" address`},
	{"1.0.0.0", ""},

	{"9.255.255.255", ""},
	{"10.0.0.0", "a private address"},
	{"10.255.255.255", "a private address"},
	{"11.0.0.0", ""},

	{"100.63.255.255", ""},
	{"100.64.0.0", "a carrier-grade NAT address"},
	{"100.127.255.255", "a carrier-grade NAT address"},
	{"100.128.0.0", ""},

	{"126.255.255.255", ""},
	{"127.0.0.1", "a loopback address"},
	{"127.255.255.254", "a loopback address"},
	{"128.0.0.0", ""},

	{"169.253.255.255", ""},
	{"169.254.0.1", "a link-local address"},
	{"169.254.169.254", "a link-local address"}, // cloud metadata service
	{"169.255.0.0", ""},

	{"172.15.255.255", ""},
	{"172.16.0.0", "a private address"},
	{"172.31.255.255", "a private address"},
	{"172.32.0.0", ""},

	{"191.255.255.255", ""},
	{"192.0.0.8", "an IETF protocol assignment address"},
	{"192.0.1.0", ""},

	{"192.0.2.1", "a documentation address"},
	{"192.0.3.0", ""},

	{"192.88.98.255", ""},
	{"192.88.99.1", "a 6to4 relay anycast address"},
	{"192.88.100.0", ""},

	{"192.167.255.255", ""},
	{"192.168.1.1", "a private address"},
	{"192.168.255.255", "a private address"},
	{"192.169.0.0", ""},

	{"198.17.255.255", ""},
	{"198.18.0.0", "a benchmarking address"},
	{"198.19.255.255", "a benchmarking address"},
	{"198.20.0.0", ""},

	{"198.51.99.255", ""},
	{"198.51.100.7", "a documentation address"},
	{"198.51.101.0", ""},

	{"203.0.112.255", ""},
	{"203.0.113.9", "a documentation address"},
	{"203.0.114.0", ""},

	{"223.255.255.255", ""},
	{"224.0.0.1", "a multicast address"},
	{"239.255.255.255", "a multicast address"},
	{"240.0.0.1", "a reserved address"},
	{"255.255.255.254", "a reserved address"},
	{"255.255.255.255", "the broadcast address"},

	{"1.1.1.1", ""},
	{"8.8.8.8", ""},
	{"93.184.215.14", ""},
}

var allowedTests6 = []struct {
	addr       string
	wantReason string
}{
	{"::", "the unspecified address"},
	{"::1", "a loopback address"},
	{"::2", notGlobal6},
	{"::127.0.0.1", notGlobal6}, // IPv4-compatible, outside both lists

	{"64:ff9b::a00:1", "a NAT64 address"}, // 64:ff9b::10.0.0.1
	{"64:ff9b::808:808", "a NAT64 address"},
	{"64:ff9b::ffff:ffff", "a NAT64 address"},
	{"64:ff9b::1:0:0", notGlobal6},
	{"64:ff9b:1::1", notGlobal6}, // local-use NAT64 (RFC 8215)

	{"100::1", "a discard-only address"},
	{"100::ffff:ffff:ffff:ffff", "a discard-only address"},
	{"100:0:0:1::", notGlobal6},

	{"1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", notGlobal6},
	{"2000::1", ""},
	{"2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},

	{"2001::1", "a Teredo address"},
	{"2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "a Teredo address"},
	{"2001:1::1", ""},

	{"2001:f:ffff:ffff:ffff:ffff:ffff:ffff", ""},
	{"2001:10::1", "an ORCHID address"},
	{"2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", "an ORCHID address"},
	{"2001:20::1", "an ORCHIDv2 address"},
	{"2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", "an ORCHIDv2 address"},
	{"2001:30::1", ""},

	{"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", ""},
	{"2001:db8::1", "a documentation address"},
	{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "a documentation address"},
	{"2001:db9::", ""},

	{"2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
	{"2002::", "a 6to4 address"},
	{"2002:7f00:1::1", "a 6to4 address"}, // 6to4 for 127.0.0.1
	{"2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "a 6to4 address"},
	{"2003::1", ""},

	{"3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
	{"3fff::1", "a documentation address"},
	{"3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "a documentation address"},
	{"3fff:1000::", ""},
	{"4000::1", notGlobal6},

	{"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", notGlobal6},
	{"fc00::1", "a unique local (private) address"},
	{"fd12:3456:789a::1", "a unique local (private) address"},
	{"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "a unique local (private) address"},
	{"fe00::", notGlobal6},

	{"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", notGlobal6},
	{"fe80::1", "a link-local address"},
	{"fe80::1%eth0", "a link-local address"},
	{"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "a link-local address"},
	{"fec0::1", notGlobal6}, // old site-local

	{"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", notGlobal6},
	{"ff02::1", "a multicast address"},
	{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "a multicast address"},

	{"2606:4700::1111", ""},
	{"2001:4860:4860::8888", ""},
	{"2a01:4f8:c2c:123f::1", ""},
	{"2a01:4f8:c2c:123f::1%eth0", ""},
}

func TestAllowed(t *testing.T) {
	check := func(t *testing.T, addr netip.Addr, wantReason string) {
		t.Helper()
		if got, want := blockReason(addr) == "", wantReason == ""; got != want {
			t.Errorf("allowed(%v) = %v; want %v", addr, got, want)
		}
		if got := blockReason(addr); got != wantReason {
			t.Errorf("blockReason(%v) = %q; want %q", addr, got, wantReason)
		}
	}
	for _, tt := range allowedTests4 {
		t.Run(tt.addr, func(t *testing.T) {
			check(t, netip.MustParseAddr(tt.addr), tt.wantReason)
		})
		// The same IPv4 address as ::ffff:a.b.c.d reaches the same host.
		mapped := netip.AddrFrom16(netip.MustParseAddr(tt.addr).As16())
		t.Run(mapped.String(), func(t *testing.T) {
			check(t, mapped, tt.wantReason)
		})
	}
	for _, tt := range allowedTests6 {
		t.Run(tt.addr, func(t *testing.T) {
			check(t, netip.MustParseAddr(tt.addr), tt.wantReason)
		})
	}
	t.Run("zero Addr", func(t *testing.T) {
		check(t, netip.Addr{}, "not a valid IP address")
	})
}

func TestDialControl(t *testing.T) {
	// The hook gets the resolved ip:port whatever name the URL had, so
	// calling it with addresses is what a hostile DNS answer looks like.
	tests := []struct {
		address    string
		wantReason string
	}{
		{"127.0.0.1:443", "a loopback address"},
		{"[::1]:443", "a loopback address"},
		{"10.1.2.3:443", "a private address"},
		{"[::ffff:127.0.0.1]:443", "a loopback address"},
		{"[::ffff:192.168.0.10]:80", "a private address"},
		{"169.254.169.254:80", "a link-local address"},
		{"[fe80::1%eth0]:443", "a link-local address"},
		{"[fd00::1]:443", "a unique local (private) address"},
		{"0.0.0.0:443", `a "this network" address`},
		{"localhost:443", "not an IP address and port"},
		{"1.1.1.1:443", ""},
		{"[2606:4700::1111]:443", ""},
	}
	for _, tt := range tests {
		t.Run(tt.address, func(t *testing.T) {
			// A nil RawConn: the hook must decide without touching a socket.
			err := dialControl("tcp", tt.address, nil)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("dialControl(%q) = %v; want nil", tt.address, err)
				}
				return
			}
			var be *BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("dialControl(%q) = %v; want a *BlockedError", tt.address, err)
			}
			if be.Addr != tt.address || be.Reason != tt.wantReason {
				t.Errorf("got Addr %q, Reason %q; want %q, %q", be.Addr, be.Reason, tt.address, tt.wantReason)
			}
		})
	}
}

func TestBlockedErrorMessage(t *testing.T) {
	err := dialControl("tcp", "127.0.0.1:443", nil)
	want := "refusing to connect to 127.0.0.1:443: a loopback address (start kith with --allow-private-networks to allow private and loopback addresses)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v; want %s", err, want)
	}
}
