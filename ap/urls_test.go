package ap

import "testing"

// TestIsLocalDomain: addresses and names that no other server could reach
// are local, and get plain HTTP links; public names and addresses are not.
func TestIsLocalDomain(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		domain string
		local  bool
	}{
		{"localhost:8080", true},
		{"localhost", true},
		{"127.0.0.1:8080", true},
		{"[::1]:8080", true},
		{"192.168.1.5:8080", true},
		{"10.0.0.7", true},
		{"172.20.1.1:8080", true},
		{"169.254.3.4", true},
		{"100.101.102.103:8080", true},
		{"[fd12:3456::1]:8080", true},
		{"[fe80::1]:8080", true},
		{"raspberrypi:8080", true},
		{"kith.local:8080", true},
		{"pi.lan", true},
		{"box.home.arpa", true},
		{"kith.internal", true},
		{"dev.localhost:8080", true},
		{"Kith.LAN.", true},

		{"kith.example", false},
		{"social.example.org:8443", false},
		{"203.0.113.7:8080", false},
		{"[2001:db8::1]:443", false},
		{"lan.example.com", false},
		{"local.example", false},
	} {
		if got := IsLocalDomain(tt.domain); got != tt.local {
			t.Errorf("IsLocalDomain(%q) = %v; want %v", tt.domain, got, tt.local)
		}
		want := "https"
		if tt.local {
			want = "http"
		}
		if got := NewURLs(tt.domain, "me").Scheme(); got != want {
			t.Errorf("NewURLs(%q).Scheme() = %q; want %q", tt.domain, got, want)
		}
	}
}

// TestLocalAddresses: IsLocal and LocalPostID know this site's addresses
// and no other, whatever shares a prefix with them.
func TestLocalAddresses(t *testing.T) {
	u := NewURLs("kith.example", "me")
	tests := []struct {
		iri   string
		local bool
		post  string // the local post id, or ""
	}{
		{"https://kith.example", true, ""},
		{"https://kith.example/", true, ""},
		{"https://kith.example/users/me", true, ""},
		{"https://kith.example/users/me/statuses/01JABC", true, "01JABC"},
		{"https://kith.example/@me/01JABC", true, "01JABC"},
		{"https://kith.example/users/me/statuses/", true, ""},
		{"https://kith.example/users/me/statuses/01JABC/activity", true, ""},
		{"https://kith.example/@me/01JABC?x=1", true, ""},
		{"https://kith.example/@me/01JABC#frag", true, ""},
		{"https://kith.example/users/meg/statuses/01JABC", true, ""},
		{"https://kith.example/@meg/01JABC", true, ""},
		{"https://kith.example/users/other/statuses/01JABC", true, ""},
		{"https://kith.example.evil/users/me/statuses/01JABC", false, ""},
		{"https://kith.examplex/@me/01JABC", false, ""},
		{"http://kith.example/users/me/statuses/01JABC", false, ""},
		{"https://evil.example/users/me/statuses/01JABC", false, ""},
		{"https://kith.example@evil.example/x", false, ""},
		{"", false, ""},
	}
	for _, tt := range tests {
		if got := u.IsLocal(tt.iri); got != tt.local {
			t.Errorf("IsLocal(%q) = %v; want %v", tt.iri, got, tt.local)
		}
		id, ok := u.LocalPostID(tt.iri)
		if id != tt.post || ok != (tt.post != "") {
			t.Errorf("LocalPostID(%q) = %q, %v; want %q", tt.iri, id, ok, tt.post)
		}
		if ok && u.Post(id) != tt.iri && u.PostPage(id) != tt.iri {
			t.Errorf("LocalPostID(%q) = %q, which is neither its IRI nor its page", tt.iri, id)
		}
	}
}
