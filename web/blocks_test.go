package web

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
)

// TestBlocksPage: the owner blocks alice from her profile, blocks a server
// by name, imports a Mastodon CSV export, sees each on the blocks page,
// and lifts them again.
func TestBlocksPage(t *testing.T) {
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	remote, alice := fakeAccount(t)
	k.get("/people?acct=alice@" + remote.Host)

	rec := k.post("/people", url.Values{"actor": {alice.IRI}, "action": {"block"}})
	page := k.get(location(t, rec)).Body.String()
	if !strings.Contains(page, `<span class="badge">Blocked</span>`) || !strings.Contains(page, `value="unblock"`) ||
		strings.Contains(page, `value="follow"`) {
		t.Error("after blocking, the profile does not show the block (or still offers to follow)")
	}
	k.inst.Service.Deliverer().RunOnce(ctx)
	if got := remote.Received(); len(got) != 1 || got[0].Type() != "Block" {
		t.Errorf("alice's server got %d activities; want one Block", len(got))
	}

	rec = k.post("/settings/blocks", url.Values{"action": {"block-domain"}, "target": {"Spam.Example"}, "comment": {"spam"}})
	page = k.get(location(t, rec)).Body.String()
	for _, want := range []string{"Blocked spam.example", "<strong>spam.example</strong>", "— spam", "<bdi>Alice</bdi>"} {
		if !strings.Contains(page, want) {
			t.Errorf("blocks page lacks %q", want)
		}
	}
	if rec := k.post("/settings/blocks", url.Values{"action": {"block-domain"}, "target": {"not a domain"}}); rec.Code != http.StatusBadRequest {
		t.Errorf("blocking garbage: status %d; want 400", rec.Code)
	}

	list, err := os.ReadFile("../ap/testdata/blocklists/mastodon-export.csv")
	if err != nil {
		t.Fatal(err)
	}
	rec = k.postMultipart("/settings/blocks/import", nil, file{field: "list", name: "domain_blocks.csv", body: list})
	if rec.Code != http.StatusOK {
		t.Fatalf("import: status %d\n%s", rec.Code, rec.Body)
	}
	page = rec.Body.String()
	for _, want := range []string{"Blocked 2 servers, muted 1 server; 1 already as the list asks, 1 marked noop", "2 lines could not be used",
		"line 6", "obfuscated", "<strong>bad.example</strong>", "<h2>Muted servers</h2>"} {
		if !strings.Contains(page, want) {
			t.Errorf("after the import the page lacks %q", want)
		}
	}
	if blocked, _ := k.inst.DB.IsBlocked(ctx, "bad.example"); !blocked {
		t.Error("bad.example is not blocked after the import")
	}

	for _, lift := range []url.Values{
		{"action": {"unblock"}, "target": {alice.IRI}},
		{"action": {"unblock-domain"}, "target": {"spam.example"}},
		{"action": {"unmute-domain"}, "target": {"loud.example"}},
	} {
		rec := k.post("/settings/blocks", lift)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("%v: status %d", lift, rec.Code)
		}
	}
	if blocked, _ := k.inst.DB.IsBlocked(ctx, alice.IRI, "spam.example"); blocked {
		t.Error("a lifted block is still there")
	}
	if muted, _ := k.inst.DB.IsMuted(ctx, "loud.example", time.Now()); muted {
		t.Error("loud.example is still muted")
	}
	// Lifting twice is not an error: the page shows how things are.
	if rec := k.post("/settings/blocks", url.Values{"action": {"unblock-domain"}, "target": {"spam.example"}}); rec.Code != http.StatusSeeOther {
		t.Errorf("lifting twice: status %d; want 303", rec.Code)
	}
	if rec := k.postMultipart("/settings/blocks/import", nil); rec.Code != http.StatusBadRequest {
		t.Errorf("import without a file: status %d; want 400", rec.Code)
	}
	if rec := k.postMultipart("/settings/blocks/import", nil, file{field: "list", name: "x.bin", body: []byte("a\x00b")}); rec.Code != http.StatusBadRequest {
		t.Errorf("import of a binary file: status %d; want 400", rec.Code)
	}
	if rec := k.visitor().get("/settings/blocks"); rec.Code == http.StatusOK {
		t.Error("a visitor sees the blocks page")
	}
}
