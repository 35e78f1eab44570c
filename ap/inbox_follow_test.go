package ap_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
	"kith/store/storetest"
)

// snacRequest is one POST from the snac capture, exactly as it was sent.
type snacRequest struct {
	line int // where it starts in the file
	req  *http.Request
	body []byte
}

// snacCapture reads testdata/fixtures/snac-signed-requests.txt: snac's
// public key and the signed POSTs it sent to an account cap2@me.lab.
func snacCapture(t *testing.T) (publicKeyPEM string, posts []snacRequest) {
	t.Helper()
	text := string(fixture(t, "snac-signed-requests.txt"))
	begin := strings.Index(text, "-----BEGIN PUBLIC KEY-----")
	end := strings.Index(text, "-----END PUBLIC KEY-----")
	if begin < 0 || end < begin {
		t.Fatal("no public key in the snac capture")
	}
	publicKeyPEM = text[begin:end+len("-----END PUBLIC KEY-----")] + "\n"
	parts := strings.Split(text, "\n===== ")
	line := strings.Count(parts[0], "\n") + 2
	for _, part := range parts[1:] {
		_, raw, _ := strings.Cut(part, "\n") // the rest of the separator line
		if strings.HasPrefix(raw, "POST ") {
			req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
			if err != nil {
				t.Fatalf("snac capture, line %d: %v", line, err)
			}
			body, err := io.ReadAll(req.Body)
			if err != nil {
				t.Fatalf("snac capture, line %d: %v", line, err)
			}
			posts = append(posts, snacRequest{line: line, req: req, body: body})
		}
		line += strings.Count(part, "\n") + 1
	}
	return publicKeyPEM, posts
}

// snacPost finds the captured POST whose body has the given type.
func snacPost(t *testing.T, posts []snacRequest, typ string) snacRequest {
	t.Helper()
	for _, p := range posts {
		if strings.Contains(string(p.body), `"type": "`+typ+`"`) {
			return p
		}
	}
	t.Fatalf("no %s in the snac capture", typ)
	return snacRequest{}
}

// replay sends a captured request to h again, with a fresh body reader.
func replay(h http.Handler, p snacRequest) *httptest.ResponseRecorder {
	r := p.req.Clone(context.Background())
	r.Body = io.NopCloser(strings.NewReader(string(p.body)))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// roundTripFunc makes a function an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestSnacWithdrawsFollow replays snac 2.94's own signed bytes: its Follow
// of cap2@me.lab, then its Undo, whose id snac makes inside our namespace
// and whose object is our actor. The Undo is accepted because its signer
// is the follower, for a request still waiting for approval and for an
// accepted follow, and each is logged for what it is.
func TestSnacWithdrawsFollow(t *testing.T) {
	tests := []struct {
		name    string
		locked  bool
		state   string
		wantLog string
	}{
		{"pending request", true, store.Pending, "withdrew the follow request"},
		{"accepted follow", false, store.Accepted, "follower left"},
	}
	pubPEM, posts := snacCapture(t)
	followReq, undoReq := snacPost(t, posts, "Follow"), snacPost(t, posts, "Undo")
	const snac = "https://snac.lab/alice"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			var mu sync.Mutex
			var logs []string
			db := storetest.Open(t)
			acct := &store.Account{
				Domain: "me.lab", Username: "cap2", Locked: tt.locked,
				PrivateKeyPEM: aptest.KeyPEM(t, "kith"), PublicKeyPEM: aptest.PublicPEM(t, aptest.Key(t, "kith")),
				InstancePrivateKeyPEM: aptest.KeyPEM(t, "kith-instance"),
				InstancePublicKeyPEM:  aptest.PublicPEM(t, aptest.Key(t, "kith-instance")),
				CreatedAt:             time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC),
			}
			if err := db.CreateAccount(ctx, acct); err != nil {
				t.Fatal(err)
			}
			// snac's actor as kith had cached it: nothing is fetched.
			clock := aptest.NewClock(time.Date(2026, 11, 23, 18, 59, 10, 0, time.UTC))
			err := db.PutKeyOwner(ctx, &store.Actor{
				IRI: snac, Type: "Person", Username: "alice", Host: "snac.lab",
				Inbox: snac + "/inbox", KeyID: snac + "#main-key", PublicKeyPEM: pubPEM, FetchedAt: clock.Now(),
			})
			if err != nil {
				t.Fatal(err)
			}
			svc, err := ap.New(ctx, ap.Config{
				URLs: ap.NewURLs("me.lab", "cap2").WithScheme("https"),
				DB:   db,
				Client: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
					return nil, errors.New("no network in this test: " + r.URL.String())
				})},
				Now: clock.Now,
				Logger: aptest.LoggerFunc(t, func(line string) {
					mu.Lock()
					logs = append(logs, line)
					mu.Unlock()
				}),
			})
			if err != nil {
				t.Fatal(err)
			}
			h := svc.Handler()

			if w := replay(h, followReq); w.Code != http.StatusAccepted {
				t.Fatalf("snac's Follow (line %d): %d %s; want 202", followReq.line, w.Code, w.Body)
			}
			if _, err := svc.ProcessInbox(ctx); err != nil {
				t.Fatal(err)
			}
			if f, err := db.Follower(ctx, snac); err != nil || f.State != tt.state {
				t.Fatalf("after the Follow: %+v, %v; want %s", f, err, tt.state)
			}

			clock.Advance(12 * time.Second) // the Undo's Date
			if w := replay(h, undoReq); w.Code != http.StatusAccepted {
				t.Fatalf("snac's Undo (line %d): %d %s; want 202", undoReq.line, w.Code, w.Body)
			}
			if _, err := svc.ProcessInbox(ctx); err != nil {
				t.Fatal(err)
			}
			if f, err := db.Follower(ctx, snac); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("after the Undo: %+v, %v; want no follower and no request", f, err)
			}
			if _, pending, _ := db.CountInbox(ctx); pending != 0 {
				t.Errorf("%d activities still pending", pending)
			}
			mu.Lock()
			defer mu.Unlock()
			found := false
			for _, l := range logs {
				found = found || strings.Contains(l, tt.wantLog)
				if tt.state == store.Pending && strings.Contains(l, "follower left") {
					t.Errorf("a withdrawn request logged as a follower leaving: %s", l)
				}
			}
			if !found {
				t.Errorf("no log line %q", tt.wantLog)
			}
		})
	}
}

// TestForeignUndoIDOnlyForOurActor: the exception for snac's Undo does
// not let any activity carry an id in our namespace.
func TestForeignUndoIDOnlyForOurActor(t *testing.T) {
	inst := aptest.NewInstance(t, aptest.InstanceOptions{})
	remote := aptest.NewRemote(t, false)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	for name, act := range map[string]map[string]any{
		"Follow with our id": {"id": inst.URLs.Actor() + "/Follow_1", "type": "Follow", "actor": alice.IRI, "object": inst.URLs.Actor()},
		"Undo of another object": {"id": inst.URLs.Actor() + "/Undo_1", "type": "Undo", "actor": alice.IRI,
			"object": inst.URLs.Actor() + "/posts/1"},
	} {
		if resp := alice.Post(t, remote.Client, inst.URLs.Inbox(), aptest.JSON(t, act)); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d; want 400", name, resp.StatusCode)
		}
	}
}
