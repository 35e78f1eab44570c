package ap_test

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
)

// testdata/blocklists/mastodon-export.csv has the header row Mastodon
// writes when an admin exports domain blocks (Moderation → Federation →
// Export), as GoToSocial's documentation of domain permission lists and
// IFTAS's DNI list show it: #domain,#severity,#reject_media,
// #reject_reports,#public_comment,#obfuscate, with CRLF line ends, a
// quoted comment holding a comma, upper-case booleans (IFTAS), an
// obfuscated name, an unknown severity and a wildcard. plain.txt is the
// one-domain-per-line form of lists such as FediNuke.txt.

// TestParseBlocklistMastodonCSV reads a Mastodon export.
func TestParseBlocklistMastodonCSV(t *testing.T) {
	f, err := os.Open("testdata/blocklists/mastodon-export.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, skips, err := ap.ParseBlocklist(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []ap.BlocklistEntry{
		{Line: 2, Domain: "spam.example", Severity: "suspend", Comment: "spam, mostly"},
		{Line: 3, Domain: "loud.example", Severity: "silence"},
		{Line: 4, Domain: "harmless.example", Severity: "noop", Comment: "media only"},
		{Line: 5, Domain: "bad.example", Severity: "suspend", Comment: "iftas:hate-speech;online-harassment"},
		{Line: 8, Domain: "wild.example", Severity: "suspend"},
		{Line: 9, Domain: "spam.example", Severity: "silence", Comment: "listed twice"},
	}
	if !reflect.DeepEqual(entries, want) {
		t.Errorf("entries:\n got %+v\nwant %+v", entries, want)
	}
	if len(skips) != 2 || skips[0].Line != 6 || !strings.Contains(skips[0].Reason, "obfuscated") ||
		skips[1].Line != 7 || !strings.Contains(skips[1].Reason, "severity") {
		t.Errorf("skips = %+v; want the obfuscated line 6 and the unknown severity of line 7", skips)
	}
}

// TestParseBlocklistForms: plain lists, headers without #, and input that
// is no list.
func TestParseBlocklistForms(t *testing.T) {
	plain, err := os.ReadFile("testdata/blocklists/plain.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		in      string
		domains []string
		skips   int
		err     bool
	}{
		{"plain list", string(plain), []string{"one.example", "two.example", "three.example"}, 1, false},
		{"header without #", "domain,severity\nx.example,suspend\n", []string{"x.example"}, 0, false},
		{"header only", "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n", nil, 0, false},
		{"byte-order mark", "\ufeff#domain,#severity\ny.example,silence\n", []string{"y.example"}, 0, false},
		{"empty", "", nil, 0, false},
		{"binary", "a.example\x00", nil, 0, true},
		{"too large", strings.Repeat("a", ap.MaxBlocklistBytes+1), nil, 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			entries, skips, err := ap.ParseBlocklist(strings.NewReader(tt.in))
			if (err != nil) != tt.err {
				t.Fatalf("err = %v; want error %v", err, tt.err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Domain)
			}
			if !slices.Equal(got, tt.domains) || len(skips) != tt.skips {
				t.Errorf("domains %v, %d skips; want %v, %d", got, len(skips), tt.domains, tt.skips)
			}
		})
	}
}

// FuzzParseBlocklist: any input parses or fails cleanly, and every entry
// is a normalised domain with a known severity.
func FuzzParseBlocklist(f *testing.F) {
	for _, name := range []string{"mastodon-export.csv", "plain.txt"} {
		b, err := os.ReadFile("testdata/blocklists/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("#domain,#severity\n\"a.example,suspend\n"))
	f.Add([]byte("domain\n,,,\n\"\"\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, _, err := ap.ParseBlocklist(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, e := range entries {
			if d, err := ap.NormalizeHost(e.Domain); err != nil || d != e.Domain {
				t.Fatalf("entry %q is not a normalised domain (%q, %v)", e.Domain, d, err)
			}
			switch e.Severity {
			case ap.SeveritySuspend, ap.SeveritySilence, ap.SeverityNoop:
			default:
				t.Fatalf("entry %q has severity %q", e.Domain, e.Severity)
			}
		}
	})
}

// TestImportBlocklist: suspend blocks, silence mutes, noop is ignored, a
// domain listed twice counts once, and importing again changes nothing.
func TestImportBlocklist(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	f, err := os.Open("testdata/blocklists/mastodon-export.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, _, err := ap.ParseBlocklist(f)
	if err != nil {
		t.Fatal(err)
	}
	res, err := inst.Service.ImportBlocklist(ctx, entries)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Blocked, []string{"spam.example", "bad.example", "wild.example"}) ||
		!slices.Equal(res.Muted, []string{"loud.example"}) || res.Ignored != 1 || res.Unchanged != 0 {
		t.Errorf("import = %+v", res)
	}
	blocks, err := inst.DB.Blocks(ctx, true, 100)
	if err != nil {
		t.Fatal(err)
	}
	comments := map[string]string{}
	for _, b := range blocks {
		comments[b.Target] = b.Comment
	}
	if comments["spam.example"] != "spam, mostly" || len(comments) != 3 {
		t.Errorf("block list %v; want three domains, spam.example with its comment", comments)
	}
	if muted, _ := inst.DB.IsMuted(ctx, "loud.example", time.Now()); !muted {
		t.Error("loud.example is not muted")
	}
	again, err := inst.Service.ImportBlocklist(ctx, entries)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Blocked) != 0 || len(again.Muted) != 0 || again.Unchanged != 4 {
		t.Errorf("importing again = %+v; want 4 unchanged", again)
	}
}
