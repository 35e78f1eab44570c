package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"kith/store/storetest"
)

// startTarget is a server binary whose start-up footprint is measured.
type startTarget struct {
	name   string
	bin    string
	args   func(listen, dir string) []string
	health string // answered 200 once the server is up
	page   string // a real page, requested once before RSS is read
	// seed fills the data directory, after the first start made it and
	// with the server stopped.
	seed func(dir string) error
}

// startResults are the figures of n starts of one target.
type startResults struct {
	cold, shutdown       []float64 // seconds
	rss, anon, file, hwm []float64 // bytes: VmRSS, its RssAnon and RssFile, VmHWM
}

// footprint measures design.md §10's idle RSS, binary size and cold start
// of kith and, as their same-run floor, of bench/floorserver.
func footprint(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("footprint", flag.ContinueOnError)
	n := fs.Int("n", 15, "measured starts per server, after a first start that creates the data")
	poll := fs.Duration("poll", 500*time.Microsecond, "retry interval while the server is not answering yet")
	idle := fs.Duration("idle", time.Second, "wait after the first requests before reading RSS")
	posts := fs.Int("posts", 100_000, "remote posts in the database (and rows in the floor's), as issue 8's targets assume")
	actors := fs.Int("actors", 10_000, "remote actors writing those posts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, tmp, err := benchDir(ctx, "footprint", stdout)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "static binary, CGO_ENABLED=0 -trimpath -ldflags='-s -w' (target ≤ 25 MB; perf.md floor 13.8 MB amd64):")
	sizes := map[string]int64{}
	for _, arch := range []string{"amd64", "arm64", "arm"} {
		out := filepath.Join(tmp, "kith-"+arch)
		if err := buildStatic(ctx, root, ".", out, arch); err != nil {
			return err
		}
		fi, err := os.Stat(out)
		if err != nil {
			return err
		}
		sizes[arch] = fi.Size()
	}
	floorBin := filepath.Join(tmp, "floorserver")
	if err := buildStatic(ctx, root, "./bench/floorserver", floorBin, runtime.GOARCH); err != nil {
		return err
	}
	fi, err := os.Stat(floorBin)
	if err != nil {
		return err
	}
	for _, arch := range []string{"amd64", "arm64", "arm"} {
		fmt.Fprintf(stdout, "  kith linux/%-5s %6.2f MB  %s\n", arch, mb(sizes[arch]), verdict(mb(sizes[arch]), 25))
	}
	fmt.Fprintf(stdout, "  floor server linux/%s %.2f MB (net/http + modernc SQLite + html/template); kith/floor = %s\n\n",
		runtime.GOARCH, mb(fi.Size()), ratio(float64(sizes[runtime.GOARCH]), float64(fi.Size())))

	kith := startTarget{
		name: "kith", bin: filepath.Join(tmp, "kith-"+runtime.GOARCH),
		// The seeded posts span a year: a retention longer than that keeps
		// them all, as a steady state, instead of the default 60 days
		// making every start delete a batch of them.
		args: func(listen, dir string) []string {
			return []string{"serve", "--listen", listen, "--data", dir, "--retention", "400d"}
		},
		health: "/.well-known/nodeinfo", page: "/@me",
		seed: func(dir string) error {
			if *posts == 0 {
				return nil
			}
			return seed(func(tb testing.TB) {
				path := filepath.Join(dir, "kith.db")
				storetest.SeedHome(tb, path, storetest.SeedActors(tb, path, max(1, *actors)), *posts, seedContent)
			})
		},
	}
	floor := startTarget{
		name: "floor", bin: floorBin,
		args:   func(listen, dir string) []string { return []string{"-listen", listen, "-data", dir} },
		health: "/healthz", page: "/",
		seed: func(dir string) error { return seedFloorPosts(filepath.Join(dir, "floor.db"), *posts) },
	}
	results := map[string]*startResults{}
	// Interleaved, so that a noisy neighbour hits both alike.
	for _, t := range []startTarget{kith, floor} {
		r, err := measureStarts(ctx, t, tmp, 1, *poll, *idle, true)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		results[t.name] = r
	}
	for i := 1; i < *n; i++ {
		for _, t := range []startTarget{kith, floor} {
			r, err := measureStarts(ctx, t, tmp, 1, *poll, *idle, false)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			results[t.name].add(r)
		}
	}
	k, f := results["kith"], results["floor"]
	cold, fcold := summarize(k.cold), summarize(f.cold)
	rss, frss := summarize(k.rss), summarize(f.rss)
	hwm, fhwm := summarize(k.hwm), summarize(f.hwm)
	anon, fanon := summarize(k.anon), summarize(f.anon)
	file, ffile := summarize(k.file), summarize(f.file)
	shut := summarize(k.shutdown)
	fmt.Fprintf(stdout, "database: %d remote posts by %d actors in kith's, %d rows in the floor's\n\n", *posts, *actors, *posts)
	fmt.Fprintf(stdout, "cold start, exec → first 200 on %s, existing database (target ≤ 50 ms; perf.md floor 8.5 ms):\n", kith.health)
	fmt.Fprintf(stdout, "  kith  %s\n  floor %s\n  ratio %s  %s\n\n", cold.format(1e-3, "ms", 1), fcold.format(1e-3, "ms", 1),
		ratio(cold.median, fcold.median), verdict(cold.median, 0.050))
	fmt.Fprintf(stdout, "idle RSS, %s after the first answer and one GET %s (target ≤ 20 MB; perf.md floor 13.2 MB):\n", *idle, kith.page)
	fmt.Fprintf(stdout, "  kith  VmRSS %s, VmHWM %s\n        RssAnon %s, RssFile %s\n  floor VmRSS %s, VmHWM %s\n        RssAnon %s, RssFile %s\n  ratio %s  %s\n\n",
		rss.format(1<<20, "MB", 1), hwm.format(1<<20, "MB", 1), anon.format(1<<20, "MB", 1), file.format(1<<20, "MB", 1),
		frss.format(1<<20, "MB", 1), fhwm.format(1<<20, "MB", 1), fanon.format(1<<20, "MB", 1), ffile.format(1<<20, "MB", 1),
		ratio(rss.median, frss.median), verdict(rss.median, 20<<20))
	fmt.Fprintf(stdout, "SIGTERM → exit status 0: every one of %d starts; shutdown %s\n", k.n(), shut.format(1e-3, "ms", 1))
	return nil
}

func (r *startResults) add(o *startResults) {
	r.cold = append(r.cold, o.cold...)
	r.rss = append(r.rss, o.rss...)
	r.anon = append(r.anon, o.anon...)
	r.file = append(r.file, o.file...)
	r.hwm = append(r.hwm, o.hwm...)
	r.shutdown = append(r.shutdown, o.shutdown...)
}

func (r *startResults) n() int { return len(r.cold) }

// seedContent is a remote post's HTML, as long as a typical Mastodon post.
const seedContent = `<p>Moved my little server to a Raspberry Pi 4 this weekend; it idles at a few megabytes. ` +
	`<a href="https://remote.example/tags/selfhosting" class="mention hashtag" rel="tag">#<span>selfhosting</span></a></p>` +
	`<p>The WAL file stays small, and backups are one file.</p>`

// seedFloorPosts gives the floor's table n rows of the same content.
func seedFloorPosts(path string, n int) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := tx.Prepare(`INSERT INTO posts (content) VALUES (?)`)
	if err != nil {
		return err
	}
	for range n {
		if _, err := ins.Exec(seedContent); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// measureStarts starts t n times on a data directory of its own (first,
// when first is set, once untimed to create the data) and measures each
// start: exec until the first 200, the RSS after idle, and a clean exit on
// SIGTERM.
func measureStarts(ctx context.Context, t startTarget, tmp string, n int, poll, idle time.Duration, first bool) (*startResults, error) {
	dir := filepath.Join(tmp, "data-"+t.name)
	portFile := filepath.Join(tmp, "port-"+t.name)
	var port int
	if first {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		port = p
		if err := os.WriteFile(portFile, []byte(strconv.Itoa(port)), 0o600); err != nil {
			return nil, err
		}
	} else {
		b, err := os.ReadFile(portFile)
		if err != nil {
			return nil, err
		}
		port, _ = strconv.Atoi(string(b))
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	base := "http://" + listen

	if first {
		s, err := startServer(t.bin, t.args(listen, dir), nil)
		if err != nil {
			return nil, err
		}
		if _, err := waitHTTP(ctx, base+t.health, 5*time.Millisecond, 60*time.Second, s.exited); err != nil {
			s.kill()
			return nil, fmt.Errorf("first start: %w\n%s", err, s.out.String())
		}
		if _, err := s.stop(10 * time.Second); err != nil {
			return nil, fmt.Errorf("first start: %w", err)
		}
		if t.seed != nil {
			if err := t.seed(dir); err != nil {
				return nil, fmt.Errorf("seed: %w", err)
			}
		}
	}

	r := &startResults{}
	for range n {
		t0 := time.Now()
		s, err := startServer(t.bin, t.args(listen, dir), nil)
		if err != nil {
			return nil, err
		}
		ready, err := waitHTTP(ctx, base+t.health, poll, 10*time.Second, s.exited)
		if err != nil {
			s.kill()
			return nil, fmt.Errorf("%w\n%s", err, s.out.String())
		}
		if _, err := getOK(base + t.page); err != nil {
			s.kill()
			return nil, err
		}
		select {
		case <-time.After(idle): // let the process settle, as an idle server would
		case <-ctx.Done():
			s.kill()
			return nil, ctx.Err()
		}
		m, err := procMemory(s.cmd.Process.Pid)
		if err != nil {
			s.kill()
			return nil, err
		}
		shutdown, err := s.stop(5 * time.Second)
		if err != nil {
			return nil, err
		}
		r.cold = append(r.cold, ready.Sub(t0).Seconds())
		r.rss = append(r.rss, float64(m.rss))
		r.anon = append(r.anon, float64(m.anon))
		r.file = append(r.file, float64(m.file))
		r.hwm = append(r.hwm, float64(m.hwm))
		r.shutdown = append(r.shutdown, shutdown.Seconds())
	}
	return r, nil
}
