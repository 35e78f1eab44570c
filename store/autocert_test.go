package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"golang.org/x/crypto/acme/autocert"

	"kith/store/storetest"
)

// TestCertCache: what autocert stores comes back, is replaced, survives a
// backup, and a miss is autocert.ErrCacheMiss.
func TestCertCache(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	c := db.CertCache()
	if _, err := c.Get(ctx, "social.example.org"); !errors.Is(err, autocert.ErrCacheMiss) {
		t.Fatalf("Get of nothing: %v; want ErrCacheMiss", err)
	}
	for _, v := range []string{"first", "renewed"} {
		if err := c.Put(ctx, "social.example.org", []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Put(ctx, "acme_account+key", []byte("key")); err != nil {
		t.Fatal(err)
	}
	backup := t.TempDir() + "/b.db"
	if err := db.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "acme_account+key"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "acme_account+key"); !errors.Is(err, autocert.ErrCacheMiss) {
		t.Errorf("Get after Delete: %v", err)
	}
	restored := storetest.OpenAt(t, backup).CertCache()
	for name, want := range map[string]string{"social.example.org": "renewed", "acme_account+key": "key"} {
		if got, err := restored.Get(ctx, name); err != nil || !bytes.Equal(got, []byte(want)) {
			t.Errorf("backup: Get(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
}
