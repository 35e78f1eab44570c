package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"kith/store"
)

// arrival is one POST the fake follower's inbox received.
type arrival struct {
	at        time.Time
	body      []byte
	verifyErr error
}

// postLatency measures design.md §10's "the deliverer must pick up work
// written by another process (kith post) within one second": the time from
// exec of `kith post` until a follower's inbox, a TLS server run here, has
// the Create, with a running `kith serve` doing the delivery.
func postLatency(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("postlatency", flag.ContinueOnError)
	n := fs.Int("n", 10, "posts to time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, tmp, err := benchDir(ctx, "postlatency", stdout)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	kith := filepath.Join(tmp, "kith")
	if err := buildStatic(ctx, root, ".", kith, runtime.GOARCH); err != nil {
		return err
	}

	port, err := freePort()
	if err != nil {
		return err
	}
	domain := fmt.Sprintf("127.0.0.1:%d", port)
	base := "http://" + domain
	data := filepath.Join(tmp, "data")
	serveArgs := []string{"serve", "--domain", domain, "--listen", domain, "--data", data, "--allow-private-networks"}

	// First start: the account, its keys and the database.
	s, err := startServer(kith, serveArgs, nil)
	if err != nil {
		return err
	}
	if _, err := waitHTTP(ctx, base+"/.well-known/nodeinfo", 5*time.Millisecond, time.Minute, s.exited); err != nil {
		s.kill()
		return fmt.Errorf("first start: %w\n%s", err, s.out.String())
	}
	if _, err := s.stop(10 * time.Second); err != nil {
		return fmt.Errorf("first start: %w", err)
	}

	// The follower's server: TLS with a CA kith trusts via SSL_CERT_FILE.
	pki, err := newPKI()
	if err != nil {
		return err
	}
	caFile := filepath.Join(tmp, "ca.pem")
	if err := os.WriteFile(caFile, pki.CAPEM, 0o600); err != nil {
		return err
	}
	tlsCfg, err := pki.serverConfig()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var key atomic.Pointer[verifyKey]
	arrivals := make(chan arrival, 64)
	inbox := &http.Server{
		TLSConfig: tlsCfg,
		ErrorLog:  log.New(io.Discard, "", 0),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/inbox") {
				http.NotFound(w, r)
				return
			}
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			a := arrival{at: time.Now(), body: body, verifyErr: errors.New("no key yet")}
			if k := key.Load(); k != nil {
				a.verifyErr = verifySignature(r, body, k.pub, k.id)
			}
			select {
			case arrivals <- a:
			default:
			}
			w.WriteHeader(http.StatusAccepted)
		}),
	}
	go inbox.ServeTLS(ln, "", "")
	defer inbox.Close()
	fanBase := "https://" + ln.Addr().String()

	// The follower, written straight into the stopped server's database.
	db, err := store.Open(ctx, filepath.Join(data, "kith.db"))
	if err != nil {
		return err
	}
	err = db.Update(ctx, func(tx *store.Tx) error {
		a := &store.Actor{
			IRI: fanBase + "/users/fan", Type: "Person", Username: "fan", Host: ln.Addr().String(),
			Inbox: fanBase + "/users/fan/inbox", SharedInbox: fanBase + "/inbox", KeyID: fanBase + "/users/fan#main-key",
			FetchedAt: time.Now(),
		}
		if err := tx.PutActor(ctx, a); err != nil {
			return err
		}
		_, err := tx.PutFollower(ctx, a.ID, a.IRI+"#follow", store.Accepted, time.Now())
		return err
	})
	if err == nil {
		// The follower's server checks draft-cavage signatures only: kith
		// knows its host as wanting those, as after its first double
		// knock, so each post is timed as one POST.
		err = db.SetHostSignature(ctx, ln.Addr().String(), store.SignatureCavage)
	}
	db.Close()
	if err != nil {
		return err
	}

	s, err = startServer(kith, serveArgs, []string{"SSL_CERT_FILE=" + caFile})
	if err != nil {
		return err
	}
	defer s.kill()
	if _, err := waitHTTP(ctx, base+"/.well-known/nodeinfo", 5*time.Millisecond, time.Minute, s.exited); err != nil {
		return fmt.Errorf("%w\n%s", err, s.out.String())
	}
	k, err := actorKey(base + "/users/me")
	if err != nil {
		return err
	}
	key.Store(k)

	// The floor: exec of the same binary doing nothing (kith version).
	var floor []float64
	for range *n {
		t0 := time.Now()
		if out, err := exec.CommandContext(ctx, kith, "version").CombinedOutput(); err != nil {
			return fmt.Errorf("kith version: %v\n%s", err, out)
		}
		floor = append(floor, time.Since(t0).Seconds())
	}

	var lat, postCmd []float64
	for i := range *n {
		// Posts start at different points of the deliverer's poll cycle.
		select {
		case <-time.After(time.Duration(i*137%500) * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		marker := fmt.Sprintf("latency-probe-%d-%d", time.Now().UnixNano(), i)
		t0 := time.Now()
		cmd := exec.CommandContext(ctx, kith, "post", "--data", data, "--allow-private-networks")
		cmd.Stdin = strings.NewReader("Post latency probe `" + marker + "`.\n\nA small **Markdown** body with a [link](https://example.com/) and #kith.\n")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("kith post: %v\n%s", err, out)
		}
		postCmd = append(postCmd, time.Since(t0).Seconds())
		if !strings.Contains(string(out), "queued for 1 inboxes") {
			return fmt.Errorf("kith post said %q; want the post queued for 1 inbox", out)
		}
		got, err := awaitCreate(ctx, arrivals, marker, 10*time.Second)
		if err != nil {
			return fmt.Errorf("post %d: %w\nkith serve said:\n%s", i+1, err, s.out.String())
		}
		lat = append(lat, got.Sub(t0).Seconds())
		fmt.Fprintf(stdout, "  post %2d: kith post ran %6.1f ms; Create in the follower's inbox after %6.1f ms\n",
			i+1, postCmd[len(postCmd)-1]*1e3, lat[len(lat)-1]*1e3)
	}
	shutdown, err := s.stop(10 * time.Second)
	if err != nil {
		return err
	}

	l, p, f := summarize(lat), summarize(postCmd), summarize(floor)
	fmt.Fprintf(stdout, "\nkith post → Create received by the follower's inbox (TLS, loopback), kith serve running:\n")
	fmt.Fprintf(stdout, "  latency      %s\n", l.format(1e-3, "ms", 0))
	fmt.Fprintf(stdout, "  kith post    %s (exec until exit)\n", p.format(1e-3, "ms", 1))
	fmt.Fprintf(stdout, "  floor        %s (exec of kith version until exit)\n", f.format(1e-3, "ms", 1))
	fmt.Fprintf(stdout, "  target ≤ 1 s for each: max %.0f ms: %s; every Create's signature verified; kith serve exited 0 on SIGTERM in %.0f ms\n",
		l.max*1e3, verdict(l.max, 1), ms(shutdown))
	return nil
}

// verifyKey is the key the fake inbox checks signatures with.
type verifyKey struct {
	id  string
	pub *rsa.PublicKey
}

// awaitCreate waits for the Create whose content holds marker; a bad
// signature on it is an error.
func awaitCreate(ctx context.Context, arrivals <-chan arrival, marker string, timeout time.Duration) (time.Time, error) {
	deadline := time.After(timeout)
	for {
		select {
		case a := <-arrivals:
			if !bytes.Contains(a.body, []byte(marker)) {
				continue // an earlier post delivered twice, or another activity
			}
			var act struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(a.body, &act); err != nil || act.Type != "Create" {
				return time.Time{}, fmt.Errorf("the inbox got %s, not a Create: %v", a.body, err)
			}
			if a.verifyErr != nil {
				return time.Time{}, fmt.Errorf("the Create's signature does not verify: %w", a.verifyErr)
			}
			return a.at, nil
		case <-deadline:
			return time.Time{}, fmt.Errorf("no Create with %s within %s", marker, timeout)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// actorKey reads the key id and public key from kith's actor document.
func actorKey(url string) (*verifyKey, error) {
	b, err := getOK(url, "Accept", "application/activity+json")
	if err != nil {
		return nil, err
	}
	var doc struct {
		PublicKey struct {
			ID           string `json:"id"`
			PublicKeyPem string `json:"publicKeyPem"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("actor document: %w", err)
	}
	pub, err := parsePublicKey(doc.PublicKey.PublicKeyPem)
	if err != nil {
		return nil, err
	}
	return &verifyKey{id: doc.PublicKey.ID, pub: pub}, nil
}
