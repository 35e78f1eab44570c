package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
)

// TestDeliveriesPage: a server answering 503 is listed with what went
// wrong, and Retry now makes its deliveries due at once and clears its
// failure streak.
func TestDeliveriesPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := aptest.NewClock(time.Now())
	// Retries an hour apart, so nothing is due again while the test looks.
	k := newKit(t, aptest.InstanceOptions{Now: clock.Now, Delivery: ap.DeliveryOptions{FirstRetry: time.Hour}})
	remote, _ := k.addFollower()
	remote.SetInboxStatus(func(*http.Request) int { return http.StatusServiceUnavailable })
	k.login()
	k.publish("Hello followers", "public")
	k.inst.Service.Deliverer().RunOnce(ctx) // the Accept and the Create fail
	clock.Advance(20 * time.Minute)

	st, err := k.inst.DB.DeliveryStats(ctx, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending == 0 || st.Due != 0 || st.Retrying != st.Pending {
		t.Fatalf("queue = %+v; want deliveries waiting to be retried later", st)
	}
	page := k.get("/settings/deliveries").Body.String()
	for _, want := range []string{
		"<h3>" + remote.Host,
		"Failing for 20 minutes; kith keeps trying",
		"503",
		`<input type="hidden" name="host" value="` + remote.Host + `">`,
		"Retry now",
		`class="next-try"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("deliveries page lacks %q", want)
		}
	}

	rec := k.post("/settings/deliveries/retry", url.Values{"host": {remote.Host}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("retry: status %d", rec.Code)
	}
	after, _ := k.inst.DB.DeliveryStats(ctx, clock.Now())
	if after.Due != st.Pending {
		t.Errorf("queue after Retry now = %+v; want all %d deliveries due", after, st.Pending)
	}
	host, err := k.inst.DB.HostByName(ctx, remote.Host)
	if err != nil {
		t.Fatal(err)
	}
	if !host.FailingSince.IsZero() {
		t.Errorf("host = %+v; want its failure streak cleared", host)
	}
	page = k.get(location(t, rec)).Body.String()
	if want := fmt.Sprintf("%d deliveries to %s are being sent now.", st.Pending, remote.Host); !strings.Contains(page, want) {
		t.Errorf("the page does not confirm the retry with %q", want)
	}
	if strings.Contains(page, "<h3>"+remote.Host) {
		t.Error("the host is still listed as failing after Retry now")
	}
	// The notice repeats only a host name from its URL.
	page = k.get("/settings/deliveries?n=2&retried=" + url.QueryEscape("your password leaked; log in at evil.example")).Body.String()
	if strings.Contains(page, "password leaked") {
		t.Error("the notice repeated free text from the URL")
	}
	if rec := k.post("/settings/deliveries/retry", url.Values{"host": {"not a host"}}); rec.Code != http.StatusBadRequest {
		t.Errorf("retry of %q: status %d; want 400", "not a host", rec.Code)
	}
	// The remote recovers and gets everything on the next run.
	remote.SetInboxStatus(nil)
	k.inst.Service.Deliverer().RunOnce(ctx)
	if st, _ := k.inst.DB.DeliveryStats(ctx, clock.Now()); st.Pending != 0 {
		t.Errorf("queue after the retry run = %+v; want empty", st)
	}
}

// TestDeliveriesPageExplainsPausedHosts: a host that failed long enough is
// shown as paused, in plain words.
func TestDeliveriesPageExplainsPausedHosts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := aptest.NewClock(time.Now())
	k := newKit(t, aptest.InstanceOptions{Now: clock.Now, Delivery: ap.DeliveryOptions{
		UnavailableAfter: time.Hour, GiveUpAfter: 3 * time.Hour, FirstRetry: 10 * time.Minute,
	}})
	remote, _ := k.addFollower()
	remote.SetInboxStatus(func(*http.Request) int { return http.StatusBadGateway })
	d := k.inst.Service.Deliverer()
	for range 5 {
		d.RunOnce(ctx)
		clock.Advance(30 * time.Minute)
	}
	host, err := k.inst.DB.HostByName(ctx, remote.Host)
	if err != nil || host.UnavailableSince.IsZero() {
		t.Fatalf("host = %+v, %v; want it paused", host, err)
	}
	k.login()
	page := k.get("/settings/deliveries").Body.String()
	want := "Paused: this server has failed for 2 hours; kith will try again when it contacts us or when you press Retry now."
	if !strings.Contains(page, want) {
		t.Errorf("deliveries page lacks %q", want)
	}
	if !strings.Contains(page, `<span class="badge">paused</span>`) {
		t.Error("the paused host has no badge")
	}

}

// TestDeliveriesPageListsGivenUp: a delivery refused for good is listed
// with its activity, server, tries and error.
func TestDeliveriesPageListsGivenUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	remote, _ := k.addFollower()
	remote.SetInboxStatus(func(*http.Request) int { return http.StatusForbidden })
	k.inst.Service.Deliverer().RunOnce(ctx)
	k.login()
	page := k.get("/settings/deliveries").Body.String()
	i := strings.Index(page, "Given up recently")
	if i < 0 {
		t.Fatal("no list of given-up deliveries")
	}
	list := page[i:]
	for _, want := range []string{"<strong>Accept</strong> to " + remote.Host, "403", "after 1 try"} {
		if !strings.Contains(list, want) {
			t.Errorf("given-up list lacks %q:\n%s", want, list)
		}
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Second, "less than a minute"},
		{time.Minute, "a minute"},
		{59 * time.Minute, "59 minutes"},
		{time.Hour, "an hour"},
		{47 * time.Hour, "47 hours"},
		{48 * time.Hour, "2 days"},
		{3*24*time.Hour + 5*time.Hour, "3 days"},
	}
	for _, tt := range tests {
		if got := duration(tt.d); got != tt.want {
			t.Errorf("duration(%v) = %q; want %q", tt.d, got, tt.want)
		}
	}
}
