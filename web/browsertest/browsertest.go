// Package browsertest drives a real Chromium from Go tests through the
// DevTools protocol over a pipe (--remote-debugging-pipe): JSON messages
// separated by NUL bytes on file descriptors 3 (to the browser) and 4
// (from it). No WebSocket and no third-party library are needed for the
// handful of commands the page tests use.
//
// Find reports whether a browser is installed; when KITH_BROWSER_TEST is
// "require" a missing browser fails the test instead of skipping it, so
// CI cannot pass without running the browser tests.
package browsertest

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Find returns the path of a Chromium binary, or skips the test (fails it
// when KITH_BROWSER_TEST=require).
func Find(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{os.Getenv("KITH_CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("KITH_BROWSER_TEST") == "require" {
		tb.Fatal("no Chromium found and KITH_BROWSER_TEST=require: install Debian's chromium package (apt-get install chromium)")
	}
	tb.Skip("no Chromium found; install Debian's chromium package to run the browser tests")
	return ""
}

// Browser is one headless Chromium with one page.
type Browser struct {
	tb       testing.TB
	cmd      *exec.Cmd
	toChrome io.WriteCloser
	session  string
	timeout  time.Duration

	mu      sync.Mutex
	nextID  int
	waiting map[int]chan message
	events  chan message
	done    chan struct{}
	readErr error
}

type message struct {
	ID     int             `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
	SessionID string `json:"sessionId,omitempty"`
}

// Start launches a headless Chromium, opens a page, and stops the browser
// when the test ends.
func Start(tb testing.TB, path string) *Browser {
	tb.Helper()
	toChromeR, toChromeW, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	fromChromeR, fromChromeW, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	profile := tb.TempDir()
	// The flags of a quiet, self-contained headless browser: no network
	// of its own (this machine's sandbox refuses it), no first-run pages,
	// no GPU, no sandbox when running as root in CI, and trust in the
	// loopback test servers' self-signed certificate.
	cmd := exec.Command(path,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
		"--window-size=1000,1400", "--ignore-certificate-errors", "--user-data-dir="+profile, "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{toChromeR, fromChromeW} // fd 3 and fd 4 in the child
	var stderr strings.Builder
	cmd.Stderr = &limitedWriter{w: &stderr, n: 64 << 10}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", path, err)
	}
	toChromeR.Close()
	fromChromeW.Close()
	b := &Browser{
		tb: tb, cmd: cmd, toChrome: toChromeW, timeout: 20 * time.Second,
		waiting: map[int]chan message{}, events: make(chan message, 256), done: make(chan struct{}),
	}
	go b.read(fromChromeR)
	tb.Cleanup(func() {
		b.toChrome.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if tb.Failed() && stderr.Len() > 0 {
			tb.Logf("chromium stderr:\n%s", stderr.String())
		}
	})

	var target struct{ TargetID string }
	b.browserCall("Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct{ SessionID string }
	b.browserCall("Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	b.session = attached.SessionID
	b.Call("Page.enable", nil, nil)
	b.Call("Runtime.enable", nil, nil)
	return b
}

// read dispatches the browser's messages: answers to their callers, events
// to the event channel.
func (b *Browser) read(r io.Reader) {
	defer close(b.done)
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			b.readErr = err
			b.mu.Unlock()
			return
		}
		var m message
		if json.Unmarshal(raw[:len(raw)-1], &m) != nil {
			continue
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.waiting[m.ID]
			delete(b.waiting, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		select {
		case b.events <- m:
		default: // nobody is listening for this many events; drop
		}
	}
}

func (b *Browser) send(session, method string, params any, result any) error {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan message, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	req := map[string]any{"id": id, "method": method}
	if params != nil {
		req["params"] = params
	}
	if session != "" {
		req["sessionId"] = session
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := b.toChrome.Write(append(body, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if result != nil && len(m.Result) > 0 {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-b.done:
		return fmt.Errorf("%s: the browser went away: %v", method, b.readErr)
	case <-time.After(b.timeout):
		return fmt.Errorf("%s: no answer within %s", method, b.timeout)
	}
}

func (b *Browser) browserCall(method string, params, result any) {
	b.tb.Helper()
	if err := b.send("", method, params, result); err != nil {
		b.tb.Fatal(err)
	}
}

// Call sends a DevTools command to the page and decodes its result.
func (b *Browser) Call(method string, params, result any) {
	b.tb.Helper()
	if err := b.send(b.session, method, params, result); err != nil {
		b.tb.Fatal(err)
	}
}

// Navigate loads url and waits for its load event.
func (b *Browser) Navigate(url string) {
	b.tb.Helper()
	b.drainEvents()
	var res struct{ ErrorText string }
	b.Call("Page.navigate", map[string]any{"url": url}, &res)
	if res.ErrorText != "" {
		b.tb.Fatalf("navigate to %s: %s", url, res.ErrorText)
	}
	b.WaitLoad()
}

// WaitLoad waits for the next page load to finish.
func (b *Browser) WaitLoad() {
	b.tb.Helper()
	deadline := time.After(b.timeout)
	for {
		select {
		case ev := <-b.events:
			if ev.Method == "Page.loadEventFired" && ev.SessionID == b.session {
				return
			}
		case <-deadline:
			b.tb.Fatalf("page did not finish loading within %s", b.timeout)
		case <-b.done:
			b.tb.Fatalf("the browser went away: %v", b.readErr)
		}
	}
}

func (b *Browser) drainEvents() {
	for {
		select {
		case <-b.events:
		default:
			return
		}
	}
}

// Eval runs a JavaScript expression in the page and decodes its value.
func (b *Browser) Eval(expr string, result any) {
	b.tb.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	b.Call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &res)
	if res.ExceptionDetails != nil {
		b.tb.Fatalf("script %q failed: %s %s", expr, res.ExceptionDetails.Text, res.ExceptionDetails.Exception.Description)
	}
	if result != nil && len(res.Result.Value) > 0 {
		if err := json.Unmarshal(res.Result.Value, result); err != nil {
			b.tb.Fatal(err)
		}
	}
}

// Text returns document.body.innerText, what a person reads on the page.
func (b *Browser) Text() string {
	b.tb.Helper()
	var s string
	b.Eval("document.body.innerText", &s)
	return s
}

// SetValue types value into the form field matched by selector.
func (b *Browser) SetValue(selector, value string) {
	b.tb.Helper()
	sel, _ := json.Marshal(selector)
	val, _ := json.Marshal(value)
	var ok bool
	b.Eval(fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) return false;
		e.focus(); e.value = %s; e.dispatchEvent(new Event('input', {bubbles: true})); return true })()`, sel, val), &ok)
	if !ok {
		b.tb.Fatalf("no element %s on the page:\n%s", selector, b.Text())
	}
}

// Click clicks the element matched by selector and, when it submits a form
// or follows a link, waits for the next page to load.
func (b *Browser) Click(selector string, navigates bool) {
	b.tb.Helper()
	b.drainEvents()
	sel, _ := json.Marshal(selector)
	var ok bool
	b.Eval(fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) return false; e.click(); return true })()`, sel), &ok)
	if !ok {
		b.tb.Fatalf("no element %s on the page:\n%s", selector, b.Text())
	}
	if navigates {
		b.WaitLoad()
	}
}

// SetFiles puts local files into the file input matched by selector, as a
// person choosing them in the file dialog would.
func (b *Browser) SetFiles(selector string, paths ...string) {
	b.tb.Helper()
	var doc struct {
		Root struct{ NodeID int }
	}
	b.Call("DOM.getDocument", map[string]any{"depth": 0}, &doc)
	var q struct{ NodeID int }
	b.Call("DOM.querySelector", map[string]any{"nodeId": doc.Root.NodeID, "selector": selector}, &q)
	if q.NodeID == 0 {
		b.tb.Fatalf("no element %s on the page", selector)
	}
	b.Call("DOM.setFileInputFiles", map[string]any{"nodeId": q.NodeID, "files": paths}, nil)
}

// Screenshot saves a PNG of the page to path.
func (b *Browser) Screenshot(path string) {
	b.tb.Helper()
	var res struct{ Data string }
	b.Call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &res)
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		b.tb.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.tb.Fatal(err)
	}
}

// URL returns the page's current address.
func (b *Browser) URL() string {
	b.tb.Helper()
	var s string
	b.Eval("location.href", &s)
	return s
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
