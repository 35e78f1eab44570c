package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

// TestBackupUnderLoadRestores: a backup taken while another server keeps
// delivering activities to the inbox (and the inbox worker keeps
// processing them) restores, with kith restore, into a data directory
// where kith serve starts and serves the profile, and every activity the
// inbox had accepted before the backup began is in it.
func TestBackupUnderLoadRestores(t *testing.T) {
	ctx := context.Background()
	n := newNode(t, "me")
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))

	var mu sync.Mutex
	var accepted []string // activity ids answered 202, in order
	stop := make(chan struct{})
	var load sync.WaitGroup
	for w := range 2 {
		load.Go(func() {
			for i := 0; i < 500; i++ { // bounded: the test stops it long before
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("%s/statuses/%d-%d/activity", alice.IRI, w, i)
				act := map[string]any{
					"@context": "https://www.w3.org/ns/activitystreams",
					"id":       id, "type": "Create", "actor": alice.IRI,
					"to": []string{"https://www.w3.org/ns/activitystreams#Public"},
					"object": map[string]any{
						"id": strings.TrimSuffix(id, "/activity"), "type": "Note", "attributedTo": alice.IRI,
						"content":   fmt.Sprintf("<p>note %d-%d</p>", w, i),
						"published": time.Now().UTC().Format(time.RFC3339),
						"to":        []string{"https://www.w3.org/ns/activitystreams#Public"},
					},
				}
				resp, err := remote.Client.Do(alice.NewPost(t, n.urls.Inbox(), aptest.JSON(t, act), time.Now()))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					t.Errorf("inbox answered %d", resp.StatusCode)
					return
				}
				mu.Lock()
				accepted = append(accepted, id)
				mu.Unlock()
			}
		})
	}
	load.Go(func() { // the inbox worker, writing posts meanwhile
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if _, err := n.app.ap.ProcessInbox(ctx); err != nil {
				t.Error(err)
				return
			}
		}
	})
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(accepted)
	}
	for deadline := time.Now().Add(20 * time.Second); count() < 40 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	before := append([]string(nil), accepted...)
	mu.Unlock()
	if len(before) < 40 {
		t.Fatalf("only %d activities accepted in 20 s", len(before))
	}
	dir := t.TempDir()
	backup, _, err := n.app.db.BackupInto(ctx, dir, 7, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); count() < len(before)+10 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // writes go on after the backup
	}
	close(stop)
	load.Wait()
	t.Logf("%d activities accepted before the backup, %d in all", len(before), count())

	data := filepath.Join(t.TempDir(), "new-machine")
	var out bytes.Buffer
	if err := run(ctx, []string{"restore", "--data", data, backup}, env(nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "restored @me@"+n.urls.Domain()) {
		t.Errorf("restore said:\n%s", out.String())
	}

	s := startServe(t, []string{"--listen", "127.0.0.1:0", "--data", data, "--domain", n.urls.Domain()}, nil)
	resp, err := http.Get(s.base + "/@me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /@me on the restored server: %d", resp.StatusCode)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, filepath.Join(data, "kith.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Each activity accepted before the backup is still known: its
	// redelivery is taken for the duplicate it is, not stored again.
	missing := 0
	for _, id := range before {
		if added, err := db.AddInbox(ctx, &store.InboxItem{DedupKey: id, Type: "Create", Body: []byte("{}"), ReceivedAt: time.Now()}); err != nil || added {
			missing++
			t.Errorf("accepted before the backup, missing after restore: %s (%v)", id, err)
		}
	}
	if missing == 0 {
		t.Logf("all %d present", len(before))
	}
}

// TestServeBacksUpDaily: with --backup-dir, kith serve writes a backup soon
// after start and logs it; a restart within the day adds none; restore
// refuses to replace the database while the server runs, and says so.
func TestServeBacksUpDaily(t *testing.T) {
	data := t.TempDir()
	dir := filepath.Join(t.TempDir(), "backups")
	args := []string{"--listen", "127.0.0.1:0", "--data", data}
	s := startServe(t, args, map[string]string{"KITH_BACKUP_DIR": dir, "KITH_BACKUP_KEEP": "3"})
	// Only finished backups count: while VACUUM INTO runs, the directory
	// also holds its temporary file and that file's journal.
	var files []os.DirEntry
	for deadline := time.Now().Add(15 * time.Second); len(files) == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		all, _ := os.ReadDir(dir)
		files = slices.DeleteFunc(all, func(e os.DirEntry) bool { return !strings.HasPrefix(e.Name(), "kith-") })
	}
	if len(files) != 1 {
		t.Fatalf("backup directory holds %d files 15 s after start\n%s", len(files), s.stderr)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(s.stderr.String(), "backup written") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(s.stderr.String(), "backup written") {
		t.Errorf("no log line for the backup:\n%s", s.stderr)
	}
	backup := filepath.Join(dir, files[0].Name())
	fi, err := os.Stat(backup)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}

	var out bytes.Buffer
	err = run(context.Background(), []string{"restore", "--data", data, backup}, env(nil), nil, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "kith serve running") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("restore while serving: err = %v", err)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	s = startServe(t, args, map[string]string{"KITH_BACKUP_DIR": dir})
	time.Sleep(1500 * time.Millisecond)
	s.stop()
	if files, _ := os.ReadDir(dir); len(files) != 1 {
		t.Errorf("a restart within the day added a backup: %d files", len(files))
	}
	if !strings.Contains(s.stderr.String(), "daily backups on") {
		t.Errorf("the restart does not say when the next backup comes:\n%s", s.stderr)
	}

	if err := run(context.Background(), []string{"restore", "--data", data, backup}, env(nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "kith.db.before-restore") {
		t.Errorf("restore does not say where the old database went:\n%s", out.String())
	}
	err = run(context.Background(), []string{"serve", "--backup-keep", "0"}, env(nil), nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--backup-keep") {
		t.Errorf("--backup-keep 0: err = %v", err)
	}
}
