package ap_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
)

// homePost stores a post of a and puts it on the home timeline.
func homePost(t *testing.T, inst *aptest.Instance, a *aptest.RemoteActor) {
	t.Helper()
	ctx := context.Background()
	err := inst.DB.Update(ctx, func(tx *store.Tx) error {
		p := &store.Post{IRI: a.IRI + "/statuses/1", AuthorIRI: a.IRI, Type: "Note", ContentHTML: "<p>hi</p>",
			Visibility: store.Public, Published: time.Now()}
		if err := tx.PutPost(ctx, p); err != nil {
			return err
		}
		return tx.AddToHome(ctx, p, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBlockAccount: the owner follows alice and alice follows the owner;
// blocking her sends the Undo of our Follow, a Reject of hers
// and the Block (golden), ends both follows and takes her posts off the
// home timeline (the deliverer may send them in any order); blocking again sends nothing; unblocking sends an Undo
// embedding the same Block (golden) and lifts it.
func TestBlockAccount(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{NewID: aptest.Sequence("id")})
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	alice.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(alice, inst, "1")))
	inst.Service.ProcessInbox(ctx)
	if _, err := inst.Service.Follow(ctx, "@alice@"+remote.Host); err != nil {
		t.Fatal(err)
	}
	inst.Service.Deliverer().RunOnce(ctx)
	seen := len(remote.Received())
	homePost(t, inst, alice)

	if _, err := inst.Service.Block(ctx, alice.IRI); err != nil {
		t.Fatal(err)
	}
	inst.Service.Deliverer().RunOnce(ctx)
	got := remote.Received()[seen:]
	byType := map[string]aptest.Received{}
	for _, r := range got {
		byType[r.Type()] = r
		if r.VerifyErr != nil {
			t.Errorf("%s: signature rejected: %v", r.Type(), r.VerifyErr)
		}
	}
	if len(got) != 3 || len(byType) != 3 || byType["Undo"].Body == nil || byType["Reject"].Body == nil || byType["Block"].Body == nil {
		t.Fatalf("blocking sent %d activities of %d types; want an Undo, a Reject and a Block", len(got), len(byType))
	}
	aptest.Golden(t, *update, "block.json", byType["Block"].Body, inst.URLs.Domain(), "kith.test", remote.Host, "remote.test")
	if _, err := inst.DB.Following(ctx, alice.IRI); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("still following alice after the block: %v", err)
	}
	if _, err := inst.DB.Follower(ctx, alice.IRI); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("alice still follows after the block: %v", err)
	}
	if home, err := inst.DB.Home(ctx, store.HomeQuery{}); err != nil || len(home) != 0 {
		t.Errorf("home after the block: %d entries, %v; want none", len(home), err)
	}
	if blocked, _ := inst.DB.IsBlocked(ctx, alice.IRI); !blocked {
		t.Error("alice is not on the block list")
	}
	if _, err := inst.Service.Follow(ctx, alice.IRI); err == nil {
		t.Error("following a blocked account worked; want it refused")
	}

	seen = len(remote.Received())
	if _, err := inst.Service.Block(ctx, "@alice@"+remote.Host); err != nil {
		t.Fatal(err)
	}
	inst.Service.Deliverer().RunOnce(ctx)
	if n := len(remote.Received()) - seen; n != 0 {
		t.Errorf("blocking twice sent %d activities; want none", n)
	}

	if _, err := inst.Service.Unblock(ctx, alice.IRI); err != nil {
		t.Fatal(err)
	}
	inst.Service.Deliverer().RunOnce(ctx)
	got = remote.Received()[seen:]
	if len(got) != 1 || got[0].Type() != "Undo" {
		t.Fatalf("unblocking sent %d activities; want one Undo", len(got))
	}
	aptest.Golden(t, *update, "undo-block.json", got[0].Body, inst.URLs.Domain(), "kith.test", remote.Host, "remote.test")
	if blocked, _ := inst.DB.IsBlocked(ctx, alice.IRI); blocked {
		t.Error("alice is still blocked")
	}
	if _, err := inst.Service.Unblock(ctx, alice.IRI); !errors.Is(err, ap.ErrNotBlocked) {
		t.Errorf("unblocking twice: %v; want ErrNotBlocked", err)
	}
}

// TestMuteSendsNothing: a mute hides the account's posts from the home
// timeline and tells nobody; unmuting shows them again.
func TestMuteSendsNothing(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	if _, err := inst.Service.Follow(ctx, "@alice@"+remote.Host); err != nil {
		t.Fatal(err)
	}
	inst.Service.Deliverer().RunOnce(ctx)
	seen := len(remote.Received())
	homePost(t, inst, alice)
	homeLen := func() int {
		t.Helper()
		h, err := inst.DB.Home(ctx, store.HomeQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return len(h)
	}
	if _, err := inst.Service.Mute(ctx, alice.IRI); err != nil {
		t.Fatal(err)
	}
	if n := homeLen(); n != 0 {
		t.Errorf("home shows %d posts of a muted account", n)
	}
	inst.Service.Deliverer().RunOnce(ctx)
	if n := len(remote.Received()) - seen; n != 0 {
		t.Errorf("muting sent %d activities; want none", n)
	}
	if _, err := inst.Service.Unmute(ctx, alice.IRI); err != nil {
		t.Fatal(err)
	}
	if n := homeLen(); n != 1 {
		t.Errorf("home shows %d posts after unmuting; want 1", n)
	}
	if _, err := inst.Service.Unmute(ctx, alice.IRI); !errors.Is(err, ap.ErrNotMuted) {
		t.Errorf("unmuting twice: %v; want ErrNotMuted", err)
	}

	// A muted host hides its accounts too.
	if _, err := inst.Service.MuteDomain(ctx, remote.Host); err != nil {
		t.Fatal(err)
	}
	if n := homeLen(); n != 0 {
		t.Errorf("home shows %d posts of a muted host", n)
	}
}

// TestBlockDomain: blocking a server ends every follow with its accounts
// both ways without telling them, drops what was queued for it, and makes
// later activities skip its inboxes; its activities are refused at the
// inbox. Lifting the block lets deliveries through again.
func TestBlockDomain(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	remote := aptest.NewRemote(t, true)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	bob := remote.AddActor("bob", aptest.Key(t, "remote2"))
	for _, a := range []*aptest.RemoteActor{alice, bob} {
		a.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, follow(a, inst, "1")))
	}
	inst.Service.ProcessInbox(ctx)
	if _, err := inst.Service.Follow(ctx, alice.IRI); err != nil {
		t.Fatal(err)
	}
	// Queued, not yet sent.
	if _, err := inst.Service.Publish(ctx, ap.Draft{Source: "queued before the block"}); err != nil {
		t.Fatal(err)
	}
	res, err := inst.Service.BlockDomain(ctx, "HTTPS://"+remote.Host+"/about", "spam")
	if err != nil {
		t.Fatal(err)
	}
	if !res.New || res.Host != remote.Host || res.FollowsRemoved != 3 {
		t.Errorf("BlockDomain = %+v; want new, host %s, 3 follows removed", res, remote.Host)
	}
	if _, err := inst.Service.Publish(ctx, ap.Draft{Source: "after the block, mentioning @alice@" + remote.Host}); err != nil {
		t.Fatal(err)
	}
	inst.Service.Deliverer().RunOnce(ctx)
	if got := remote.Received(); len(got) != 0 {
		t.Errorf("the blocked server got %d activities (first %s); want none", len(got), got[0].Type())
	}
	for _, a := range []*aptest.RemoteActor{alice, bob} {
		if _, err := inst.DB.Follower(ctx, a.IRI); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s still follows after the domain block", a.Name)
		}
	}
	if res, err := inst.Service.BlockDomain(ctx, remote.Host, ""); err != nil || res.New {
		t.Errorf("blocking twice: %+v, %v; want not new", res, err)
	}
	if _, err := inst.Service.BlockDomain(ctx, inst.URLs.Domain(), ""); err == nil {
		t.Error("kith blocked its own domain")
	}
	// Subdomains of a blocked domain are blocked too, as on Mastodon.
	if _, err := inst.Service.BlockDomain(ctx, "spam.example", ""); err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{"media.spam.example": true, "spam.example": true, "notspam.example": false, "example": false} {
		if got, err := inst.Service.IsDomainBlocked(ctx, host); err != nil || got != want {
			t.Errorf("IsDomainBlocked(%s) = %v, %v; want %v", host, got, err, want)
		}
	}
	if err := inst.Service.UnblockDomain(ctx, remote.Host); err != nil {
		t.Fatal(err)
	}
	if err := inst.Service.UnblockDomain(ctx, remote.Host); !errors.Is(err, ap.ErrNotBlocked) {
		t.Errorf("unblocking twice: %v; want ErrNotBlocked", err)
	}
	if _, err := inst.Service.Publish(ctx, ap.Draft{Source: "after lifting, @alice@" + remote.Host}); err != nil {
		t.Fatal(err)
	}
	inst.Service.Deliverer().RunOnce(ctx)
	if got := remote.Received(); len(got) != 1 || got[0].Type() != "Create" {
		t.Errorf("after lifting the block the server got %d activities; want the Create", len(got))
	}
}

// TestNormalizeHost: what people and lists write for a server.
func TestNormalizeHost(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Example.COM", "example.com"},
		{" example.com. ", "example.com"},
		{"*.example.com", "example.com"},
		{"https://example.com/about/more", "example.com"},
		{"example.com:8443", "example.com:8443"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"exa*ple.com", ""},
		{"user@example.com", ""},
		{"example", ""},
		{"", ""},
		{"a..b", ""},
		{"https://", ""},
		{"ex ample.com", ""},
	} {
		got, err := ap.NormalizeHost(tt.in)
		if tt.want == "" && err == nil {
			t.Errorf("NormalizeHost(%q) = %q; want an error", tt.in, got)
		} else if tt.want != "" && (err != nil || got != tt.want) {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestTimedMuteEndsOnTime: with kith running, a timed mute is deleted at
// its end by the timer runMuteExpiry sets, not at the next hourly
// housekeeping, and the account's posts are back on the home timeline.
func TestTimedMuteEndsOnTime(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	homePost(t, inst, alice)
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { inst.Service.Run(runCtx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	const d = 300 * time.Millisecond
	start := time.Now()
	if _, err := inst.Service.MuteFor(ctx, alice.IRI, true, d); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the mute to end", func() bool {
		_, ok, err := inst.DB.NextMuteExpiry(ctx)
		return err == nil && !ok
	})
	if took := time.Since(start); took < d {
		t.Errorf("the mute ended after %v; want %v at least", took, d)
	}
	home, err := inst.DB.Home(ctx, store.HomeQuery{})
	if err != nil || len(home) != 1 || home[0].Post.AuthorIRI != alice.IRI {
		t.Errorf("home after the mute = %v, %v; want alice's post", home, err)
	}
}
