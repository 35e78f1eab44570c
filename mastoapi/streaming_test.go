package mastoapi

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"kith/ap/aptest"
)

// streamKit is a kit whose database tells a Hub of its changes, as main
// wires them, served on loopback for real connections.
func streamKit(t testing.TB, o ...aptest.InstanceOptions) (*kit, *httptest.Server) {
	t.Helper()
	k := newKit(t, append(o, aptest.InstanceOptions{})[0])
	hub := NewHub()
	k.inst.DB.Observe(hub.Publish)
	k.api.hub = hub
	srv := httptest.NewServer(k.h)
	t.Cleanup(srv.Close)
	return k, srv
}

// likeFromRemote has a fake remote account like the post iri, through
// the inbox with a signed Like, as Mastodon sends it.
func likeFromRemote(t *testing.T, k *kit, iri string) {
	t.Helper()
	remote := aptest.NewRemote(t, false)
	bob := remote.AddActor("bob", aptest.Key(t, "remote"))
	resp := bob.Post(t, remote.Client, k.inst.URLs.Inbox(), aptest.JSON(t, map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": bob.IRI + "#likes/1", "type": "Like",
		"actor": bob.IRI, "object": iri,
	}))
	if resp.StatusCode/100 != 2 {
		t.Fatalf("inbox answered %d", resp.StatusCode)
	}
	k.inst.Service.ProcessInbox(context.Background())
}

// TestStreamingWebSocket: a client on /api/v1/streaming with its token in
// Sec-WebSocket-Protocol (as Mastodon's web client and Elk send it) sees
// its post as an update on the user stream and, after subscribing by
// message, on a hashtag stream; a remote Like arrives as a notification,
// and the deletion as a delete.
func TestStreamingWebSocket(t *testing.T) {
	k, srv := streamKit(t)
	tok := k.login("read write")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/api/v1/streaming?stream=user",
		&websocket.DialOptions{Subprotocols: []string{tok}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != tok {
		t.Errorf("protocol answered %q, want the token", got)
	}
	sub, _ := json.Marshal(streamMessage{Type: "subscribe", Stream: "hashtag", Tag: "Kith"})
	if err := c.Write(ctx, websocket.MessageText, sub); err != nil {
		t.Fatal(err)
	}
	// The subscription is read on the server's own goroutine: give it a
	// moment before posting, bounded by the test's context.
	time.Sleep(100 * time.Millisecond)

	next := func(want string) event {
		t.Helper()
		rctx, done := context.WithTimeout(ctx, time.Second)
		defer done()
		for {
			_, b, err := c.Read(rctx)
			if err != nil {
				t.Fatalf("no %s event within a second: %v", want, err)
			}
			var e event
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("not an event: %s", b)
			}
			if e.Event == want {
				return e
			}
		}
	}
	st := decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses", token: tok,
		json: map[string]any{"status": "live from #kith"}}), 200)
	seen := map[string]bool{}
	for range 2 {
		e := next("update")
		var got Status
		if err := json.Unmarshal([]byte(e.Payload), &got); err != nil || got.ID != st.ID {
			t.Fatalf("update payload %q: %v", e.Payload, err)
		}
		seen[strings.Join(e.Stream, " ")] = true
	}
	if !seen["user"] || !seen["hashtag kith"] {
		t.Errorf("update seen on %v, want user and hashtag kith", seen)
	}

	likeFromRemote(t, k, st.URI)
	e := next("notification")
	var n Notification
	if err := json.Unmarshal([]byte(e.Payload), &n); err != nil || n.Type != "favourite" || n.Status == nil || n.Status.ID != st.ID {
		t.Fatalf("notification %q: %v", e.Payload, err)
	}

	k.do(request{method: "DELETE", path: "/api/v1/statuses/" + st.ID, token: tok})
	if e := next("delete"); e.Payload != st.ID {
		t.Errorf("delete payload %q, want %q", e.Payload, st.ID)
	}
}

// TestStreamingSSE: Mastodon.py's form, GET /api/v1/streaming/user with
// the token in the Authorization header, sees the post and the Like.
func TestStreamingSSE(t *testing.T) {
	k, srv := streamKit(t)
	tok := k.login("read write")
	next := sseStream(t, srv, tok)
	st := decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses", token: tok,
		json: map[string]any{"status": "hello stream"}}), 200)
	var got Status
	if err := json.Unmarshal([]byte(next("update")), &got); err != nil || got.ID != st.ID {
		t.Fatalf("update: %+v %v", got, err)
	}
	likeFromRemote(t, k, st.URI)
	var n Notification
	if err := json.Unmarshal([]byte(next("notification")), &n); err != nil || n.Type != "favourite" {
		t.Fatalf("notification: %+v %v", n, err)
	}
}

// TestStreamingRefusals: a made-up token, the user stream without one,
// an unknown stream and a hashtag without a tag are refused before any
// stream opens; health answers OK.
func TestStreamingRefusals(t *testing.T) {
	k, _ := streamKit(t)
	for _, c := range []struct {
		path, token string
		want        int
	}{
		{"/api/v1/streaming/user", "made-up", 401},
		{"/api/v1/streaming/user", "", 401},
		{"/api/v1/streaming?stream=nonsense", "", 400},
		{"/api/v1/streaming/hashtag", "", 400},
	} {
		if rec := k.do(request{method: "GET", path: c.path, token: c.token}); rec.Code != c.want || !strings.Contains(rec.Body.String(), `"error"`) {
			t.Errorf("%s with %q: %d %s, want %d", c.path, c.token, rec.Code, rec.Body, c.want)
		}
	}
	if rec := k.do(request{method: "GET", path: "/api/v1/streaming/health"}); rec.Code != 200 || rec.Body.String() != "OK" {
		t.Errorf("health: %d %q", rec.Code, rec.Body)
	}
}

// sseStream opens GET /api/v1/streaming/user with tok and returns a
// function that waits up to a second for the next event of a kind and
// returns its data.
func sseStream(t *testing.T, srv *httptest.Server, tok string) func(want string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/streaming/user", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("answer %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	type sse struct{ event, data string }
	events := make(chan sse, 16)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var cur sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				cur.event = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				cur.data = line[len("data: "):]
			case line == "" && cur.event != "":
				events <- cur
				cur = sse{}
			}
		}
	}()
	return func(want string) string {
		t.Helper()
		timeout := time.After(time.Second)
		for {
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatalf("stream ended before a %s event", want)
				}
				if e.event == want {
					return e.data
				}
			case <-timeout:
				t.Fatalf("no %s event within a second", want)
			}
		}
	}
}
