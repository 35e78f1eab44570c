package ap_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
)

// TestExportImportCSV: Mastodon's CSV exports written by one kith and
// read by a second give the same follows (re-followed through the
// delivery queue), blocks, mutes and domain blocks; a second import of
// the same files changes nothing; a file that is none of them is refused.
func TestExportImportCSV(t *testing.T) {
	e := newReadEnv(t) // the owner follows alice
	ctx := context.Background()
	if _, err := e.inst.Service.Block(ctx, e.mallory.IRI); err != nil {
		t.Fatal(err)
	}
	if _, err := e.inst.Service.Mute(ctx, e.bob.IRI); err != nil {
		t.Fatal(err)
	}
	if _, err := e.inst.Service.BlockDomain(ctx, "spam.example", ""); err != nil {
		t.Fatal(err)
	}
	note := e.note(e.alice, "p", "keep this", nil)
	e.create(e.alice, note)
	e.remote.SetDocument("/users/alice/statuses/p", note)
	if err := e.inst.Service.Bookmark(ctx, e.alice.IRI+"/statuses/p"); err != nil {
		t.Fatal(err)
	}
	export := func(inst *aptest.Instance) map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, name := range ap.ExportNames {
			var b bytes.Buffer
			if err := inst.Service.ExportCSV(ctx, name, &b); err != nil {
				t.Fatal(err)
			}
			out[name] = b.String()
		}
		return out
	}
	files := export(e.inst)
	want := map[string]string{
		ap.ImportFollowing:      "Account address,Show boosts,Notify on new posts,Languages\nalice@" + e.remote.Host + ",true,false,\n",
		ap.ImportBlockedAccount: "mallory@" + e.other.Host + "\n",
		ap.ImportMutedAccounts:  "Account address,Hide notifications\nbob@" + e.remote.Host + ",true\n",
		ap.ImportBlockedDomains: "spam.example\n",
		ap.ImportBookmarks:      e.alice.IRI + "/statuses/p\n",
	}
	for name, w := range want {
		if files[name] != w {
			t.Errorf("%s =\n%q\nwant\n%q", name, files[name], w)
		}
	}

	second := aptest.NewInstance(t, aptest.InstanceOptions{Now: e.clock.Now})
	for round := range 2 {
		for _, name := range ap.ExportNames {
			res, err := second.Service.ImportCSV(ctx, name, strings.NewReader(files[name]), nil)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(res.Failed) > 0 {
				t.Errorf("%s: failures %v", name, res.Failed)
			}
			if round == 1 && res.Applied != 0 {
				t.Errorf("second import of %s applied %d rows; want none", name, res.Applied)
			}
		}
	}
	if f, err := second.DB.Following(ctx, e.alice.IRI); err != nil || f.State != store.Pending {
		t.Errorf("following alice on the second instance: %+v, %v; want a Follow sent", f, err)
	}
	second.Service.Deliverer().RunOnce(ctx)
	follows := 0
	for _, r := range e.remote.Received() {
		if r.Type() == "Follow" {
			follows++
		}
	}
	if follows != 1 {
		t.Errorf("alice's server got %d Follows; want 1 after two imports", follows)
	}
	// The follow is accepted on the second instance as alice's server would.
	if err := second.DB.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.AcceptFollowing(ctx, "", e.alice.IRI)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got := export(second)
	for _, name := range ap.ExportNames {
		if got[name] != files[name] {
			t.Errorf("%s after export and import =\n%q\nwant\n%q", name, got[name], files[name])
		}
	}

	_, err := second.Service.ImportCSV(ctx, "notes.csv", strings.NewReader("a,b\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "not one of Mastodon's exports") {
		t.Errorf("importing an unknown file: %v; want a refusal", err)
	}
}
