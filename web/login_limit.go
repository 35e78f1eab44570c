package web

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// Limits of password guessing. Each network (an IPv4 address, or an IPv6
// /64, which one customer usually holds whole) gets a few attempts at
// once; after that, each attempt must wait twice as long as the one before
// it, up to loginMaxDelay. A request waits its turn for up to
// loginMaxWait; past that it is answered 429 without its password being
// checked.
//
// There is deliberately no limit across all networks: one would let anyone
// keep the owner out by spending a few wrong passwords from several
// addresses. Attackers with many networks are slowed by bcrypt's cost
// instead, and each of their networks by its own delay, while the owner,
// coming from a network of their own, logs in at once.
const (
	loginFreeAttempts = 5
	loginBaseDelay    = time.Second
	loginMaxDelay     = 5 * time.Minute
	loginMaxWait      = 10 * time.Second
	loginMemory       = 24 * time.Hour // a network's failures are forgotten after a quiet day
	loginMaxNetworks  = 10_000         // bounds the memory a flood of addresses can take
)

// loginLimiter schedules password attempts per network. Its state is in
// memory only: a restart forgives everyone, which costs an attacker a
// restart they cannot cause.
type loginLimiter struct {
	now func() time.Time
	// sleep waits d or until ctx ends; tests replace it to move a fake
	// clock instead of waiting.
	sleep func(ctx context.Context, d time.Duration) error

	mu       sync.Mutex
	networks map[string]*loginNetwork
}

// loginNetwork is what the limiter knows of one network.
type loginNetwork struct {
	failures int       // wrong passwords within loginMemory
	pending  int       // attempts scheduled whose outcome is not known yet
	last     time.Time // the last failure
	next     time.Time // the earliest time the next attempt may be checked
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, sleep: sleepContext, networks: make(map[string]*loginNetwork)}
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loginDelay is how long the attempt after the n-th (counting failures and
// attempts still running) must wait.
func loginDelay(n int) time.Duration {
	if n < loginFreeAttempts {
		return 0
	}
	shift := n - loginFreeAttempts
	if shift >= 20 {
		return loginMaxDelay
	}
	return min(loginBaseDelay<<shift, loginMaxDelay)
}

// wait schedules one password attempt from network and waits for its turn.
// When the turn is too far off, or the request ends while waiting, it
// reports false and how long to wait before trying again (zero for an ended
// request); the attempt is then not made. Every attempt that got its turn
// must be followed by done.
//
// Attempts are scheduled before their outcome is known, counting as
// failures until done says otherwise, so a burst of parallel guesses is
// spread out like the same guesses one after another.
func (l *loginLimiter) wait(ctx context.Context, network string) (ok bool, retry time.Duration) {
	l.mu.Lock()
	now := l.now()
	n := l.networks[network]
	if n != nil && n.pending == 0 && now.Sub(n.last) > loginMemory && !n.next.After(now) {
		n = nil // forgiven
	}
	if n == nil {
		l.makeRoom(now)
		n = &loginNetwork{}
		l.networks[network] = n
	}
	slot := now
	if n.next.After(now) {
		slot = n.next
	}
	if d := slot.Sub(now); d > loginMaxWait {
		l.mu.Unlock()
		return false, d
	}
	n.pending++
	n.next = slot.Add(loginDelay(n.failures + n.pending))
	l.mu.Unlock()

	if err := l.sleep(ctx, slot.Sub(now)); err != nil {
		l.mu.Lock()
		n.pending--
		l.mu.Unlock()
		return false, 0
	}
	return true, 0
}

// done records the outcome of an attempt wait allowed. The right password
// forgives the network at once.
func (l *loginLimiter) done(network string, success bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.networks[network]
	if n == nil {
		return
	}
	n.pending--
	if success {
		delete(l.networks, network)
		return
	}
	n.failures++
	n.last = l.now()
}

// makeRoom keeps the map under loginMaxNetworks: it drops networks that
// were forgiven or never failed enough to be slowed, and, if that is not
// enough, any without an attempt running (an attacker with that many
// networks gains little from the ones forgotten: each had only a few
// tries).
func (l *loginLimiter) makeRoom(now time.Time) {
	if len(l.networks) < loginMaxNetworks {
		return
	}
	for k, n := range l.networks {
		if n.pending == 0 && (n.failures < loginFreeAttempts || now.Sub(n.last) > loginMemory) {
			delete(l.networks, k)
		}
	}
	for k, n := range l.networks {
		if len(l.networks) < loginMaxNetworks*9/10 {
			break
		}
		if n.pending == 0 {
			delete(l.networks, k)
		}
	}
}

// loginNetworkOf is the network whose attempts are counted together: the
// address itself for IPv4, its /64 for IPv6.
func loginNetworkOf(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.WithZone("").Prefix(64)
		return p.String()
	}
	return ip.String()
}
