package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kith/ap/aptest"
)

// TestFollowCommandPrintsState: kith follow says the follow is requested
// (and that a locked account approves by hand), following an account
// already followed says so, and kith unfollow says the follow is gone, or
// that a turned-down request was forgotten.
func TestFollowCommandPrintsState(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	bob := remote.AddActor("bob", aptest.Key(t, "remote2"))
	bob.Extra = map[string]any{"manuallyApprovesFollowers": true}

	say := func(cmd, target string) string {
		t.Helper()
		var out bytes.Buffer
		if err := changeFollow(ctx, inst.Service, cmd, target, &out); err != nil {
			t.Fatalf("%s %s: %v", cmd, target, err)
		}
		return out.String()
	}
	answer := func(a *aptest.RemoteActor, typ string) {
		t.Helper()
		inst.Service.Deliverer().RunOnce(ctx)
		var follow any
		for _, r := range remote.Received() {
			if r.Type() == "Follow" && r.Activity["object"] == a.IRI {
				follow = r.Activity["id"]
			}
		}
		a.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams", "id": a.IRI + "#answer", "type": typ,
			"actor": a.IRI, "object": follow,
		}))
		inst.Service.ProcessInbox(ctx)
	}

	if out := say("follow", "@alice@"+remote.Host); !strings.Contains(out, "now: requested until their server accepts") {
		t.Errorf("follow printed %q", out)
	}
	answer(alice, "Accept")
	if out := say("follow", alice.IRI); !strings.Contains(out, "you already follow @alice@"+remote.Host+"; now: following") {
		t.Errorf("following again printed %q", out)
	}
	if out := say("unfollow", "@alice@"+remote.Host); !strings.Contains(out, "unfollowed @alice@"+remote.Host+"; now: not following") {
		t.Errorf("unfollow printed %q", out)
	}
	if out := say("follow", "@bob@"+remote.Host); !strings.Contains(out, "approves followers by hand; now: requested") {
		t.Errorf("following a locked account printed %q", out)
	}
	answer(bob, "Reject")
	if out := say("unfollow", bob.IRI); !strings.Contains(out, "which they had turned down; now: not following") {
		t.Errorf("unfollowing a rejected request printed %q", out)
	}
	var out bytes.Buffer
	if err := changeFollow(ctx, inst.Service, "unfollow", bob.IRI, &out); err == nil {
		t.Error("unfollowing an account not followed worked; want an error")
	}
}

// TestImportBlocksCommand: kith import-blocks reads a Mastodon CSV export
// into an existing installation, prints what it blocked and muted and the
// lines it could not use, and a second run changes nothing.
func TestImportBlocksCommand(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, []string{"--listen", "127.0.0.1:0", "--data", data}, nil)
	s.stop()
	ctx := context.Background()
	list := filepath.Join("ap", "testdata", "blocklists", "mastodon-export.csv")
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"import-blocks", "--data", data, list}, env(nil), nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"blocked spam.example\n", "blocked bad.example\n", "muted   loud.example\n",
		"kith: Blocked 3 servers, muted 1 server; 0 already as the list asks, 1 marked noop; 2 lines could not be used."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errOut.String(), "line 6: ha*ss.example (obfuscated name") {
		t.Errorf("the unusable lines are not reported:\n%s", errOut.String())
	}
	out.Reset()
	if err := run(ctx, []string{"import-blocks", "--data", data, list}, env(nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Blocked 0 servers, muted 0 servers; 4 already") {
		t.Errorf("a second import printed:\n%s", out.String())
	}
	missing := filepath.Join(t.TempDir(), "nope.csv")
	if err := run(ctx, []string{"import-blocks", "--data", data, missing}, env(nil), nil, io.Discard, io.Discard); !os.IsNotExist(err) {
		t.Errorf("a missing file: err = %v; want not found", err)
	}
	if err := run(ctx, []string{"import-blocks", "--data", data}, env(nil), nil, io.Discard, io.Discard); err == nil {
		t.Error("import-blocks without a file worked")
	}
}
