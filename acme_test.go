package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/net/dns/dnsmessage"

	"kith/store"
)

// TestACMEWithPebble: against Let's Encrypt's test CA Pebble on loopback
// (its validation authority resolving the domain to 127.0.0.1 through a
// DNS server in the test, and really checking the challenges on kith's
// ports), kith started cold on an empty database gets a certificate,
// serves its pages over it, redirects plain HTTP to HTTPS, keeps the
// certificate in the database, and renews it when it nears expiry
// (Pebble issues certificates valid for seconds here). It skips when
// pebble is not installed, unless KITH_PEBBLE_TEST=require (as in CI).
func TestACMEWithPebble(t *testing.T) {
	pebble := findPebble(t)
	const domain = "kith.test"
	dns := startDNS(t)
	httpsPort, httpPort := freePort(t), freePort(t)
	dir := t.TempDir()

	// Pebble's own API certificate, made here for 127.0.0.1.
	apiCert, apiPool := selfSigned(t, dir)
	acmePort, mgmtPort := freePort(t), freePort(t)
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress":           fmt.Sprintf("127.0.0.1:%d", acmePort),
		"managementListenAddress": fmt.Sprintf("127.0.0.1:%d", mgmtPort),
		"certificate":             apiCert + ".crt", "privateKey": apiCert + ".key",
		"httpPort": httpPort, "tlsPort": httpsPort,
		"ocspResponderURL": "", "externalAccountBindingRequired": false,
		"retryAfter":   map[string]int{"authz": 1, "order": 1},
		"keyAlgorithm": "ecdsa",
		"profiles":     map[string]any{"default": map[string]any{"description": "seconds", "validityPeriod": 15}},
	}}
	confPath := filepath.Join(dir, "pebble.json")
	b, _ := json.Marshal(conf)
	if err := os.WriteFile(confPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, pebble, "-config", confPath, "-dnsserver", dns)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	pebbleLog := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = pebbleLog, pebbleLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("pebble:\n%s", pebbleLog)
		}
	}()
	caClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: apiPool}}}
	var root []byte
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := caClient.Get(fmt.Sprintf("https://127.0.0.1:%d/roots/0", mgmtPort))
		if err == nil {
			root, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not start: %v\n%s", err, pebbleLog)
		}
		time.Sleep(50 * time.Millisecond)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(root) {
		t.Fatalf("pebble's root is not PEM: %q", root)
	}

	// kith, cold, on an empty database.
	start := time.Now()
	stderr := &syncBuffer{}
	cfg := &config{
		domain: domain, data: t.TempDir(), user: "me", logLevel: "info", backupKeep: "7",
		acme: "owner@kith.test", acmeDirectory: fmt.Sprintf("https://127.0.0.1:%d/dir", acmePort),
		httpsListen: fmt.Sprintf("127.0.0.1:%d", httpsPort), httpListen: fmt.Sprintf("127.0.0.1:%d", httpPort),
	}
	done := make(chan error, 1)
	serveCtx, stopServe := context.WithCancel(context.Background())
	go func() { done <- serveConfig(serveCtx, cfg, io.Discard, stderr, appOptions{acmeClient: caClient}) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stopServe()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Error("serve did not stop")
			}
		}
	}
	defer stop()
	defer func() {
		if t.Failed() {
			t.Logf("kith:\n%s", stderr)
		}
	}()

	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		port := httpsPort
		if strings.HasSuffix(addr, ":80") {
			port = httpPort
		}
		return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
	}
	browser := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: roots}, DisableKeepAlives: true},
	}
	var first *x509.Certificate
	for deadline := time.Now().Add(60 * time.Second); first == nil; {
		resp, err := browser.Get("https://" + domain + "/@me")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), "@me@"+domain) {
				t.Fatalf("GET /@me over HTTPS: %d\n%s", resp.StatusCode, body)
			}
			first = resp.TLS.PeerCertificates[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no page over HTTPS within 60 s: %v", err)
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Logf("first page over an ACME certificate %s after a cold start (certificate valid until %s)", time.Since(start).Round(time.Millisecond), first.NotAfter.Format(time.TimeOnly))
	if first.Subject.CommonName != domain && (len(first.DNSNames) == 0 || first.DNSNames[0] != domain) {
		t.Errorf("certificate for %v", first.DNSNames)
	}

	resp, err := browser.Get("http://" + domain + "/@me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || loc != "https://"+domain+"/@me" {
		t.Errorf("plain HTTP: %d to %q; want a redirect to https://%s/@me", resp.StatusCode, loc, domain)
	}

	// Renewal: a later handshake gets another certificate, issued before
	// the first expired.
	var renewed *x509.Certificate
	for deadline := time.Now().Add(40 * time.Second); renewed == nil && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", httpsPort), &tls.Config{ServerName: domain, RootCAs: roots})
		if err != nil {
			continue
		}
		if c := conn.ConnectionState().PeerCertificates[0]; c.SerialNumber.Cmp(first.SerialNumber) != 0 {
			renewed = c
		}
		conn.Close()
	}
	if renewed == nil {
		t.Fatal("the certificate was not renewed within 40 s")
	}
	if !renewed.NotBefore.Before(first.NotAfter) {
		t.Errorf("renewed only after expiry: %s, first expired %s", renewed.NotBefore, first.NotAfter)
	}
	stop()

	// The certificate and the ACME account key are in the database, so a
	// backup holds them.
	db, err := store.Open(context.Background(), filepath.Join(cfg.data, "kith.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, name := range []string{domain, "acme_account+key"} {
		if _, err := db.CertCache().Get(context.Background(), name); err != nil {
			t.Errorf("certificate cache %q: %v", name, err)
		}
	}
}

// TestACMEAdvice: the CA's problem types become what the owner must fix.
func TestACMEAdvice(t *testing.T) {
	problem := func(typ string) error {
		return &acme.AuthorizationError{Identifier: "social.example.org", Errors: []error{
			&acme.Error{ProblemType: "urn:ietf:params:acme:error:" + typ, Detail: "detail"}}}
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{problem("dns"), "A (and, if this machine has IPv6, AAAA) record"},
		{problem("connection"), "ports 80 and 443 are open"},
		{problem("unauthorized"), "points at this machine"},
		{&acme.Error{ProblemType: "urn:ietf:params:acme:error:rateLimited"}, "rate limit"},
		{problem("caa"), "CAA"},
		{fmt.Errorf("wrapped: %w", &net.OpError{Op: "dial", Err: errors.New("refused")}), "cannot reach the CA"},
	} {
		if got := acmeAdvice(c.err, "social.example.org"); !strings.Contains(got, c.want) {
			t.Errorf("%v: advice %q; want it to say %q", c.err, got, c.want)
		}
	}
}

// TestACMEFlags: --acme is refused where it cannot work, before anything
// is created.
func TestACMEFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--acme", "me@example.org"}, "local"},
		{[]string{"--acme", "me@example.org", "--domain", "social.example.org:8443"}, "port"},
		{[]string{"--acme", "me@example.org", "--domain", "social.example.org", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, "--tls-cert"},
	} {
		data := t.TempDir()
		err := run(context.Background(), append(append([]string{"serve"}, c.args...), "--data", data), env(nil), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v; want it to mention %q", c.args, err, c.want)
		}
		if entries, _ := os.ReadDir(data); len(entries) > 0 {
			t.Errorf("%v: created files in the data directory", c.args)
		}
	}
}

// findPebble returns the pebble binary, skipping the test when there is
// none unless KITH_PEBBLE_TEST=require.
func findPebble(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("pebble"); err == nil {
		return p
	}
	if gopath, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "pebble")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("KITH_PEBBLE_TEST") == "require" {
		t.Fatal("pebble is not installed: go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3")
	}
	t.Skip("pebble is not installed (go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3); KITH_PEBBLE_TEST=require makes this a failure")
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startDNS answers every A question with 127.0.0.1 and every other one
// with no records, over TCP on loopback (Pebble's validation authority
// asks its -dnsserver over TCP). It returns its address.
func startDNS(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				for {
					conn.SetDeadline(time.Now().Add(10 * time.Second))
					var size [2]byte
					if _, err := io.ReadFull(conn, size[:]); err != nil {
						return
					}
					query := make([]byte, int(size[0])<<8|int(size[1]))
					if _, err := io.ReadFull(conn, query); err != nil {
						return
					}
					answer := dnsAnswer(query)
					if answer == nil {
						return
					}
					if _, err := conn.Write(append([]byte{byte(len(answer) >> 8), byte(len(answer))}, answer...)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// dnsAnswer answers one DNS query: 127.0.0.1 for A, nothing otherwise.
func dnsAnswer(query []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	bld := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired})
	bld.StartQuestions()
	bld.Question(q)
	bld.StartAnswers()
	if q.Type == dnsmessage.TypeA {
		bld.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}})
	}
	msg, err := bld.Finish()
	if err != nil {
		return nil
	}
	return msg
}

// selfSigned writes a certificate and key for 127.0.0.1 to dir/api.crt
// and dir/api.key and returns dir/api and a pool trusting it.
func selfSigned(t *testing.T, dir string) (string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pebble api"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "api")
	if err := os.WriteFile(base+".crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return base, pool
}
