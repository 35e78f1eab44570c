package ap_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"kith/ap/aptest"
)

// TestCloseIdleConnections: a connection to another server stays open
// after a fetch, for the next request, until CloseIdleConnections closes
// it (kith calls it once quiet after a burst, see memory.go).
func TestCloseIdleConnections(t *testing.T) {
	t.Parallel()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	var open atomic.Int32
	remote := httptest.NewUnstartedServer(nil)
	remote.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/activity+json")
		w.Write([]byte(`{"id":"` + remote.URL + r.URL.Path + `","type":"Note","content":"hi"}`))
	})
	remote.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	remote.StartTLS()
	defer remote.Close()

	if _, _, err := inst.Service.Fetcher().GetObject(context.Background(), remote.URL+"/notes/1"); err != nil {
		t.Fatal(err)
	}
	if n := open.Load(); n != 1 {
		t.Fatalf("connections open after a fetch: %d; want the one kept alive", n)
	}
	inst.Service.CloseIdleConnections()
	for deadline := time.Now().Add(5 * time.Second); open.Load() != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("connections still open 5 s after CloseIdleConnections: %d", open.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
