package ap_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"kith/ap/aptest"
)

// TestFetchRedirects: the fetcher follows at most two redirects, signing
// each hop itself, and a document reached through a redirect must have its
// id on the host that finally answered: a redirect to another host does
// not let that host speak for the first.
func TestFetchRedirects(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	var other *httptest.Server
	var signedHops atomic.Int32 // requests that carried a signature
	doc := func(w http.ResponseWriter, id string) {
		w.Header().Set("Content-Type", "application/activity+json")
		w.Write([]byte(`{"id":"` + id + `","type":"Note","content":"hi"}`))
	}
	other = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Signature"), `headers="(request-target)`) {
			signedHops.Add(1)
		}
		switch r.URL.Path {
		case "/own":
			doc(w, other.URL+"/own")
		case "/posing":
			doc(w, "https://first.invalid/notes/1") // claims another host
		}
	}))
	defer other.Close()
	var first *httptest.Server
	first = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Signature"), `headers="(request-target)`) {
			signedHops.Add(1)
		}
		switch r.URL.Path {
		case "/to-own":
			http.Redirect(w, r, other.URL+"/own", http.StatusFound)
		case "/to-posing":
			http.Redirect(w, r, other.URL+"/posing", http.StatusFound)
		case "/hop1":
			http.Redirect(w, r, "/hop2", http.StatusFound)
		case "/hop2":
			http.Redirect(w, r, "/hop3", http.StatusFound)
		case "/hop3":
			http.Redirect(w, r, "/end", http.StatusFound)
		case "/two1":
			http.Redirect(w, r, "/two2", http.StatusFound)
		case "/two2":
			http.Redirect(w, r, "/end", http.StatusFound)
		case "/end":
			doc(w, first.URL+"/end")
		}
	}))
	defer first.Close()

	tests := []struct {
		path   string
		wantID string // "" means refused
		errHas string
	}{
		{"/to-own", other.URL + "/own", ""},
		{"/to-posing", "", "not on the host it came from"},
		{"/two1", first.URL + "/end", ""},
		{"/hop1", "", "more than 2 redirects"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			signedHops.Store(0)
			_, id, err := inst.Service.Fetcher().GetObject(ctx, first.URL+tt.path)
			if tt.wantID == "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("GetObject = %q, %v; want an error saying %q", id, err, tt.errHas)
				}
				return
			}
			if err != nil || id != tt.wantID {
				t.Fatalf("GetObject = %q, %v; want id %q", id, err, tt.wantID)
			}
			if n := signedHops.Load(); n < 2 {
				t.Errorf("%d hops carried a signature; want every hop signed", n)
			}
		})
	}
}
