package safenet

import (
	"errors"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

func TestCheckURL(t *testing.T) {
	tests := []struct {
		name         string
		url          string
		allowPrivate bool
		wantReason   string // "" means accepted
		wantHint     bool   // the message points at --allow-private-networks
	}{
		{"https public", "https://mastodon.social/users/Gargron", false, "", false},
		{"https public with port", "https://example.com:8443/inbox", false, "", false},
		{"https trailing dot", "https://example.com./", false, "", false},
		{"https public IPv4 literal", "https://1.1.1.1/", false, "", false},
		{"https public IPv6 literal", "https://[2606:4700::1111]/", false, "", false},
		{"http refused", "http://example.com/", false, "plain http is not allowed, only https", true},
		{"http with allowPrivate", "http://example.com/", true, "", false},
		{"ftp", "ftp://example.com/", false, `scheme "ftp" is not allowed, only https`, false},
		{"ftp with allowPrivate", "ftp://example.com/", true, `scheme "ftp" is not allowed, only https`, false},
		{"file", "file:///etc/passwd", true, `scheme "file" is not allowed, only https`, false},
		{"javascript", "javascript:alert(1)", true, `scheme "javascript" is not allowed, only https`, false},
		{"gopher", "gopher://127.0.0.1:6379/_", true, `scheme "gopher" is not allowed, only https`, false},
		{"relative", "/users/alice", false, `scheme "" is not allowed, only https`, false},
		{"userinfo", "https://user:secret@example.com/", false, "the URL carries a user name or password", false},
		{"userinfo disguising the host", "https://mastodon.social@evil.example/", true, "the URL carries a user name or password", false},
		{"no host", "https:///path", false, "the URL has no host", false},
		{"opaque", "https:example.com", false, "the URL has no host", false},
		{"port only", "https://:443/", false, "the URL has no host", false},
		{"port 0", "https://example.com:0/", false, "an invalid port", false},
		{"port too big", "https://example.com:65536/", false, "an invalid port", false},
		{"localhost", "https://localhost/", false, "a local host name", true},
		{"LOCALHOST.", "https://LOCALHOST./", false, "a local host name", true},
		{"sub.localhost", "https://kith.localhost:8443/", false, "a local host name", true},
		{"localhost with allowPrivate", "https://localhost:8443/", true, "", false},
		{"not localhost", "https://notlocalhost.example/", false, "", false},
		{"onion", "https://duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion/", false, "a Tor or I2P host, which kith cannot reach", false},
		{"onion with allowPrivate", "https://example.onion/", true, "a Tor or I2P host, which kith cannot reach", false},
		{"i2p", "https://example.i2p/", false, "a Tor or I2P host, which kith cannot reach", false},
		{".local", "https://printer.local/", false, "a multicast DNS (.local) host name", true},
		{".local with allowPrivate", "https://kith.local/", true, "", false},
		{"loopback IPv4", "https://127.0.0.1/", false, "a loopback address", true},
		{"loopback IPv4 with allowPrivate", "https://127.0.0.1:8443/", true, "", false},
		{"private IPv4", "https://10.0.0.5/", false, "a private address", true},
		{"private IPv4 192.168", "https://192.168.1.1/", false, "a private address", true},
		{"private IPv4 with allowPrivate", "https://192.168.1.1/", true, "", false},
		{"metadata service", "https://169.254.169.254/latest/meta-data/", false, "a link-local address", true},
		{"loopback IPv6", "https://[::1]/", false, "a loopback address", true},
		{"loopback IPv6 with port", "https://[::1]:443/", false, "a loopback address", true},
		{"loopback IPv6 with allowPrivate", "https://[::1]:8443/", true, "", false},
		{"mapped loopback", "https://[::ffff:127.0.0.1]/", false, "a loopback address", true},
		{"link-local with zone", "https://[fe80::1%25eth0]/", false, "a link-local address", true},
		{"unique local IPv6", "https://[fd00::1]/", false, "a unique local (private) address", true},
		{"short IPv4", "https://127.1/", true, "a numeric host name that is not a valid IP address", false},
		{"decimal IPv4", "https://2130706433/", true, "a numeric host name that is not a valid IP address", false},
		{"hex IPv4", "https://0x7f.0.0.1/", true, "a numeric host name that is not a valid IP address", false},
		{"octal IPv4", "https://0177.0.0.1/", true, "a numeric host name that is not a valid IP address", false},
		{"IPv4 trailing dot", "https://127.0.0.1./", true, "a numeric host name that is not a valid IP address", false},
		{"only a dot", "https://./", true, "a numeric host name that is not a valid IP address", false},
		{"digits inside a name", "https://123.example/", false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatalf("url.Parse(%q): %v", tt.url, err)
			}
			err = CheckURL(u, tt.allowPrivate)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("CheckURL(%q, %v) = %v; want nil", tt.url, tt.allowPrivate, err)
				}
				return
			}
			var be *BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("CheckURL(%q, %v) = %v; want a *BlockedError", tt.url, tt.allowPrivate, err)
			}
			if be.Reason != tt.wantReason {
				t.Errorf("got reason %q; want %q", be.Reason, tt.wantReason)
			}
			if got := strings.Contains(err.Error(), "--allow-private-networks"); got != tt.wantHint {
				t.Errorf("message %q mentions the flag: got %v; want %v", err, got, tt.wantHint)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("message %q leaks the password", err)
			}
		})
	}
	t.Run("nil", func(t *testing.T) {
		var be *BlockedError
		if err := CheckURL(nil, true); !errors.As(err, &be) {
			t.Errorf("CheckURL(nil) = %v; want a *BlockedError", err)
		}
	})
}

func FuzzCheckURL(f *testing.F) {
	// Seeds: ids and inboxes from /work/shared/fixtures (mastodon-actor-person.json,
	// misskey-actor.json, pleroma-actor.json, gotosocial-actor-fields.json,
	// peertube-video.json), plus hostile shapes.
	for _, s := range []string{
		"https://masto.qa.urbanwildlife.biz/users/mastodon#main-key",
		"https://masto.qa.urbanwildlife.biz/users/mastodon/inbox",
		"https://misskey.io/users/83ssedkv53",
		"https://queer.hacktivis.me/users/lanodan",
		"http://localhost:8080/users/1happyturtle/inbox",
		"wss://tilvids.com:443/tracker/socket",
		"magnet:?xs=https%3A%2F%2Ftilvids.com%2Flazy-static%2Ftorrents%2Fx.torrent",
		"https://user:pass@127.0.0.1:443/",
		"https://[fe80::1%25eth0]:8443/",
		"https://[::ffff:10.0.0.1]/",
		"https://0x7f.1/",
		"HTTPS://EXAMPLE.COM./",
		"https:example.com",
		"https://%6c%6fcalhost/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		for _, allowPrivate := range []bool{false, true} {
			err := CheckURL(u, allowPrivate)
			if err != nil {
				var be *BlockedError
				if !errors.As(err, &be) {
					t.Fatalf("CheckURL(%q, %v) = %v; want a *BlockedError", s, allowPrivate, err)
				}
				continue
			}
			if u.Scheme != "https" && (u.Scheme != "http" || !allowPrivate) {
				t.Fatalf("CheckURL(%q, %v) accepted scheme %q", s, allowPrivate, u.Scheme)
			}
			if u.Hostname() == "" {
				t.Fatalf("CheckURL(%q, %v) accepted an empty host", s, allowPrivate)
			}
			if u.User != nil {
				t.Fatalf("CheckURL(%q, %v) accepted user info", s, allowPrivate)
			}
			if addr, err := netip.ParseAddr(u.Hostname()); err == nil && !allowPrivate && blockReason(addr) != "" {
				t.Fatalf("CheckURL(%q, false) accepted blocked address %v", s, addr)
			}
		}
	})
}
