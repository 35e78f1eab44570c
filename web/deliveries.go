package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"kith/store"
)

// Lengths of the lists on the delivery status page.
const (
	failingHostsShown = 50
	failuresShown     = 50
)

// deliveriesPage is the data of deliveries.html.
type deliveriesPage struct {
	page
	Queue     store.QueueStats
	NextTry   time.Time // when the next delivery falls due, while none is
	Hosts     []hostView
	AnyPaused bool
	Failures  []failureView
}

// hostView is a failing server as the owner reads about it.
type hostView struct {
	Host        string
	Paused      bool
	Status      string // what is going on, in a sentence
	Failures    int
	LastError   string
	LastFailure time.Time
	Since       time.Time
	Pending     int
}

// failureView is a delivery that kith gave up on.
type failureView struct {
	What  string // e.g. "Create"
	IRI   string // the activity
	Inbox string
	Host  string
	Tries int
	Error string
	When  time.Time
}

// showDeliveries shows the queue, the servers that keep failing, and the
// deliveries given up on recently.
func (h *Handler) showDeliveries(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := h.now()
	p, err := h.basePage(r, "Deliveries")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := &deliveriesPage{page: p}
	data.Title = "Deliveries · " + p.Site.Name
	if data.Queue, err = h.db.DeliveryStats(ctx, now); err != nil {
		h.serverError(w, r, err)
		return
	}
	if data.Queue.Pending > 0 && data.Queue.Due == 0 {
		// Everything waits for a retry: say when the next one goes.
		if data.NextTry, _, err = h.db.NextDeliveryAt(ctx); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	hosts, err := h.db.FailingHosts(ctx, failingHostsShown)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	for _, host := range hosts {
		v := viewHost(host, now)
		data.AnyPaused = data.AnyPaused || v.Paused
		data.Hosts = append(data.Hosts, v)
	}
	failures, err := h.db.RecentDeliveryFailures(ctx, failuresShown)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	for _, f := range failures {
		data.Failures = append(data.Failures, failureView{
			What: f.ActivityType, IRI: f.ActivityIRI, Inbox: f.Inbox, Host: f.Host,
			Tries: f.Tries, Error: f.Error, When: f.FailedAt,
		})
	}
	q := r.URL.Query()
	// The notice comes from the URL, which anyone can write: only a host
	// name is repeated.
	if host := q.Get("retried"); hostLike(host) {
		switch n, _ := strconv.Atoi(q.Get("n")); n {
		case 0:
			data.Flash = "Nothing was waiting for " + host + "; it will be tried again with the next delivery."
		case 1:
			data.Flash = "One delivery to " + host + " is being sent now."
		default:
			data.Flash = fmt.Sprintf("%d deliveries to %s are being sent now.", n, host)
		}
	}
	h.render(w, r, http.StatusOK, "deliveries", data)
}

// viewHost describes a failing host in plain words.
func viewHost(host store.Host, now time.Time) hostView {
	v := hostView{
		Host: host.Host, Paused: !host.UnavailableSince.IsZero(), Failures: host.Failures,
		LastError: host.LastError, LastFailure: host.LastFailureAt, Since: host.FailingSince, Pending: host.Pending,
	}
	failing := "recently"
	if !host.FailingSince.IsZero() {
		failing = "for " + duration(now.Sub(host.FailingSince))
	}
	if v.Paused {
		v.Status = "Paused: this server has failed " + failing +
			"; kith will try again when it contacts us or when you press Retry now."
	} else {
		v.Status = "Failing " + failing + "; kith keeps trying, waiting longer after each failure."
	}
	return v
}

// hostLike reports whether s looks like a host, with an optional port:
// letters, digits, dots, hyphens, colons and the brackets of an IPv6
// address, at most 255 bytes.
func hostLike(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)) {
			return false
		}
	}
	return true
}

// duration says how long d is the way people say it: "3 days", "an hour".
func duration(d time.Duration) string {
	unit := func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return strconv.Itoa(n) + " " + many
	}
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return unit(int(d/time.Minute), "a minute", "minutes")
	case d < 48*time.Hour:
		return unit(int(d/time.Hour), "an hour", "hours")
	}
	return unit(int(d/(24*time.Hour)), "a day", "days")
}

// submitRetryHost makes every delivery waiting for a host due now, clears
// its failure streak, and wakes the deliverer.
func (h *Handler) submitRetryHost(w http.ResponseWriter, r *http.Request) {
	host := strings.ToLower(strings.TrimSpace(r.PostFormValue("host")))
	if !hostLike(host) {
		h.showError(w, r, http.StatusBadRequest, "No server named", "The form did not say which server to retry. Go back and press Retry now next to a server.")
		return
	}
	n, err := h.db.RetryHost(r.Context(), host, h.now())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.ap.Deliverer().Wake()
	h.log.Info("deliveries retried by the owner", "host", host, "deliveries", n)
	q := url.Values{"retried": {host}, "n": {strconv.FormatInt(n, 10)}}
	http.Redirect(w, r, "/settings/deliveries?"+q.Encode(), http.StatusSeeOther)
}
