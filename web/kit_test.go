package web

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"kith/ap/aptest"
	"kith/static"
	"kith/store"
	"kith/templates"
)

const testPassword = "correct horse battery"

// testPasswordHash is computed once, at bcrypt's lowest cost: tests that
// check hundreds of passwords would otherwise spend seconds in bcrypt,
// which is slow on purpose. HashPassword's own cost is tested apart.
var testPasswordHash = sync.OnceValues(func() (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	return string(h), err
})

// kit is a kith instance with its pages, and a browser-like client that
// keeps the session cookie and the CSRF token.
type kit struct {
	t      testing.TB
	inst   *aptest.Instance
	h      *Handler
	cookie *http.Cookie
	csrf   string
}

// newKit starts an instance on a fresh database with the pages in front
// and the test password set. edit may change the pages' Config.
func newKit(t testing.TB, o aptest.InstanceOptions, edit ...func(*Config)) *kit {
	t.Helper()
	inst := aptest.NewInstance(t, o)
	cfg := Config{DB: inst.DB, AP: inst.Service, Templates: templates.FS, Static: static.FS, Logger: aptest.Logger(t), Now: o.Now}
	for _, e := range edit {
		e(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := testPasswordHash()
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.DB.SetPasswordHash(context.Background(), hash, time.Now()); err != nil {
		t.Fatal(err)
	}
	return &kit{t: t, inst: inst, h: h}
}

// do serves req, sending the session cookie if there is one.
func (k *kit) do(req *http.Request) *httptest.ResponseRecorder {
	k.t.Helper()
	if k.cookie != nil {
		req.AddCookie(k.cookie)
	}
	rec := httptest.NewRecorder()
	k.h.ServeHTTP(rec, req)
	return rec
}

func (k *kit) get(path string) *httptest.ResponseRecorder {
	k.t.Helper()
	return k.do(httptest.NewRequest(http.MethodGet, path, nil))
}

// post sends a urlencoded form with the session's CSRF token added.
func (k *kit) post(path string, form url.Values) *httptest.ResponseRecorder {
	k.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if k.csrf != "" && !form.Has("csrf") {
		form.Set("csrf", k.csrf)
	}
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return k.do(req)
}

// file is a file input of a multipart form.
type file struct {
	field, name string
	body        []byte
}

// multipartForm encodes fields and files as a browser would.
func multipartForm(t testing.TB, fields url.Values, files ...file) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	for _, f := range files {
		w, err := mw.CreateFormFile(f.field, f.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.body)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// postMultipart sends a multipart form with the CSRF token added.
func (k *kit) postMultipart(path string, fields url.Values, files ...file) *httptest.ResponseRecorder {
	k.t.Helper()
	if fields == nil {
		fields = url.Values{}
	}
	if k.csrf != "" && !fields.Has("csrf") {
		fields.Set("csrf", k.csrf)
	}
	body, ct := multipartForm(k.t, fields, files...)
	req := httptest.NewRequest(http.MethodPost, path, body)
	req.Header.Set("Content-Type", ct)
	return k.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login logs in through the form and reads the CSRF token from a page.
func (k *kit) login() {
	k.t.Helper()
	rec := k.post("/login", url.Values{"password": {testPassword}})
	if rec.Code != http.StatusSeeOther {
		k.t.Fatalf("login: status %d; want 303\n%s", rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == "kith_session" || c.Name == "__Host-kith_session" {
			k.cookie = c
		}
	}
	if k.cookie == nil {
		k.t.Fatal("login set no session cookie")
	}
	page := k.get("/compose")
	m := csrfField.FindStringSubmatch(page.Body.String())
	if m == nil {
		k.t.Fatalf("no CSRF token on the compose page:\n%s", page.Body)
	}
	k.csrf = m[1]
}

// visitor is a client of the same instance without a session.
func (k *kit) visitor() *kit {
	return &kit{t: k.t, inst: k.inst, h: k.h}
}

// pngImage encodes a w×h PNG filled with c.
func pngImage(t testing.TB, w, h int, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fedGET asks the ActivityPub side for a document, as a remote server
// would.
func (k *kit) fedGET(url string) (int, map[string]any) {
	k.t.Helper()
	req := httptest.NewRequest(http.MethodGet, strings.TrimPrefix(url, k.inst.URLs.Base()), nil)
	req.Header.Set("Accept", "application/activity+json")
	rec := httptest.NewRecorder()
	k.inst.Service.Handler().ServeHTTP(rec, req)
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		k.t.Fatalf("GET %s: status %d, not JSON: %v\n%s", url, rec.Code, err, rec.Body)
	}
	return rec.Code, doc
}

// location is the path of a redirect.
func location(t testing.TB, rec *httptest.ResponseRecorder) string {
	t.Helper()
	loc := rec.Header().Get("Location")
	if loc == "" {
		t.Fatalf("status %d without Location; want a redirect\n%s", rec.Code, rec.Body)
	}
	return loc
}

// postIDFrom reads the post id from a redirect to /@me/ID?….
func postIDFrom(t testing.TB, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("status %d; want 303\n%s", rec.Code, rec.Body)
	}
	u, err := url.Parse(location(t, rec))
	if err != nil {
		t.Fatal(err)
	}
	id, ok := strings.CutPrefix(u.Path, "/@me/")
	if !ok || id == "" {
		t.Fatalf("redirect to %s; want the post page /@me/ID", u)
	}
	return id
}

// zeros reads as endless zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// bigUpload builds a multipart body with a file of size bytes, streamed so
// the test does not hold it in memory.
func bigUpload(t testing.TB, fields url.Values, size int64) (io.Reader, int64, string) {
	t.Helper()
	var head, tail bytes.Buffer
	sw := &switchWriter{w: &head}
	mw := multipart.NewWriter(sw)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	if _, err := mw.CreateFormFile("file-1", "huge.png"); err != nil {
		t.Fatal(err)
	}
	sw.w = &tail
	mw.Close()
	n := int64(head.Len()) + size + int64(tail.Len())
	return io.MultiReader(&head, io.LimitReader(zeros{}, size), &tail), n, mw.FormDataContentType()
}

type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

// follow builds a Mastodon-style Follow of the instance's account by a.
func follow(a *aptest.RemoteActor, inst *aptest.Instance) map[string]any {
	return map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       a.IRI + "#follows/1",
		"type":     "Follow",
		"actor":    a.IRI,
		"object":   inst.URLs.Actor(),
	}
}

// addFollower makes alice on a fresh fake server follow the instance.
func (k *kit) addFollower() (*aptest.Remote, *aptest.RemoteActor) {
	k.t.Helper()
	remote := aptest.NewRemote(k.t, false)
	alice := remote.AddActor("alice", aptest.Key(k.t, "remote"))
	resp := alice.Post(k.t, remote.Client, k.inst.URLs.Inbox(), aptest.JSON(k.t, follow(alice, k.inst)))
	if resp.StatusCode != http.StatusAccepted {
		k.t.Fatalf("Follow: status %d", resp.StatusCode)
	}
	if _, err := k.inst.Service.ProcessInbox(context.Background()); err != nil {
		k.t.Fatal(err)
	}
	return remote, alice
}

// counts reports how many posts and uploads are stored.
func (k *kit) counts() (posts, media int) {
	k.t.Helper()
	ctx := context.Background()
	posts, err := k.inst.DB.CountLocalPosts(ctx)
	if err != nil {
		k.t.Fatal(err)
	}
	media, err = k.inst.DB.CountMedia(ctx)
	if err != nil {
		k.t.Fatal(err)
	}
	return posts, media
}

// publishPost publishes a text through the compose form and returns the
// stored post.
func (k *kit) publishPost(text, visibility string) *store.Post {
	k.t.Helper()
	p, err := k.inst.DB.PostByLocalID(context.Background(), k.publish(text, visibility))
	if err != nil {
		k.t.Fatal(err)
	}
	return p
}

// publish posts a text through the compose form and returns its id.
func (k *kit) publish(text, visibility string) string {
	k.t.Helper()
	return postIDFrom(k.t, k.postMultipart("/compose", url.Values{"text": {text}, "visibility": {visibility}, "action": {"publish"}}))
}
