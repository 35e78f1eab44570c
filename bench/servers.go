package main

import (
	"bufio"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fanoutServersCmd is the hidden command that runs the fake instances of
// the fan-out benchmark in a child process, so that the CPU the kith side
// spends can be measured alone (getrusage of the parent).
const fanoutServersCmd = "fanout-servers"

// serversConfig is the child's first input line.
type serversConfig struct {
	N            int
	PKI          testPKI
	PublicKeyPEM string // kith's actor key, to check signatures
	KeyID        string
}

// serversStats is what the child reports on "stats".
type serversStats struct {
	Total      int64            // POSTs received this round
	Distinct   int              // servers that got at least one
	MinPerHost int64            // fewest POSTs one server got
	MaxPerHost int64            // most POSTs one server got
	BadSig     int64            // POSTs whose signature did not check out
	FirstError string           // the first such failure
	Protos     map[string]int64 // HTTP versions seen
}

// fakeInstances is the child's state: one counter per server, reset each
// round.
type fakeInstances struct {
	pub   *rsa.PublicKey
	keyID string
	delay atomic.Int64 // answer after this many nanoseconds

	counts   []atomic.Int64
	distinct atomic.Int64
	total    atomic.Int64
	bad      atomic.Int64

	mu       sync.Mutex
	firstErr string
	protos   map[string]int64
	out      *bufio.Writer // to the parent, one line per message
}

// fanoutServers is the child: it starts cfg.N TLS servers on loopback,
// prints their ports, then follows the parent's commands ("round DELAY",
// "stats") until its standard input closes. It prints "all" as soon as
// every server has received a POST in the current round.
func fanoutServers(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	in := bufio.NewReader(stdin)
	line, err := in.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var cfg serversConfig
	if err := json.Unmarshal(line, &cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	pub, err := parsePublicKey(cfg.PublicKeyPEM)
	if err != nil {
		return err
	}
	tlsCfg, err := cfg.PKI.serverConfig()
	if err != nil {
		return err
	}
	f := &fakeInstances{pub: pub, keyID: cfg.KeyID, counts: make([]atomic.Int64, cfg.N), protos: map[string]int64{}, out: bufio.NewWriter(stdout)}

	ports := make([]int, cfg.N)
	var servers []*http.Server
	for i := range cfg.N {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("listen (server %d): %w", i, err)
		}
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		srv := &http.Server{
			Handler:           f.inbox(i),
			TLSConfig:         tlsCfg.Clone(),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          log.New(io.Discard, "", 0), // clients closing idle connections is not news
		}
		servers = append(servers, srv)
		go srv.ServeTLS(ln, "", "")
	}
	defer func() {
		for _, s := range servers {
			s.Close()
		}
	}()
	b, _ := json.Marshal(ports)
	f.send(string(b))

	for {
		line, err := in.ReadString('\n')
		if err != nil {
			return nil // the parent is done
		}
		cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch cmd {
		case "round":
			d, err := strconv.ParseInt(arg, 10, 64)
			if err != nil {
				return fmt.Errorf("round %q: %w", arg, err)
			}
			f.reset(time.Duration(d))
			f.send("ok")
		case "stats":
			b, _ := json.Marshal(f.stats())
			f.send(string(b))
		default:
			return fmt.Errorf("unknown command %q", line)
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

func (f *fakeInstances) send(line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.out.WriteString(line + "\n")
	f.out.Flush()
}

func (f *fakeInstances) reset(delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.counts {
		f.counts[i].Store(0)
	}
	f.distinct.Store(0)
	f.total.Store(0)
	f.bad.Store(0)
	f.firstErr = ""
	clear(f.protos)
	f.delay.Store(int64(delay))
}

func (f *fakeInstances) stats() serversStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := serversStats{Total: f.total.Load(), BadSig: f.bad.Load(), FirstError: f.firstErr, Protos: map[string]int64{}, MinPerHost: -1}
	for k, v := range f.protos {
		s.Protos[k] = v
	}
	for i := range f.counts {
		n := f.counts[i].Load()
		if n > 0 {
			s.Distinct++
		}
		if s.MinPerHost < 0 || n < s.MinPerHost {
			s.MinPerHost = n
		}
		s.MaxPerHost = max(s.MaxPerHost, n)
	}
	return s
}

// inbox is server i's handler: POST /inbox is checked, counted and
// answered 202, after the round's delay.
func (f *fakeInstances) inbox(i int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/inbox" {
			http.NotFound(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read error", http.StatusBadRequest)
			return
		}
		if err := verifySignature(r, body, f.pub, f.keyID); err != nil {
			f.bad.Add(1)
			f.mu.Lock()
			if f.firstErr == "" {
				f.firstErr = err.Error()
			}
			f.mu.Unlock()
		}
		f.mu.Lock()
		f.protos[r.Proto]++
		f.mu.Unlock()
		f.total.Add(1)
		if f.counts[i].Add(1) == 1 && f.distinct.Add(1) == int64(len(f.counts)) {
			f.send("all")
		}
		if d := time.Duration(f.delay.Load()); d > 0 {
			time.Sleep(d) // a remote that takes this long to answer
		}
		w.WriteHeader(http.StatusAccepted)
	})
}
