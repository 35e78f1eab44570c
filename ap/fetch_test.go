package ap_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/ap/sig"
	"kith/store"
)

// signed reports whether r carries a signature of either scheme: RFC 9421
// (Signature-Input) or cavage (a Signature with a headers list).
func signed(r *http.Request) bool {
	return r.Header.Get("Signature-Input") != "" ||
		strings.Contains(r.Header.Get("Signature"), `headers="(request-target)`)
}

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
		if signed(r) {
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
		if signed(r) {
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

// signedFetchServer is a fake server in authorized-fetch mode: it serves a
// Note to GETs whose signature verifies with the kith instance key and is
// of a scheme it takes; any other GET gets refused, the status Mastodon and
// GoToSocial give to a signature they cannot read (see Fetcher.knock).
// Every request is counted, with the scheme it was signed with.
type signedFetchServer struct {
	srv     *httptest.Server
	rfc9421 bool // takes RFC 9421 signatures
	cavage  bool // takes cavage signatures
	refuse  int  // the status of a refused GET

	mu      sync.Mutex
	status  int      // when not 0, the answer to every GET (a 404, say)
	schemes []string // the scheme of each request, in order
}

func newSignedFetchServer(tb testing.TB, rfc9421, cavage bool, refuse int) *signedFetchServer {
	tb.Helper()
	pub := aptest.Key(tb, "kith-instance").Public()
	f := &signedFetchServer{rfc9421: rfc9421, cavage: cavage, refuse: refuse}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme := store.SignatureCavage
		if r.Header.Get("Signature-Input") != "" {
			scheme = store.SignatureRFC9421
		}
		f.mu.Lock()
		f.schemes = append(f.schemes, scheme)
		status := f.status
		f.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		takes := (scheme == store.SignatureRFC9421 && f.rfc9421) || (scheme == store.SignatureCavage && f.cavage)
		p, err := sig.Check(r, nil, time.Now())
		if err == nil {
			err = sig.Verify(r, p, pub)
		}
		if !takes || err != nil {
			http.Error(w, "signature not verified", f.refuse)
			return
		}
		w.Header().Set("Content-Type", "application/activity+json")
		w.Write([]byte(`{"id":"` + f.srv.URL + r.URL.Path + `","type":"Note","content":"hi"}`))
	}))
	tb.Cleanup(f.srv.Close)
	return f
}

// take returns the schemes of the requests since the last call.
func (f *signedFetchServer) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.schemes
	f.schemes = nil
	return s
}

// TestFetchDoubleKnock: fetches knock like deliveries. A host not known
// gets an RFC 9421 GET first; on a 401 or 403 the same GET again signed the
// cavage way, and the scheme that got in is remembered in the memory
// deliveries share, so the next fetch is one request. A 404 is an answer
// about the document and a refusal of both schemes teaches nothing; a
// scheme remembered from deliveries is used first.
func TestFetchDoubleKnock(t *testing.T) {
	const r9421, cavage = store.SignatureRFC9421, store.SignatureCavage
	tests := []struct {
		name           string
		rfc9421, cav   bool
		refuse, status int
		known          string   // remembered before the first fetch
		first, second  []string // the schemes of each fetch's requests
		remember       string
		wantErrStatus  int // 0: both fetches succeed
	}{
		{name: "RFC 9421 only", rfc9421: true, refuse: 401,
			first: []string{r9421}, second: []string{r9421}},
		{name: "cavage only, 401", cav: true, refuse: 401,
			first: []string{r9421, cavage}, second: []string{cavage}, remember: cavage},
		{name: "cavage only, 403", cav: true, refuse: 403,
			first: []string{r9421, cavage}, second: []string{cavage}, remember: cavage},
		{name: "both", rfc9421: true, cav: true, refuse: 401,
			first: []string{r9421}, second: []string{r9421}},
		{name: "cavage remembered from deliveries", cav: true, refuse: 401, known: cavage,
			first: []string{cavage}, second: []string{cavage}, remember: cavage},
		{name: "cavage remembered, host moved to RFC 9421", rfc9421: true, refuse: 401, known: cavage,
			first: []string{cavage, r9421}, second: []string{r9421}, remember: r9421},
		{name: "404 is not a refusal", rfc9421: true, cav: true, status: 404,
			first: []string{r9421}, second: []string{r9421}, wantErrStatus: 404},
		{name: "410 is not a refusal", cav: true, status: 410,
			first: []string{r9421}, second: []string{r9421}, wantErrStatus: 410},
		{name: "both refused", refuse: 401,
			first: []string{r9421, cavage}, second: []string{r9421, cavage}, wantErrStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			inst := aptest.NewInstance(t, aptest.InstanceOptions{})
			f := newSignedFetchServer(t, tt.rfc9421, tt.cav, tt.refuse)
			f.mu.Lock()
			f.status = tt.status
			f.mu.Unlock()
			host := strings.TrimPrefix(f.srv.URL, "https://")
			if tt.known != "" {
				if err := inst.DB.SetHostSignature(ctx, host, tt.known); err != nil {
					t.Fatal(err)
				}
			}
			for i, want := range [][]string{tt.first, tt.second} {
				_, _, err := inst.Service.Fetcher().GetObject(ctx, f.srv.URL+"/notes/1")
				var fe *ap.FetchError
				switch {
				case tt.wantErrStatus == 0 && err != nil:
					t.Fatalf("fetch %d: %v", i+1, err)
				case tt.wantErrStatus != 0 && (!errors.As(err, &fe) || fe.Status != tt.wantErrStatus):
					t.Fatalf("fetch %d: err = %v; want HTTP %d", i+1, err, tt.wantErrStatus)
				}
				if got := f.take(); !slices.Equal(got, want) {
					t.Errorf("fetch %d sent %v; want %v", i+1, got, want)
				}
			}
			if got, err := inst.DB.HostSignature(ctx, host); err != nil || got != tt.remember {
				t.Errorf("remembered %q (%v); want %q", got, err, tt.remember)
			}
		})
	}
}

// TestFetchMediaKnocksOnce: a media file gets no second knock (object
// stores answer 403 for a missing file), but is signed with the scheme
// remembered for its host.
func TestFetchMediaKnocksOnce(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	f := newSignedFetchServer(t, false, true, http.StatusForbidden)
	_, err := inst.Service.Fetcher().GetMedia(ctx, f.srv.URL+"/media/1.png", "image/png", 1<<20)
	var fe *ap.FetchError
	if !errors.As(err, &fe) || fe.Status != http.StatusForbidden {
		t.Fatalf("GetMedia: %v; want HTTP 403", err)
	}
	if got := f.take(); !slices.Equal(got, []string{store.SignatureRFC9421}) {
		t.Errorf("GetMedia sent %v; want one RFC 9421 GET", got)
	}
	if err := inst.DB.SetHostSignature(ctx, strings.TrimPrefix(f.srv.URL, "https://"), store.SignatureCavage); err != nil {
		t.Fatal(err)
	}
	if _, err := inst.Service.Fetcher().GetMedia(ctx, f.srv.URL+"/media/1.png", "image/png", 1<<20); err != nil {
		t.Fatal(err)
	}
	if got := f.take(); !slices.Equal(got, []string{store.SignatureCavage}) {
		t.Errorf("GetMedia to a host remembered as cavage sent %v; want one cavage GET", got)
	}
}

// TestWebFingerUnsigned: a WebFinger lookup goes unsigned, and reads
// nothing of the host's signature scheme; fetching the actor it names is
// still signed.
func TestWebFingerUnsigned(t *testing.T) {
	ctx := context.Background()
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	var mu sync.Mutex
	var got []string // "path signed?"
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.Path+" "+map[bool]string{true: "signed", false: "unsigned"}[signed(r)])
		mu.Unlock()
		if r.URL.Path == "/.well-known/webfinger" {
			w.Header().Set("Content-Type", "application/jrd+json")
			w.Write([]byte(`{"subject":"` + r.URL.Query().Get("resource") + `","links":[{"rel":"self","type":"application/activity+json","href":"` + srv.URL + `/notes/1"}]}`))
			return
		}
		w.Header().Set("Content-Type", "application/activity+json")
		w.Write([]byte(`{"id":"` + srv.URL + r.URL.Path + `","type":"Note","content":"hi"}`))
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "https://")
	iri, err := inst.Service.Fetcher().WebFinger(ctx, "ann", host)
	if err != nil || iri != srv.URL+"/notes/1" {
		t.Fatalf("WebFinger = %q, %v; want %s/notes/1", iri, err, srv.URL)
	}
	if _, _, err := inst.Service.Fetcher().GetObject(ctx, iri); err != nil {
		t.Fatal(err)
	}
	want := []string{"/.well-known/webfinger unsigned", "/notes/1 signed"}
	if !slices.Equal(got, want) {
		t.Errorf("requests %v; want %v", got, want)
	}
}
