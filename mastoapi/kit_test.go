package mastoapi

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"kith/ap/aptest"
	"kith/static"
	"kith/templates"
	"kith/web"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const testPassword = "correct horse battery"

// testPasswordHash is made once at bcrypt's lowest cost, so the tests do
// not spend seconds in a hash that is slow on purpose.
var testPasswordHash = sync.OnceValues(func() (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	return string(h), err
})

// kit is a kith instance with the pages and the client API in front, as
// main mounts them.
type kit struct {
	t    testing.TB
	inst *aptest.Instance
	api  *Handler
	h    http.Handler
}

func newKit(t testing.TB, o aptest.InstanceOptions) *kit {
	t.Helper()
	inst := aptest.NewInstance(t, o)
	pages, err := web.New(web.Config{DB: inst.DB, AP: inst.Service, Templates: templates.FS, Static: static.FS, Logger: aptest.Logger(t), Now: o.Now})
	if err != nil {
		t.Fatal(err)
	}
	api, err := New(Config{DB: inst.DB, AP: inst.Service, Pages: pages, Version: "0.1.0", Logger: aptest.Logger(t), Now: o.Now})
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
	k := &kit{t: t, inst: inst, api: api}
	fed := inst.Service.Handler()
	k.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case strings.HasPrefix(p, "/api/"), strings.HasPrefix(p, "/oauth/"):
			api.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/users/"), p == "/inbox", strings.HasPrefix(p, "/.well-known/"), strings.HasPrefix(p, "/actor"):
			fed.ServeHTTP(w, r)
		default:
			pages.ServeHTTP(w, r)
		}
	})
	inst.Serve(k.h)
	return k
}

// request is one API call.
type request struct {
	method, path string
	token        string
	form         url.Values // sent as a urlencoded body
	json         any        // sent as a JSON body
	body         io.Reader  // sent as is, with contentType
	contentType  string
	header       http.Header
}

// do sends req and returns the recorder.
func (k *kit) do(req request) *httptest.ResponseRecorder {
	k.t.Helper()
	var body io.Reader
	ct := req.contentType
	switch {
	case req.form != nil:
		body, ct = strings.NewReader(req.form.Encode()), "application/x-www-form-urlencoded"
	case req.json != nil:
		b, err := json.Marshal(req.json)
		if err != nil {
			k.t.Fatal(err)
		}
		body, ct = bytes.NewReader(b), "application/json"
	case req.body != nil:
		body = req.body
	}
	r := httptest.NewRequest(req.method, req.path, body)
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	if req.token != "" {
		r.Header.Set("Authorization", "Bearer "+req.token)
	}
	for key, vs := range req.header {
		r.Header[key] = vs
	}
	rec := httptest.NewRecorder()
	k.h.ServeHTTP(rec, r)
	return rec
}

// decode reads a JSON answer, failing unless its status is want.
func decode[T any](t testing.TB, rec *httptest.ResponseRecorder, want int) T {
	t.Helper()
	var v T
	if rec.Code != want {
		t.Fatalf("status %d, want %d: %s", rec.Code, want, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, rec.Body)
	}
	return v
}

// registered is an app's credentials.
type registered struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// register registers an app the way toot does (JSON).
func (k *kit) register(redirect, scopes string) registered {
	k.t.Helper()
	rec := k.do(request{method: "POST", path: "/api/v1/apps", json: map[string]string{
		"client_name": "test app", "redirect_uris": redirect, "scopes": scopes,
	}})
	return decode[registered](k.t, rec, http.StatusOK)
}

// login registers an app with scopes and logs in with the password
// grant, returning the token.
func (k *kit) login(scopes string) string {
	k.t.Helper()
	app := k.register(oob, scopes)
	rec := k.do(request{method: "POST", path: "/oauth/token", form: url.Values{
		"grant_type": {"password"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret},
		"username": {"me"}, "password": {testPassword}, "scope": {scopes},
	}})
	tok := decode[tokenJSON](k.t, rec, http.StatusOK)
	return tok.AccessToken
}

// pngImage is a w×h PNG.
func pngImage(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x * 7), uint8(y * 5), 0x80, 0xff})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// multipartBody is a multipart form with fields and one file.
func multipartBody(t testing.TB, fields url.Values, field, name string, data []byte) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for key, vs := range fields {
		for _, v := range vs {
			mw.WriteField(key, v)
		}
	}
	if field != "" {
		w, err := mw.CreateFormFile(field, name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// mentionOwner delivers from's public Create of obj (a Note or Question
// with its id, type and content) that mentions the owner, and processes
// the inbox.
func (k *kit) mentionOwner(remote *aptest.Remote, from *aptest.RemoteActor, obj map[string]any) {
	k.t.Helper()
	to, cc := []string{"https://www.w3.org/ns/activitystreams#Public"}, []string{k.inst.URLs.Actor()}
	obj["attributedTo"], obj["published"], obj["to"], obj["cc"] = from.IRI, "2026-12-06T09:00:00Z", to, cc
	obj["tag"] = []map[string]any{{"type": "Mention", "href": k.inst.URLs.Actor(), "name": "@me@" + k.inst.URLs.Domain()}}
	from.Post(k.t, remote.Client, k.inst.URLs.Inbox(), aptest.JSON(k.t, map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": obj["id"].(string) + "/activity", "type": "Create",
		"actor": from.IRI, "to": to, "cc": cc, "object": obj,
	}))
	k.inst.Service.ProcessInbox(context.Background())
}
