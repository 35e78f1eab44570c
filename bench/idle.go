package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// idleAfter measures issue 7 item 21: kith's idle RSS after a burst of
// traffic. It builds kith, creates its data with a first start, starts it
// again on that data, drives page GETs and inbox POSTs at it from several
// workers, and reads VmRSS before the burst, right after it, and after
// each idle wait. The inbox POSTs carry a signature kith refuses before
// any fetch (nothing on loopback can be asked for a key), so they exercise
// reading, capping and checking bodies, not processing.
func idleAfter(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	rounds := fs.Int("rounds", 500, "rounds per worker; each GETs three pages and POSTs one 10 KB activity")
	workers := fs.Int("workers", 8, "concurrent clients")
	waits := fs.String("waits", "10s,60s", "idle waits after the burst, each followed by a reading")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var idle []time.Duration
	for _, w := range bytes.Split([]byte(*waits), []byte(",")) {
		d, err := time.ParseDuration(string(bytes.TrimSpace(w)))
		if err != nil {
			return fmt.Errorf("-waits: %w", err)
		}
		idle = append(idle, d)
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "kith-idle-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "kith")
	if err := buildStatic(ctx, root, ".", bin, runtime.GOARCH); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	base := "http://" + listen
	args = []string{"serve", "--listen", listen, "--data", filepath.Join(tmp, "data")}
	var s *server
	for i := range 2 { // the first start creates the account; the second is measured
		if s, err = startServer(bin, args, nil); err != nil {
			return err
		}
		if _, err := waitHTTP(ctx, base+"/.well-known/nodeinfo", 5*time.Millisecond, 60*time.Second, s.exited); err != nil {
			s.kill()
			return fmt.Errorf("%w\n%s", err, s.out.String())
		}
		if i == 0 {
			if _, err := s.stop(10 * time.Second); err != nil {
				return err
			}
		}
	}
	defer s.kill()
	fmt.Fprintf(stdout, "machine: %s\n", machine())
	reading := func(when string) error {
		rss, hwm, err := procStatus(s.cmd.Process.Pid)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  %-28s VmRSS %5.1f MB  VmHWM %5.1f MB\n", when, mb(rss), mb(hwm))
		return nil
	}
	time.Sleep(time.Second)
	if err := reading("idle, 1 s after start"); err != nil {
		return err
	}
	body := bytes.Repeat([]byte(`{"type":"Note","content":"a line of text, repeated"},`), 200)
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(req *http.Request) {
		if resp, err := client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	t0 := time.Now()
	var wg sync.WaitGroup
	for range *workers {
		wg.Go(func() {
			for range *rounds {
				for _, p := range []string{"/@me", "/@me/feed.atom", "/.well-known/nodeinfo"} {
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+p, nil)
					do(req)
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/inbox", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/activity+json")
				req.Header.Set("Signature", `keyId="https://x.example/k",headers="(request-target) host date digest",signature="AAAA"`)
				do(req)
			}
		})
	}
	wg.Wait()
	fmt.Fprintf(stdout, "burst: %d workers × %d rounds (3 GETs, 1 POST of %d bytes) in %s\n",
		*workers, *rounds, len(body), time.Since(t0).Round(time.Millisecond))
	if err := reading("right after the burst"); err != nil {
		return err
	}
	var waited time.Duration
	for _, d := range idle {
		select {
		case <-time.After(d - waited):
		case <-ctx.Done():
			return ctx.Err()
		}
		waited = d
		if err := reading(fmt.Sprintf("idle %s after the burst", d)); err != nil {
			return err
		}
	}
	_, err = s.stop(10 * time.Second)
	return err
}
