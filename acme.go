package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"kith/ap"
)

// letsEncrypt is the ACME directory --acme uses unless --acme-directory
// names another CA.
const letsEncrypt = acme.LetsEncryptURL

// certManager is the autocert manager for cfg.domain: it asks the CA in
// cfg.acmeDirectory for certificates (TLS-ALPN-01 on the HTTPS port,
// HTTP-01 on port 80), keeps them and the account key in the database,
// and renews them before they expire. client, when set, is the HTTP
// client for the CA (tests trust a test CA with it).
func (a *app) certManager(cfg *config, client *http.Client) *autocert.Manager {
	return &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Email:      cfg.acme,
		HostPolicy: autocert.HostWhitelist(cfg.domain),
		Cache:      a.db.CertCache(),
		Client: &acme.Client{
			DirectoryURL: cfg.acmeDirectory,
			HTTPClient:   client,
			UserAgent:    "kith/" + version,
		},
	}
}

// listenACME opens the HTTPS and HTTP listeners of --acme, with the fix
// for the usual mistakes in the error.
func listenACME(cfg *config) (tlsLn, httpLn net.Listener, err error) {
	listen := func(addr, what string) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		switch {
		case err == nil:
			return ln, nil
		case errors.Is(err, syscall.EACCES):
			return nil, fmt.Errorf("listen on %s for %s: %w; ports below 1024 need root or, better, the capability to bind them: sudo setcap cap_net_bind_service=+ep $(command -v kith), or AmbientCapabilities=CAP_NET_BIND_SERVICE in a systemd unit", addr, what, err)
		default:
			return nil, fmt.Errorf("listen on %s for %s: %w (is a web server such as nginx or Caddy running there? --acme needs both ports for itself)", addr, what, err)
		}
	}
	tlsLn, err = listen(cfg.httpsListen, "HTTPS")
	if err != nil {
		return nil, nil, err
	}
	httpLn, err = listen(cfg.httpListen, "HTTP (certificate checks and the redirect to HTTPS)")
	if err != nil {
		tlsLn.Close()
		return nil, nil, err
	}
	return tlsLn, httpLn, nil
}

// serveACME runs kith on HTTPS with certificates from m, and on plain
// HTTP for the CA's HTTP-01 checks and a redirect to HTTPS for everyone
// else, until ctx is done. It asks for the certificate at once rather than
// at the first visit, so a problem is in the log right after start.
func (a *app) serveACME(ctx context.Context, m *autocert.Manager, lnTLS, lnHTTP net.Listener, cfg *config, stdout io.Writer) error {
	tlsConf := m.TLSConfig()
	tlsConf.MinVersion = tls.VersionTLS12
	advice := &acmeAdvisor{log: a.log, domain: cfg.domain}
	get := tlsConf.GetCertificate
	tlsConf.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		c, err := get(hello)
		if err != nil && strings.EqualFold(hello.ServerName, cfg.domain) {
			advice.failed(err)
		}
		return c, err
	}

	redirect := &http.Server{
		Handler:           m.HTTPHandler(nil), // HTTP-01 answers; everything else goes to https://
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	go redirect.Serve(lnHTTP)
	defer redirect.Close()

	warm, stopWarm := context.WithCancel(ctx)
	defer stopWarm()
	go func() {
		start := time.Now()
		hello := &tls.ClientHelloInfo{
			ServerName:       cfg.domain,
			CipherSuites:     []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
			SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256},
			SupportedCurves:  []tls.CurveID{tls.CurveP256},
		}
		for wait := time.Minute; ; wait = min(2*wait, 6*time.Hour) {
			c, err := tlsConf.GetCertificate(hello)
			if err == nil {
				expires := ""
				if c.Leaf != nil {
					expires = c.Leaf.NotAfter.UTC().Format(time.RFC3339)
				}
				a.log.Info("HTTPS certificate ready", "domain", cfg.domain, "expires", expires, "took", time.Since(start).Round(time.Millisecond))
				return
			}
			select {
			case <-warm.Done():
				return
			case <-time.After(wait):
			}
		}
	}()
	a.log.Info("HTTPS by ACME", "domain", cfg.domain, "ca", cfg.acmeDirectory, "https", lnTLS.Addr().String(), "http", lnHTTP.Addr().String())
	return a.serve(ctx, tls.NewListener(lnTLS, tlsConf), cfg, stdout)
}

// acmeAdvisor logs, in plain words, what the owner must fix when the CA
// refuses a certificate. The same advice is logged once an hour at most,
// as every visitor's handshake fails the same way meanwhile.
type acmeAdvisor struct {
	log    *slog.Logger
	domain string

	mu   sync.Mutex
	last map[string]time.Time
}

func (ad *acmeAdvisor) failed(err error) {
	msg := acmeAdvice(err, ad.domain)
	ad.mu.Lock()
	if ad.last == nil {
		ad.last = map[string]time.Time{}
	}
	quiet := time.Since(ad.last[msg]) < time.Hour
	if !quiet {
		ad.last[msg] = time.Now()
	}
	ad.mu.Unlock()
	if !quiet {
		ad.log.Error("no HTTPS certificate yet: "+msg, "domain", ad.domain, "err", err)
	}
}

// acmeAdvice turns an ACME failure into what the owner must fix, from
// the problem types of RFC 8555 section 6.7 and Let's Encrypt's use of
// them.
func acmeAdvice(err error, domain string) string {
	var problems []*acme.Error
	var authz *acme.AuthorizationError
	if errors.As(err, &authz) {
		for _, e := range authz.Errors {
			var ae *acme.Error
			if errors.As(e, &ae) {
				problems = append(problems, ae)
			}
		}
	}
	var order *acme.OrderError
	var one *acme.Error
	if errors.As(err, &one) {
		problems = append(problems, one)
	}
	for _, p := range problems {
		switch strings.TrimPrefix(p.ProblemType, "urn:ietf:params:acme:error:") {
		case "dns":
			return fmt.Sprintf("the CA cannot find %s in DNS: add an A (and, if this machine has IPv6, AAAA) record for it pointing at this machine's public address, wait for it to spread, and kith tries again", domain)
		case "connection", "incorrectResponse", "unauthorized", "tls":
			return fmt.Sprintf("the CA could not reach this kith at %s: check that the DNS record of %s points at this machine's public address, and that ports 80 and 443 are open to the internet (firewall, and port forwarding on a home router) and not taken by another web server", domain, domain)
		case "caa":
			return fmt.Sprintf("a CAA record in the DNS of %s forbids this CA: add one allowing it (for Let's Encrypt: CAA 0 issue \"letsencrypt.org\") or remove it", domain)
		case "rateLimited":
			return "the CA's rate limit is reached (too many certificates or failed tries for this domain): kith retries by itself, later; to try things out meanwhile, use the staging CA with --acme-directory https://acme-staging-v02.api.letsencrypt.org/directory"
		case "rejectedIdentifier":
			return fmt.Sprintf("the CA will not issue for %s: it must be a public domain name you own, not an IP address or an internal name", domain)
		case "invalidContact", "unsupportedContact":
			return "the CA refused the e-mail address given with --acme: give a working address"
		case "externalAccountRequired":
			return "this CA needs an account made on its website first (external account binding), which kith does not do: use Let's Encrypt, or a certificate with --tls-cert and --tls-key"
		case "badNonce", "serverInternal":
			return "the CA had a passing problem: kith tries again by itself"
		}
	}
	if errors.As(err, &order) {
		return "the CA turned the certificate order down: " + err.Error()
	}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	if errors.As(err, &dnsErr) || errors.As(err, &opErr) {
		return "kith cannot reach the CA: check this machine's internet connection and DNS, or the address given with --acme-directory"
	}
	if strings.Contains(err.Error(), "no viable challenge") {
		return fmt.Sprintf("the CA offers no check kith can answer: ports 80 and 443 of %s must reach this kith", domain)
	}
	return "the CA said: " + err.Error()
}

// checkACME refuses --acme where no CA could issue a certificate, before
// anything is created.
func checkACME(cfg *config) error {
	if cfg.acme == "" {
		return nil
	}
	switch {
	case !strings.Contains(cfg.acme, "@"):
		return usageError{fmt.Sprintf("--acme %q: give your e-mail address; the CA writes there before a certificate expires unrenewed", cfg.acme)}
	case ap.IsLocalDomain(cfg.domain):
		return usageError{fmt.Sprintf("--acme needs the public domain name people reach kith at (--domain social.example.org); %s is local, and no CA can reach it", cfg.domain)}
	case strings.Contains(cfg.domain, ":"):
		return usageError{fmt.Sprintf("with --acme kith is reached on port 443: give --domain without a port, not %s", cfg.domain)}
	case cfg.tlsCert != "" || cfg.tlsKey != "":
		return usageError{"--acme gets its own certificate: leave out --tls-cert and --tls-key"}
	}
	return nil
}
