package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"kith/ap"
	"kith/ap/safenet"
	"kith/store"
)

// fanoutDomain is the kith instance's domain in the fan-out. Nothing
// fetches from it: the fake instances are given its key.
const fanoutDomain = "kith.bench.example"

// pinnedEnv marks the re-executed, CPU-pinned parent of fanout -pin.
const pinnedEnv = "KITH_BENCH_PINNED"

// fanoutOptions are the flags of fanout.
type fanoutOptions struct {
	servers, followers, rounds, workers int
	poll                                time.Duration
	delays                              []time.Duration
	pin                                 bool
	cpuprofile                          string
}

// fanoutRound is what one round measured.
type fanoutRound struct {
	wall       time.Duration // Publish until every server had its POST
	queueEmpty time.Duration // Publish until the queue was empty (every answer handled)
	cpu        time.Duration // the kith side's CPU over queueEmpty
	stats      serversStats
}

// child is the process running the fake instances.
type child struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	all   chan struct{} // "all": every server got a POST
	resp  chan string   // answers to commands
	ports []int
}

// fanout measures design.md §10's "fan-out: 10,000 followers on 500
// servers (shared inboxes) ≤ 2 s, exactly 500 requests" and "CPU per
// delivery to a new host ≤ 2.5 ms", with a bare client doing the same
// signatures and handshakes as the same-run floor.
func fanout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fanout", flag.ContinueOnError)
	var o fanoutOptions
	fs.IntVar(&o.servers, "servers", 500, "fake instances, each a TLS server on its own loopback port")
	fs.IntVar(&o.followers, "followers", 10_000, "followers, spread evenly over the servers, all with the server's shared inbox")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds per variant, each on a fresh database")
	fs.IntVar(&o.workers, "workers", 0, "deliverer workers; 0 means kith's default")
	fs.DurationVar(&o.poll, "poll", 0, "deliverer queue poll interval; 0 means kith's default")
	delays := fs.String("delays", "0,50ms", "comma-separated answer delays of the fake instances, one variant each")
	fs.BoolVar(&o.pin, "pin", false, "run the kith side on CPU 0 and the fake instances on CPU 1 (taskset), as perf.md's 1-core rows")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the kith side of each round to FILE.DELAY.ROUND")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for d := range strings.SplitSeq(*delays, ",") {
		dd, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil {
			return fmt.Errorf("-delays: %w", err)
		}
		o.delays = append(o.delays, dd)
	}
	if o.pin && os.Getenv(pinnedEnv) == "" {
		// Re-run this command on CPU 0; the child goes to CPU 1.
		self, err := os.Executable()
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, "taskset", append([]string{"-c", "0", self, "fanout"}, args...)...)
		cmd.Env = append(os.Environ(), pinnedEnv+"=1")
		cmd.Stdout, cmd.Stderr = stdout, stderr
		return cmd.Run()
	}

	fmt.Fprintf(stdout, "machine: %s\n", machine())
	pki, err := newPKI()
	if err != nil {
		return err
	}
	acct, err := ap.NewAccount(fanoutDomain, "me", "", time.Now())
	if err != nil {
		return err
	}
	urls := ap.NewURLs(fanoutDomain, "me")
	c, err := startChild(ctx, o, pki, acct.PublicKeyPEM, urls.KeyID())
	if err != nil {
		return err
	}
	defer c.close()
	where := "whole box: kith side and fake instances share the cores"
	if o.pin {
		where = "pinned: kith side on CPU 0 (GOMAXPROCS=" + fmt.Sprint(runtime.GOMAXPROCS(0)) + "), fake instances on CPU 1"
	}
	fmt.Fprintf(stdout, "%d followers on %d TLS servers (shared inboxes), %s\n", o.followers, o.servers, where)
	key, err := ap.ParsePrivateKey(acct.PrivateKeyPEM)
	if err != nil {
		return err
	}

	var failed []string
	check := func(who string, delay time.Duration, round int, s serversStats) {
		if err := checkStats(s, o.servers); err != nil {
			msg := fmt.Sprintf("%s, delay %s, round %d: %v", who, delay, round+1, err)
			failed = append(failed, msg)
			fmt.Fprintln(stdout, "  CHECK FAILED:", msg)
		}
	}
	for _, delay := range o.delays {
		var kith, floor []fanoutRound
		var body []byte
		for r := range o.rounds {
			res, b, err := kithRound(ctx, o, c, pki, acct, delay, r)
			if err != nil {
				return fmt.Errorf("kith round %d (delay %s): %w", r+1, delay, err)
			}
			body = b
			kith = append(kith, res)
			fmt.Fprintf(stdout, "  delay %-5s kith  round %d: all received %7.1f ms, queue empty %7.1f ms, CPU %7.1f ms (%.2f ms/delivery), %d requests, %d bad signatures, %v\n",
				delay, r+1, ms(res.wall), ms(res.queueEmpty), ms(res.cpu), ms(res.cpu)/float64(o.servers), res.stats.Total, res.stats.BadSig, res.stats.Protos)
			check("kith", delay, r, res.stats)
			fres, err := floorRound(ctx, o, c, pki, key, urls.KeyID(), body, delay)
			if err != nil {
				return fmt.Errorf("floor round %d (delay %s): %w", r+1, delay, err)
			}
			floor = append(floor, fres)
			fmt.Fprintf(stdout, "  delay %-5s floor round %d: all received %7.1f ms, all answered %7.1f ms, CPU %7.1f ms (%.2f ms/delivery), %d requests, %d bad signatures, %v\n",
				delay, r+1, ms(fres.wall), ms(fres.queueEmpty), ms(fres.cpu), ms(fres.cpu)/float64(o.servers), fres.stats.Total, fres.stats.BadSig, fres.stats.Protos)
			check("floor", delay, r, fres.stats)
		}
		pick := func(rs []fanoutRound, f func(fanoutRound) float64) summary {
			var xs []float64
			for _, r := range rs {
				xs = append(xs, f(r))
			}
			return summarize(xs)
		}
		wall := func(r fanoutRound) float64 { return r.wall.Seconds() }
		done := func(r fanoutRound) float64 { return r.queueEmpty.Seconds() }
		per := func(r fanoutRound) float64 { return r.cpu.Seconds() / float64(o.servers) }
		kw, fw := pick(kith, wall), pick(floor, wall)
		kd, fd := pick(kith, done), pick(floor, done)
		kc, fc := pick(kith, per), pick(floor, per)
		fmt.Fprintf(stdout, "\nfan-out, remotes answer after %s, %d rounds, fresh database each:\n", delay, o.rounds)
		fmt.Fprintf(stdout, "  wall until every server had its POST: kith %s; floor %s; ratio %s; target ≤ 2 s: %s\n",
			kw.format(1e-3, "ms", 0), fw.format(1e-3, "ms", 0), ratio(kw.median, fw.median), verdict(kw.median, 2))
		fmt.Fprintf(stdout, "  wall until every answer was handled:  kith %s; floor %s\n", kd.format(1e-3, "ms", 0), fd.format(1e-3, "ms", 0))
		fmt.Fprintf(stdout, "  CPU per delivery to a new host:       kith %s; floor %s; ratio %s; target ≤ 2.5 ms: %s\n\n",
			kc.format(1e-3, "ms", 2), fc.format(1e-3, "ms", 2), ratio(kc.median, fc.median), verdict(kc.median, 0.0025))
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d rounds did not deliver exactly one valid POST to each server:\n  %s", len(failed), strings.Join(failed, "\n  "))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// startChild starts the fake instances in a child process (on CPU 1 when
// pinned) and reads their ports.
func startChild(ctx context.Context, o fanoutOptions, pki *testPKI, publicKeyPEM, keyID string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	argv := []string{self, fanoutServersCmd}
	if o.pin {
		argv = append([]string{"taskset", "-c", "1"}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, in: in, all: make(chan struct{}, 1), resp: make(chan string, 1)}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if sc.Text() == "all" {
				c.all <- struct{}{}
				continue
			}
			c.resp <- sc.Text()
		}
		close(c.resp)
	}()
	cfg, _ := json.Marshal(serversConfig{N: o.servers, PKI: *pki, PublicKeyPEM: publicKeyPEM, KeyID: keyID})
	if _, err := fmt.Fprintf(in, "%s\n", cfg); err != nil {
		c.close()
		return nil, err
	}
	line, err := c.await(ctx, 60*time.Second)
	if err != nil {
		c.close()
		return nil, fmt.Errorf("fake instances: %w", err)
	}
	if err := json.Unmarshal([]byte(line), &c.ports); err != nil || len(c.ports) != o.servers {
		c.close()
		return nil, fmt.Errorf("fake instances sent %q", line)
	}
	return c, nil
}

func (c *child) await(ctx context.Context, timeout time.Duration) (string, error) {
	select {
	case l, ok := <-c.resp:
		if !ok {
			return "", errors.New("the child process ended")
		}
		return l, nil
	case <-time.After(timeout):
		return "", errors.New("no answer from the child process")
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// command sends one command and returns the answer.
func (c *child) command(ctx context.Context, cmd string) (string, error) {
	if _, err := fmt.Fprintln(c.in, cmd); err != nil {
		return "", err
	}
	return c.await(ctx, 30*time.Second)
}

// newRound resets the counters and sets the answer delay.
func (c *child) newRound(ctx context.Context, delay time.Duration) error {
	// An "all" left from an earlier round must not end this one.
	select {
	case <-c.all:
	default:
	}
	ans, err := c.command(ctx, fmt.Sprintf("round %d", delay))
	if err == nil && ans != "ok" {
		err = fmt.Errorf("child answered %q", ans)
	}
	return err
}

// waitAll waits until every server has received a POST this round.
func (c *child) waitAll(ctx context.Context, timeout time.Duration) error {
	select {
	case <-c.all:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("not every server received a POST within %s", timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stats reads the round's counters, after letting late duplicates land.
func (c *child) stats(ctx context.Context) (serversStats, error) {
	var s serversStats
	select {
	case <-time.After(300 * time.Millisecond): // a duplicate would arrive in this time
	case <-ctx.Done():
		return s, ctx.Err()
	}
	line, err := c.command(ctx, "stats")
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal([]byte(line), &s)
}

func (c *child) close() {
	c.in.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

// checkStats fails unless exactly one valid POST reached each server.
func checkStats(s serversStats, servers int) error {
	if s.Total != int64(servers) || s.MinPerHost != 1 || s.MaxPerHost != 1 {
		return fmt.Errorf("%d requests (per server %d–%d); want exactly one to each of %d servers", s.Total, s.MinPerHost, s.MaxPerHost, servers)
	}
	if s.BadSig != 0 {
		return fmt.Errorf("%d requests with a bad signature: %s", s.BadSig, s.FirstError)
	}
	return nil
}

// kithRound seeds a fresh database, starts kith's deliverer, publishes one
// post and measures until every server has it. It returns the activity's
// JSON, for the floor to send the same bytes.
func kithRound(ctx context.Context, o fanoutOptions, c *child, pki *testPKI, acct *store.Account, delay time.Duration, round int) (fanoutRound, []byte, error) {
	var res fanoutRound
	dir, err := os.MkdirTemp("", "kith-fanout-")
	if err != nil {
		return res, nil, err
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, filepath.Join(dir, "kith.db"))
	if err != nil {
		return res, nil, err
	}
	defer db.Close()
	a := *acct
	if err := db.CreateAccount(ctx, &a); err != nil {
		return res, nil, err
	}
	if err := seedFollowers(ctx, db, c.ports, o.followers); err != nil {
		return res, nil, err
	}
	client := safenet.NewClient(safenet.Options{AllowPrivate: true, RootCAs: pki.pool(), MaxIdleConns: 1024, UserAgent: "kith-bench"})
	defer client.CloseIdleConnections()
	svc, err := ap.New(ctx, ap.Config{
		URLs: ap.NewURLs(fanoutDomain, "me"), DB: db, Client: client, AllowPrivate: true, Version: "bench",
		Delivery: ap.DeliveryOptions{Workers: o.workers, Poll: o.poll},
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return res, nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { svc.Deliverer().Run(runCtx) })
	defer func() { stop(); wg.Wait() }()
	if err := c.newRound(ctx, delay); err != nil {
		return res, nil, err
	}
	runtime.GC() // start every round from the same heap state

	if o.cpuprofile != "" {
		f, err := os.Create(fmt.Sprintf("%s.%s.%d", o.cpuprofile, delay, round+1))
		if err != nil {
			return res, nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return res, nil, err
		}
		defer pprof.StopCPUProfile()
	}
	cpu0 := processCPU()
	t0 := time.Now()
	pub, err := svc.Publish(ctx, ap.Draft{Source: fanoutPost})
	if err != nil {
		return res, nil, err
	}
	if pub.Deliveries != o.servers {
		return res, nil, fmt.Errorf("Publish queued %d deliveries; want one per server, %d", pub.Deliveries, o.servers)
	}
	if err := c.waitAll(ctx, 2*time.Minute); err != nil {
		return res, nil, err
	}
	res.wall = time.Since(t0)
	// Done is when every answer is handled and the queue is empty.
	for {
		st, err := db.DeliveryStats(ctx, time.Now())
		if err != nil {
			return res, nil, err
		}
		if st.Pending == 0 {
			break
		}
		if time.Since(t0) > 3*time.Minute {
			return res, nil, fmt.Errorf("queue still holds %+v", st)
		}
		time.Sleep(5 * time.Millisecond) // polling the queue, not waiting for a result
	}
	res.queueEmpty = time.Since(t0)
	res.cpu = processCPU() - cpu0
	if o.cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if res.stats, err = c.stats(ctx); err != nil {
		return res, nil, err
	}
	act, err := db.ActivityByIRI(ctx, svc.URLs().PostActivity(pub.Post.LocalID))
	if err != nil {
		return res, nil, err
	}
	return res, act.Body, nil
}

// fanoutPost is the Markdown published: a typical short post.
const fanoutPost = `Moved my little server to a Raspberry Pi this weekend. It idles at a few megabytes, the database
is one file, and a backup is a single command.

Next: images with alt text, and a look at how long a post takes to reach a thousand servers. #selfhosting`

// seedFollowers stores n accepted followers spread over the servers, each
// with its server's shared inbox, in one transaction. The fake servers
// check draft-cavage signatures only, so kith knows their hosts as wanting
// those, as it would after its first double knock: the fan-out measures
// the steady state, one POST per server.
func seedFollowers(ctx context.Context, db *store.DB, ports []int, n int) error {
	for _, port := range ports {
		if err := db.SetHostSignature(ctx, fmt.Sprintf("127.0.0.1:%d", port), store.SignatureCavage); err != nil {
			return err
		}
	}
	now := time.Now()
	return db.Update(ctx, func(tx *store.Tx) error {
		for i := range n {
			port := ports[i%len(ports)]
			base := fmt.Sprintf("https://127.0.0.1:%d", port)
			iri := fmt.Sprintf("%s/users/u%d", base, i)
			a := &store.Actor{
				IRI: iri, Type: "Person", Username: fmt.Sprintf("u%d", i), Host: fmt.Sprintf("127.0.0.1:%d", port),
				Inbox: iri + "/inbox", SharedInbox: base + "/inbox", KeyID: iri + "#main-key", FetchedAt: now,
			}
			if err := tx.PutActor(ctx, a); err != nil {
				return err
			}
			if _, err := tx.PutFollower(ctx, a.ID, iri+"#follow", store.Accepted, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// floorRound is the same fan-out done by a bare client: for each server,
// one RSA-2048 signature and one POST over a fresh TLS connection, with as
// many workers as kith's deliverer, no database and no queue.
func floorRound(ctx context.Context, o fanoutOptions, c *child, pki *testPKI, key *rsa.PrivateKey, keyID string, body []byte, delay time.Duration) (fanoutRound, error) {
	var res fanoutRound
	workers := o.workers
	if workers <= 0 {
		workers = 64 // kith's default (ap.DeliveryOptions)
	}
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pki.pool()},
		ForceAttemptHTTP2: true, // as kith's client
		MaxIdleConns:      1024,
		Proxy:             nil,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	if err := c.newRound(ctx, delay); err != nil {
		return res, err
	}
	runtime.GC()
	jobs := make(chan int)
	errc := make(chan error, o.servers)
	var wg sync.WaitGroup
	cpu0 := processCPU()
	t0 := time.Now()
	for range workers {
		wg.Go(func() {
			for port := range jobs {
				url := fmt.Sprintf("https://127.0.0.1:%d/inbox", port)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				if err == nil {
					req.Header.Set("Content-Type", "application/activity+json")
					err = signBare(req, body, key, keyID)
				}
				if err == nil {
					var resp *http.Response
					if resp, err = client.Do(req); err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusAccepted {
							err = fmt.Errorf("%s: status %d", url, resp.StatusCode)
						}
					}
				}
				if err != nil {
					errc <- err
				}
			}
		})
	}
	for _, p := range c.ports {
		jobs <- p
	}
	close(jobs)
	if err := c.waitAll(ctx, 2*time.Minute); err != nil {
		return res, err
	}
	res.wall = time.Since(t0)
	wg.Wait()
	res.queueEmpty = time.Since(t0)
	res.cpu = processCPU() - cpu0
	close(errc)
	for err := range errc {
		return res, err
	}
	var err error
	res.stats, err = c.stats(ctx)
	return res, err
}
