//go:build unix

package ap_test

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"kith/ap/aptest"
	"kith/store/archive"
)

// BenchmarkImportArchive measures issue 10's "import of an archive with
// 10,000 posts and 2,000 follows" (target: under a minute, at most 64 MB):
// a Mastodon-layout zip made from a real post, the follows resolved
// through WebFinger on a fake server on loopback. It reports the
// process's peak RSS (getrusage), which covers the fake server and the
// archive's making too: `go run ./bench import` measures the import alone,
// in a process of its own, for docs/benchmarks.md.
//
//	go test -run='^$' -bench=ImportArchive -benchtime=1x ./ap
func BenchmarkImportArchive(b *testing.B) {
	const posts, follows = 10_000, 2_000
	note := fixture(b, "mastodon-note-attachment-mention.json")
	var n map[string]any
	if err := json.Unmarshal(note, &n); err != nil {
		b.Fatal(err)
	}
	delete(n, "inReplyTo")
	remote := aptest.NewRemote(b, true)
	key := aptest.Key(b, "remote")
	var csv strings.Builder
	csv.WriteString("Account address,Show boosts,Notify on new posts,Languages\n")
	for i := range follows {
		remote.AddActor(fmt.Sprintf("u%d", i), key)
		fmt.Fprintf(&csv, "u%d@%s,true,false,\n", i, remote.Host)
	}
	path := filepath.Join(b.TempDir(), "archive.zip")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, _ := zw.Create("outbox.json")
	w.Write([]byte(`{"type":"OrderedCollection","orderedItems":[`))
	for i := range posts {
		n["id"] = fmt.Sprintf("https://floss.social/users/kde/statuses/%d", i)
		n["published"] = fmt.Sprintf("2020-01-01T00:%02d:%02dZ", i/60%60, i%60)
		obj, _ := json.Marshal(n)
		if i > 0 {
			w.Write([]byte(","))
		}
		fmt.Fprintf(w, `{"type":"Create","object":%s}`, obj)
	}
	w.Write([]byte("]}"))
	w, _ = zw.Create("following_accounts.csv")
	w.Write([]byte(csv.String()))
	zw.Close()
	f.Close()
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		inst := aptest.NewInstance(b, aptest.InstanceOptions{})
		b.StartTimer()
		a, err := archive.Open(path, archive.DefaultLimits)
		if err != nil {
			b.Fatal(err)
		}
		res, err := inst.Service.ImportArchive(ctx, a, nil)
		a.Close()
		if err != nil {
			b.Fatal(err)
		}
		if res.Posts != posts || len(res.CSV) != 1 || res.CSV[0].Applied != follows {
			b.Fatalf("imported %d posts, %+v", res.Posts, res.CSV)
		}
	}
	b.StopTimer()
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-MB")
	}
}
