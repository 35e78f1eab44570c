package ap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"kith/ap/safenet"
	"kith/ap/sig"
	"kith/store"
)

// DeliveryOptions tunes the deliverer. Zero fields take the defaults.
type DeliveryOptions struct {
	Workers          int           // concurrent POSTs in all (64): enough to stay CPU-bound when remotes answer slowly (perf.md §1e)
	PerHost          int           // concurrent POSTs to one host (2)
	Poll             time.Duration // how often the deliverer looks for work it was not woken for (500ms), written by other processes such as `kith post`: a look at the WAL index header (store.Watcher), the queue read only when it changed
	Backstop         time.Duration // the queue is read at least this often, changed or not (10m): store.Watcher misses no commit, this is a safety net
	Timeout          time.Duration // per POST, connection included (30s)
	UnavailableAfter time.Duration // a host failing this long is paused (3 days)
	GiveUpAfter      time.Duration // a delivery this old is dropped (7 days)
	FirstRetry       time.Duration // the first retry delay (30s); each next one doubles, up to 12 hours
}

func (o DeliveryOptions) withDefaults() DeliveryOptions {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.PerHost <= 0 {
		o.PerHost = 2
	}
	def(&o.Poll, 500*time.Millisecond)
	def(&o.Backstop, 10*time.Minute)
	def(&o.Timeout, 30*time.Second)
	def(&o.UnavailableAfter, 3*24*time.Hour)
	def(&o.GiveUpAfter, 7*24*time.Hour)
	def(&o.FirstRetry, 30*time.Second)
	return o
}

// maxRetryDelay caps the backoff; with a 30 s start, tries run about every
// 12 hours after the first day.
const maxRetryDelay = 12 * time.Hour

// Deliverer sends queued activities. The queue is the deliveries table, so
// a restart loses nothing; the deliverer is woken by a channel when work is
// queued in this process and looks for work queued by others every Poll.
// An idle deliverer runs no SQLite at all: it reads the queue only when
// the database changed (store.Watcher), when the next retry it knows of
// falls due, and every Backstop.
type Deliverer struct {
	db           *store.DB
	client       *http.Client
	signer       sig.Signer
	allowPrivate bool
	log          *slog.Logger
	now          func() time.Time
	userAgent    string
	opt          DeliveryOptions

	wake chan struct{}

	mu       sync.Mutex
	inflight map[int64]bool
	perHost  map[string]int
	bodies   map[int64]*store.Activity // activities, bounded: fan-outs reuse one body
	// settled maps each delivery a worker finished to the value of seq at
	// that moment. A read of the queue that began earlier may predate the
	// worker's commit (reads go through the reader pool), so its copy of
	// such a row is stale and must not be sent again.
	settled map[int64]uint64
	seq     uint64
}

func newDeliverer(db *store.DB, client *http.Client, signer sig.Signer, allowPrivate bool, log *slog.Logger, now func() time.Time, userAgent string, opt DeliveryOptions) *Deliverer {
	return &Deliverer{
		db: db, client: client, signer: signer, allowPrivate: allowPrivate, log: log, now: now,
		userAgent: userAgent, opt: opt.withDefaults(),
		wake:     make(chan struct{}, 1),
		inflight: make(map[int64]bool),
		perHost:  make(map[string]int),
		bodies:   make(map[int64]*store.Activity),
		settled:  make(map[int64]uint64),
	}
}

// Wake tells the deliverer that work was queued. It never blocks.
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is done.
func (d *Deliverer) Run(ctx context.Context) {
	d.loop(ctx, false)
}

// RunOnce delivers everything due now (including retries that fall due
// while it runs are not waited for) and returns when the queue holds nothing
// due. Tests use it instead of sleeping.
func (d *Deliverer) RunOnce(ctx context.Context) {
	d.loop(ctx, true)
}

// loop is the dispatcher: it reads due deliveries, hands them to workers
// while respecting the per-host limit, and waits for wake-ups, finished
// work or the poll tick. In once mode it returns when nothing is due and
// nothing is in flight.
func (d *Deliverer) loop(ctx context.Context, once bool) {
	// Each delivery runs in its own goroutine; slots bounds how many run at
	// once. An idle kith thus holds no worker goroutines at all.
	slots := make(chan struct{}, d.opt.Workers)
	// finished only hints that a host slot came free; a full channel
	// already says so, hence the non-blocking send.
	finished := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	start := func(del store.Delivery) {
		wg.Go(func() {
			d.deliver(ctx, &del)
			d.release(&del)
			<-slots
			select {
			case finished <- struct{}{}:
			default:
			}
		})
	}

	tick := time.NewTicker(d.opt.Poll)
	defer tick.Stop()
	housekeeping := time.NewTicker(time.Hour)
	defer housekeeping.Stop()
	if !once {
		d.housekeep(ctx)
	}

	watch := d.db.Watch(d.opt.Backstop)
	var pending []store.Delivery
	var next time.Time // when the earliest delivery not yet due falls due; zero if none
	refresh := true
	for {
		if ctx.Err() != nil {
			return
		}
		if refresh {
			watch.Changed() // this read sees what changed until now
			due, err := d.readDue(ctx)
			if err != nil && ctx.Err() == nil {
				d.log.Error("read delivery queue", "err", err)
			}
			pending = due
			refresh = false
			next = time.Time{}
			if err == nil && len(due) < dueSlice {
				next, err = d.nextDue(ctx)
				if err != nil && ctx.Err() == nil {
					d.log.Error("read delivery queue", "err", err)
				}
			}
		}
		pending = d.dispatch(ctx, slots, start, pending)
		if once && len(pending) == 0 && d.idle() {
			// Read the queue once more before stopping: work may have
			// been queued, or fallen due, since the last read.
			due, err := d.readDue(ctx)
			if err != nil || len(due) == 0 {
				return
			}
			pending = due
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
			refresh = true
		case <-finished:
			// A host slot is free: what was held back may go now.
		case <-tick.C:
			// Reading the queue only when something may have changed
			// keeps an idle kith out of SQLite's code and pages.
			refresh = once || watch.Changed() || (!next.IsZero() && !d.now().Before(next))
		case <-housekeeping.C:
			d.housekeep(ctx)
		}
	}
}

// readDue reads the deliveries that are due and not already handled.
func (d *Deliverer) readDue(ctx context.Context) ([]store.Delivery, error) {
	start := d.readStart()
	due, err := d.db.DueDeliveries(ctx, d.now(), dueSlice)
	return d.fresh(due, start), err
}

// dueSlice is how many due deliveries one read of the queue takes.
const dueSlice = 1000

// nextDue reports when the earliest queued delivery falls due, or zero if
// there is none: the deliverer reads the queue again then, though nothing
// changed. Rows in a worker's hands count until settled; their settling
// is a commit, which the Watcher sees anyway.
func (d *Deliverer) nextDue(ctx context.Context) (time.Time, error) {
	t, ok, err := d.db.NextDeliveryAt(ctx)
	if !ok || err != nil {
		return time.Time{}, err
	}
	return t, nil
}

// readStart marks the start of a queue read, for fresh.
func (d *Deliverer) readStart() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.seq
}

// fresh drops, from rows read by a read that began at start, those in a
// worker's hands and those a worker finished since start: the read may not
// have seen that worker's commit. Finished marks older than start are
// forgotten, since every later read sees their commits.
func (d *Deliverer) fresh(due []store.Delivery, start uint64) []store.Delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := due[:0]
	for _, del := range due {
		if !d.inflight[del.ID] && d.settled[del.ID] <= start {
			out = append(out, del)
		}
	}
	for id, at := range d.settled {
		if at <= start {
			delete(d.settled, id)
		}
	}
	return out
}

// dispatch starts every pending delivery whose host has a free slot, each
// once a worker slot is free, and returns the ones held back.
func (d *Deliverer) dispatch(ctx context.Context, slots chan struct{}, start func(store.Delivery), pending []store.Delivery) []store.Delivery {
	held := pending[:0]
	for _, del := range pending {
		d.mu.Lock()
		free := d.perHost[del.Host] < d.opt.PerHost && !d.inflight[del.ID]
		if free {
			d.perHost[del.Host]++
			d.inflight[del.ID] = true
		}
		d.mu.Unlock()
		if !free {
			held = append(held, del)
			continue
		}
		select {
		case slots <- struct{}{}:
			start(del)
		case <-ctx.Done():
			d.release(&del)
			return nil
		}
	}
	return held
}

// release frees a delivery's slot once its outcome is committed (or
// abandoned), and marks it settled for fresh.
func (d *Deliverer) release(del *store.Delivery) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seq++
	d.settled[del.ID] = d.seq
	delete(d.inflight, del.ID)
	if d.perHost[del.Host]--; d.perHost[del.Host] <= 0 {
		delete(d.perHost, del.Host)
	}
}

func (d *Deliverer) idle() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.inflight) == 0
}

// housekeep drops deliveries past GiveUpAfter (those to paused hosts are
// never tried, so they would otherwise stay forever) and old activities no
// delivery needs.
func (d *Deliverer) housekeep(ctx context.Context) {
	now := d.now()
	n, err := d.db.ExpireDeliveries(ctx, now.Add(-d.opt.GiveUpAfter), "gave up after "+d.opt.GiveUpAfter.String(), now)
	if err != nil {
		d.log.Error("expire deliveries", "err", err)
	} else if n > 0 {
		d.log.Warn("gave up old deliveries", "count", n, "after", d.opt.GiveUpAfter.String())
	}
	if _, err := d.db.PruneActivities(ctx, now.Add(-30*24*time.Hour)); err != nil {
		d.log.Error("prune activities", "err", err)
	}
}

// activity returns a stored activity, read once per activity for a
// fan-out.
func (d *Deliverer) activity(ctx context.Context, id int64) (*store.Activity, error) {
	d.mu.Lock()
	a, ok := d.bodies[id]
	d.mu.Unlock()
	if ok {
		return a, nil
	}
	a, err := d.db.ActivityByID(ctx, id)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if len(d.bodies) >= 64 {
		clear(d.bodies)
	}
	d.bodies[id] = a
	d.mu.Unlock()
	return a, nil
}

// followUp queues, for the inbox that just took a Block, the Undo stored
// with it (Service.ForceRemoveFollower), if there is one.
func (d *Deliverer) followUp(ctx context.Context, act *store.Activity, del *store.Delivery) {
	if act.Type != "Block" {
		return
	}
	undo, err := d.db.ActivityByIRI(ctx, act.IRI+UndoSuffix)
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	if err == nil {
		err = d.db.Update(ctx, func(tx *store.Tx) error {
			_, err := tx.Enqueue(ctx, undo, []string{del.Inbox}, d.now())
			return err
		})
	}
	if err != nil {
		d.log.Error("queue the undo of a block", "inbox", del.Inbox, "err", err)
		return
	}
	d.Wake()
}

// outcome classifies one attempt.
type outcome int

const (
	delivered outcome = iota
	retry             // try again later
	drop              // the remote will never take it
)

// deliver makes one attempt and records its result.
func (d *Deliverer) deliver(ctx context.Context, del *store.Delivery) {
	act, err := d.activity(ctx, del.ActivityID)
	if errors.Is(err, store.ErrNotFound) {
		d.giveUp(ctx, del, "the activity is gone")
		return
	} else if err != nil {
		if ctx.Err() == nil {
			d.log.Error("read activity", "err", err)
		}
		return
	}
	res, status, retryAfter, errText := d.post(ctx, del.Host, del.Inbox, act.Body)
	if ctx.Err() != nil {
		return // shutting down: the row stays due
	}
	now := d.now()
	switch res {
	case delivered:
		if err := d.db.DeliveryDone(ctx, del, now); err != nil {
			d.log.Error("record delivery", "err", err)
		}
		d.followUp(ctx, act, del)
	case drop:
		d.giveUp(ctx, del, errText)
		if status == http.StatusGone {
			if n, err := d.db.RemoveFollowersByInbox(ctx, del.Inbox); err == nil && n > 0 {
				d.log.Info("inbox is gone; follower removed", "inbox", del.Inbox)
			}
		}
	case retry:
		if now.Sub(del.CreatedAt) >= d.opt.GiveUpAfter {
			d.giveUp(ctx, del, errText)
			return
		}
		next := now.Add(d.backoff(del.Tries, retryAfter))
		paused, err := d.db.DeliveryRetry(ctx, del, next, errText, now, d.opt.UnavailableAfter)
		if err != nil {
			d.log.Error("reschedule delivery", "err", err)
			return
		}
		d.log.Debug("delivery failed; will retry", "inbox", del.Inbox, "tries", del.Tries+1, "next", next, "err", errText)
		if paused {
			d.log.Warn("host has failed for too long; deliveries to it are paused until it contacts us again or you retry it on the delivery page",
				"host", del.Host, "failing_for", d.opt.UnavailableAfter.String(), "last_error", errText)
		}
	}
}

func (d *Deliverer) giveUp(ctx context.Context, del *store.Delivery, reason string) {
	if err := d.db.DeliveryGiveUp(ctx, del, reason, d.now()); err != nil {
		d.log.Error("drop delivery", "err", err)
		return
	}
	d.log.Warn("delivery dropped", "inbox", del.Inbox, "tries", del.Tries+1, "reason", reason)
}

// backoff is the wait before try number tries+2: exponential from
// FirstRetry, capped, with up to 50% jitter so that retries to a host that
// came back do not all arrive at once. A Retry-After from the remote wins
// when it asks for longer.
func (d *Deliverer) backoff(tries int, retryAfter time.Duration) time.Duration {
	delay := d.opt.FirstRetry << min(tries, 20)
	if delay <= 0 || delay > maxRetryDelay {
		delay = maxRetryDelay
	}
	delay += time.Duration(rand.Int64N(int64(delay/2) + 1))
	if retryAfter > delay {
		delay = min(retryAfter, maxRetryDelay)
	}
	return delay
}

// post sends one signed POST and classifies the answer (protocol.md §5.3):
// 2xx is delivered; 408, 429, 401 (often a key fetch that failed on their
// side), 5xx other than 501, and network, DNS and TLS errors are retried;
// any other answer is final.
//
// The signature is the "double knock": a host not known to want cavage
// signatures first gets an RFC 9421 one, and on a 400, 401 or 403 the same
// POST again with a cavage signature; the scheme that got a 2xx is
// remembered for the host, so the knock happens once per host.
func (d *Deliverer) post(ctx context.Context, host, inbox string, body []byte) (res outcome, status int, retryAfter time.Duration, errText string) {
	u, err := url.Parse(inbox)
	if err != nil {
		return drop, 0, 0, "bad inbox URL: " + err.Error()
	}
	if err := safenet.CheckURL(u, d.allowPrivate); err != nil {
		return drop, 0, 0, err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, d.opt.Timeout)
	defer cancel()
	known, err := d.db.HostSignature(ctx, host)
	if err != nil {
		d.log.Error("read host signature scheme", "host", host, "err", err)
	}
	scheme := known
	if scheme == store.SignatureUnknown {
		scheme = store.SignatureRFC9421
	}
	resp, err := d.send(ctx, inbox, body, scheme)
	if err == nil && scheme == store.SignatureRFC9421 && refusesSignature(resp.StatusCode) {
		discard(resp)
		scheme = store.SignatureCavage
		resp, err = d.send(ctx, inbox, body, scheme)
	}
	if err != nil {
		var blocked *safenet.BlockedError
		if errors.As(err, &blocked) {
			return drop, 0, 0, blocked.Error()
		}
		return retry, 0, 0, err.Error()
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 && scheme != known {
		if err := d.db.SetHostSignature(ctx, host, scheme); err != nil {
			d.log.Error("record host signature scheme", "host", host, "err", err)
		}
	}
	discard(resp)

	status = resp.StatusCode
	text := fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	switch {
	case status >= 200 && status < 300:
		return delivered, status, 0, ""
	case status == http.StatusTooManyRequests:
		return retry, status, parseRetryAfter(resp.Header.Get("Retry-After"), d.now()), text
	case status == http.StatusRequestTimeout, status == http.StatusUnauthorized:
		return retry, status, 0, text
	case status >= 500 && status != http.StatusNotImplemented:
		return retry, status, 0, text
	default:
		return drop, status, 0, text
	}
}

// refusesSignature reports whether an answer may mean that the receiver
// did not take the signature scheme: a 401, or the 400 or 403 some servers
// give to a Signature header they cannot parse.
func refusesSignature(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusBadRequest || status == http.StatusForbidden
}

// send makes one signed POST of body to inbox with the signature scheme.
func (d *Deliverer) send(ctx context.Context, inbox string, body []byte, scheme string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/activity+json")
	req.Header.Set("Accept", "application/activity+json")
	req.Header.Set("User-Agent", d.userAgent)
	// Signed now, not when queued: receivers reject a Date more than a few
	// minutes old, and each retry needs a fresh one.
	if err := signAs(d.signer, req, body, scheme, d.now()); err != nil {
		return nil, err
	}
	return d.client.Do(req)
}

// parseRetryAfter reads a Retry-After value in seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
