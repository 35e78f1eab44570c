package ap

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kith/store"
)

// FuzzRemotePost: no object a remote server sends makes the conversion of
// a post, its poll, its media and its quote panic, and what comes out
// keeps the limits the timeline relies on.
func FuzzRemotePost(f *testing.F) {
	entries, _ := os.ReadDir(filepath.Join("testdata", "fixtures"))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			b, err := os.ReadFile(filepath.Join("testdata", "fixtures", e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`{"id":"https://a.example/q","type":"Question","anyOf":[{"name":"a","replies":{"totalItems":"-3"}},1],"closed":true,"votersCount":null}`))
	f.Add([]byte(`{"id":"https://a.example/v","type":"Video","url":[{"href":"https://a.example/v.mp4","mediaType":"video/mp4"}],"attachment":{"href":"x"}}`))
	author := &store.Actor{IRI: "https://a.example/users/a", Followers: "https://a.example/users/a/followers"}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var o Object
		if json.Unmarshal(body, &o) != nil {
			return
		}
		p := remotePost(&o, body, author, now)
		if len(p.Attachments) > maxRemoteAttachments {
			t.Errorf("%d attachments kept", len(p.Attachments))
		}
		for _, a := range p.Attachments {
			if !AcceptedMediaType(a.MediaType) {
				t.Errorf("attachment of type %q kept", a.MediaType)
			}
		}
		if p.Published.After(now) {
			t.Errorf("published %v, after it arrived", p.Published)
		}
		if poll := pollOf(&o, now); poll != nil {
			if len(poll.Options) == 0 || len(poll.Options) > maxPollOptions {
				t.Errorf("%d poll options", len(poll.Options))
			}
			for _, opt := range poll.Options {
				if opt.Votes < 0 {
					t.Errorf("option %q has %d votes", opt.Title, opt.Votes)
				}
			}
		}
	})
}

// TestBlockTargets: a host is looked up as written, without its port, and
// under each domain above it; an address has no parents.
func TestBlockTargets(t *testing.T) {
	tests := []struct{ iri, want string }{
		{"https://social.example.com/users/a", "social.example.com,example.com"},
		{"https://a.b.example.co.uk:8443/x", "a.b.example.co.uk:8443,a.b.example.co.uk,b.example.co.uk,example.co.uk,co.uk"},
		{"https://127.0.0.1:8080/users/a", "127.0.0.1:8080,127.0.0.1"},
		{"https://[::1]:8080/users/a", "[::1]:8080,::1"},
		{"https://localhost/users/a", "localhost"},
		{"not a url", ""},
	}
	for _, tt := range tests {
		if got := strings.Join(blockTargets(tt.iri), ","); got != tt.want {
			t.Errorf("blockTargets(%q) = %q; want %q", tt.iri, got, tt.want)
		}
	}
}
