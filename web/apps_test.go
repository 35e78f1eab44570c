package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

// TestAppsPage: the owner sees the apps holding a token, from the
// settings index, and revoking one ends its tokens at once.
func TestAppsPage(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	ctx := context.Background()
	now := time.Now()
	app := &store.ClientApp{ClientID: "cid", SecretHash: store.HashSecret("secret"), Name: "Ice Cubes", Website: "https://icecubes.example", RedirectURIs: []string{"icecubesapp://"}, Scopes: "read write", CreatedAt: now}
	if err := k.inst.DB.AddClientApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	unused := &store.ClientApp{ClientID: "cid2", SecretHash: "x", Name: "Never Authorized", Scopes: "read", CreatedAt: now}
	if err := k.inst.DB.AddClientApp(ctx, unused); err != nil {
		t.Fatal(err)
	}
	tok := &store.AccessToken{Hash: store.HashSecret("token"), App: *app, Scopes: "read write", Owner: true, CreatedAt: now}
	if err := k.inst.DB.AddAccessToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if rec := k.get("/settings/apps"); rec.Code != http.StatusSeeOther {
		t.Errorf("a visitor: status %d", rec.Code)
	}
	k.login()
	if body := k.get("/settings").Body.String(); !strings.Contains(body, `href="/settings/apps"`) || !strings.Contains(body, "1 app with access") {
		t.Errorf("the settings index does not list the apps")
	}
	body := k.get("/settings/apps").Body.String()
	if !strings.Contains(body, "Ice Cubes") || strings.Contains(body, "Never Authorized") {
		t.Fatalf("apps page:\n%s", body)
	}
	rec := k.post("/settings/apps", url.Values{"app": {strconv.FormatInt(app.ID, 10)}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("revoke: status %d", rec.Code)
	}
	if _, err := k.inst.DB.AccessTokenByHash(ctx, tok.Hash); err != store.ErrNotFound {
		t.Errorf("the token survived: %v", err)
	}
	if body := k.get("/settings/apps?revoked=1").Body.String(); strings.Contains(body, "Ice Cubes") || !strings.Contains(body, "revoked") {
		t.Errorf("after revoking:\n%s", body)
	}
}
