package ap

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"kith/ap/safenet"
	"kith/ap/sanitize"
	"kith/ap/sig"
	"kith/store"
)

// randReader is crypto/rand as an io.Reader value, so key generation reads
// no package-level variable.
type randReader struct{}

func (randReader) Read(p []byte) (int, error) { return rand.Read(p) }

// Limits for remote documents.
const (
	maxDocument  = 1 << 20 // 1 MiB, Mastodon's cap for fetched JSON
	fetchTimeout = 20 * time.Second
)

// accept is the Accept header of ActivityPub fetches.
const accept = `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"`

// Fetcher gets remote documents: signed GETs (so servers in authorized-fetch
// mode answer), through the SSRF-guarded client, size-capped and with a
// deadline. The signature scheme per host is the one the deliverer uses
// and learns (host_signatures), and fetches learn it too: see knock.
type Fetcher struct {
	client       *http.Client
	signer       sig.Signer
	db           *store.DB // the per-host signature schemes; nil signs RFC 9421 first, remembering nothing
	log          *slog.Logger
	allowPrivate bool
	now          func() time.Time
	userAgent    string
}

// FetchError is a remote answer other than success.
type FetchError struct {
	URL    string
	Status int // 0 when no HTTP answer came back
	Err    error
}

func (e *FetchError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("fetch %s: HTTP %d", e.URL, e.Status)
	}
	return fmt.Sprintf("fetch %s: %v", e.URL, e.Err)
}

func (e *FetchError) Unwrap() error { return e.Err }

// maxFetchRedirects is how many redirects a fetch follows, as Mastodon.
const maxFetchRedirects = 2

// Get fetches rawURL with the given Accept header and returns the body and
// its media type. Redirects are followed here rather than by the client,
// because each hop needs a signature of its own: Go would copy the first
// hop's Signature header, whose (request-target) no longer matches.
func (f *Fetcher) Get(ctx context.Context, rawURL, acceptHeader string) ([]byte, string, error) {
	body, mt, _, err := f.get(ctx, rawURL, acceptHeader)
	return body, mt, err
}

// GetMedia fetches a remote file (an image for kith's media proxy) the way
// Get does, but allows up to limit bytes instead of a document's 1 MiB, and
// without the double knock: media are served from public storage even by
// servers in authorized-fetch mode, and object stores answer 403 for a
// file that is missing (S3 without list rights), which would cost every
// broken image two requests.
func (f *Fetcher) GetMedia(ctx context.Context, rawURL, acceptHeader string, limit int64) ([]byte, error) {
	body, _, _, err := f.getLimited(ctx, rawURL, acceptHeader, limit, signOnce)
	return body, err
}

// get is Get that also returns the URL the answer came from, after any
// redirects.
func (f *Fetcher) get(ctx context.Context, rawURL, acceptHeader string) (body []byte, mediaType string, final *url.URL, err error) {
	return f.getLimited(ctx, rawURL, acceptHeader, maxDocument, knockTwice)
}

// fetchSigning is how a GET is signed.
type fetchSigning int

const (
	knockTwice  fetchSigning = iota // signed, in the other scheme too when refused (see knock)
	signOnce                        // signed in the host's scheme, not retried
	getUnsigned                     // public by definition: nothing to authorize
)

// getLimited is get with a cap of limit bytes on the body, signed as
// signing says.
func (f *Fetcher) getLimited(ctx context.Context, rawURL, acceptHeader string, limit int64, signing fetchSigning) (body []byte, mediaType string, final *url.URL, err error) {
	if err := refuseOffline(ctx); err != nil {
		return nil, "", nil, &FetchError{URL: rawURL, Err: err}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", nil, &FetchError{URL: rawURL, Err: err}
	}
	u.Fragment = ""
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	for hop := 0; ; hop++ {
		if err := safenet.CheckURL(u, f.allowPrivate); err != nil {
			return nil, "", nil, &FetchError{URL: rawURL, Err: err}
		}
		resp, err := f.knock(ctx, u, acceptHeader, signing)
		if err != nil {
			return nil, "", nil, &FetchError{URL: rawURL, Err: err}
		}
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
			http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			loc, lerr := resp.Location()
			discard(resp)
			if lerr != nil {
				return nil, "", nil, &FetchError{URL: rawURL, Status: resp.StatusCode, Err: lerr}
			}
			if hop == maxFetchRedirects {
				return nil, "", nil, &FetchError{URL: rawURL, Err: fmt.Errorf("more than %d redirects", maxFetchRedirects)}
			}
			loc.Fragment = ""
			u = loc
			continue
		case http.StatusOK:
		default:
			discard(resp)
			return nil, "", nil, &FetchError{URL: rawURL, Status: resp.StatusCode}
		}
		body, err := safenet.ReadAll(resp.Body, limit)
		resp.Body.Close()
		if err != nil {
			return nil, "", nil, &FetchError{URL: rawURL, Err: err}
		}
		mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		return body, mt, u, nil
	}
}

// knock sends one signed GET of u, with the double knock of deliveries
// (Deliverer.post), sharing their memory of what each host accepts: the
// first request is signed with the scheme remembered for the host, or RFC
// 9421 when none is; a 401 or 403 gets the same GET once more (when twice;
// media fetches knock once) with the other scheme, and when that one is not refused its scheme is remembered,
// so the next fetch from the host is one request. The knock goes both
// ways, unlike a delivery's: an inbox that answers 202 before checking the
// signature (Misskey queues first) can leave a wrong memory, which the
// first refused fetch corrects. A first request that is not refused
// teaches nothing (most hosts do not check signatures on GETs), and a 404
// or 410 is an answer about the document, not the signature.
//
// What servers answer to a signature scheme they do not read, from their
// code: Mastodon (app/lib/signed_request.rb, before it read RFC 9421)
// parses any Signature header as cavage, and the "Error parsing signature
// parameters" or missing keyId becomes its default failure code, 401
// (SignatureVerification#signature_verification_failure_code); a signer on
// a domain it does not allow gets 403. GoToSocial's httpsig finds no
// keyId, headers or signature parameter in an RFC 9421 Signature header,
// treats the request as unsigned, and AuthenticateFederatedRequest answers
// 401 (internal/federation/authenticate.go); a malformed cavage header is
// 401 too (internal/middleware/signaturecheck.go), a blocked domain 403.
//
// The retry stays inside one fetch: callers count a fetch against their
// budgets (the thread fetch budget, the key-fetch guard of inbox POSTs) once,
// whatever the knock cost, and a hop costs at most two requests.
func (f *Fetcher) knock(ctx context.Context, u *url.URL, acceptHeader string, signing fetchSigning) (*http.Response, error) {
	if signing == getUnsigned {
		return f.send(ctx, u, acceptHeader, "")
	}
	host := strings.ToLower(u.Host)
	known := store.SignatureUnknown
	if f.db != nil {
		var err error
		if known, err = f.db.HostSignature(ctx, host); err != nil {
			f.log.Error("read host signature scheme", "host", host, "err", err)
		}
	}
	scheme := known
	if scheme == store.SignatureUnknown {
		scheme = store.SignatureRFC9421
	}
	resp, err := f.send(ctx, u, acceptHeader, scheme)
	if err != nil || signing != knockTwice || !refusesFetchSignature(resp.StatusCode) {
		return resp, err
	}
	discard(resp)
	scheme = otherScheme(scheme)
	resp, err = f.send(ctx, u, acceptHeader, scheme)
	if err == nil && resp.StatusCode < 400 && f.db != nil {
		if err := f.db.SetHostSignature(ctx, host, scheme); err != nil {
			f.log.Error("record host signature scheme", "host", host, "err", err)
		}
	}
	return resp, err
}

// refusesFetchSignature reports whether the answer to a signed GET may mean
// that the signature scheme was not read: 401 or 403 (see knock). Unlike a
// POST's, a 400 is not one: no server cited answers a GET's signature
// with it.
func refusesFetchSignature(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden
}

// otherScheme is the signature scheme to knock with after scheme.
func otherScheme(scheme string) string {
	if scheme == store.SignatureRFC9421 {
		return store.SignatureCavage
	}
	return store.SignatureRFC9421
}

// send makes one GET of u signed with scheme, or unsigned when scheme is
// "".
func (f *Fetcher) send(ctx context.Context, u *url.URL, acceptHeader, scheme string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", acceptHeader)
	req.Header.Set("User-Agent", f.userAgent)
	if scheme != "" {
		if err := signAs(f.signer, req, nil, scheme, f.now()); err != nil {
			return nil, err
		}
	}
	return f.client.Do(req)
}

// signAs signs req with s in scheme: RFC 9421, else cavage. Date goes on
// RFC 9421 requests too, for receivers that log it.
func signAs(s sig.Signer, req *http.Request, body []byte, scheme string, now time.Time) error {
	req.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	var err error
	if scheme == store.SignatureRFC9421 {
		err = s.SignMessage(req, body, now)
	} else {
		err = s.Sign(req, body, now)
	}
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	return nil
}

// discard drains a little of an unwanted body so the connection can be
// reused, and closes it.
func discard(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// noRedirects returns a copy of c that hands redirects back to the caller.
func noRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// GetObject fetches an ActivityPub document. The answer must carry one of
// the two ActivityPub media types (FEP-fe34: anything else might be a user
// upload posing as an object), and its id must share the origin of the URL
// that answered, after redirects: a redirect elsewhere must not let another
// host speak for the first. It returns the body and the document's id.
func (f *Fetcher) GetObject(ctx context.Context, iri string) ([]byte, string, error) {
	body, mt, final, err := f.get(ctx, iri, accept)
	if err != nil {
		return nil, "", err
	}
	if mt != "application/activity+json" && mt != "application/ld+json" {
		return nil, "", &FetchError{URL: iri, Err: fmt.Errorf("answered with %q, not an ActivityPub document", mt)}
	}
	var head struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return nil, "", &FetchError{URL: iri, Err: fmt.Errorf("not JSON: %w", err)}
	}
	if head.ID == "" || !sameOrigin(head.ID, final.String()) {
		return nil, "", &FetchError{URL: iri, Err: fmt.Errorf("document id %q is not on the host it came from (%s)", head.ID, final.Host)}
	}
	return body, head.ID, nil
}

// Actor fetches a remote actor document and converts it for the store. The
// key recorded is keyID's when the actor lists it, else its first key.
func (f *Fetcher) Actor(ctx context.Context, iri, keyID string) (*store.Actor, error) {
	// GetObject checked the document's id against the host that answered;
	// ParseActor reads the same id.
	body, _, err := f.GetObject(ctx, iri)
	if err != nil {
		return nil, err
	}
	a, err := ParseActor(body, keyID, f.now())
	if err != nil {
		return nil, &FetchError{URL: iri, Err: err}
	}
	return a, nil
}

// ParseActor decodes a remote actor document, validates it and converts it
// for the store. The key kept is keyID's when listed, else the first.
func ParseActor(raw []byte, keyID string, now time.Time) (*store.Actor, error) {
	var doc ActorDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("actor document: %w", err)
	}
	return storeActor(&doc, raw, keyID, now)
}

// storeActor validates an actor document and converts it for the store.
func storeActor(doc *ActorDoc, raw []byte, keyID string, now time.Time) (*store.Actor, error) {
	if !IsActorType(doc.Type) {
		return nil, fmt.Errorf("type %v is not an actor", []string(doc.Type))
	}
	host := hostOf(doc.ID)
	if host == "" {
		return nil, fmt.Errorf("actor id %q is not an http(s) URL", doc.ID)
	}
	if hostOf(doc.Inbox) == "" {
		return nil, errors.New("actor has no inbox")
	}
	a := &store.Actor{
		IRI:         doc.ID,
		Type:        doc.Type.Main(),
		Username:    string(doc.PreferredUsername),
		Host:        host,
		Name:        plainText(string(doc.Name), 200),
		SummaryHTML: sanitize.HTML(string(doc.Summary)),
		Inbox:       doc.Inbox,
		SharedInbox: doc.SharedInboxURL(),
		Outbox:      doc.Outbox,
		Followers:   doc.Followers,
		Following:   doc.Following,
		Featured:    doc.Featured,
		Locked:      bool(doc.ManuallyApprovesFollowers),
		Raw:         string(raw),
		FetchedAt:   now,
	}
	// Mastodon ignores a url on another host than the id; so do we.
	if u := doc.URL.Best("text/html").Href; u != "" && sameOrigin(u, doc.ID) {
		a.URL = u
	}
	a.IconURL = doc.Icon.Best("image/").Href
	a.ImageURL = doc.Image.Best("image/").Href
	if hostOf(a.SharedInbox) == "" {
		a.SharedInbox = ""
	}
	if k, ok := doc.Key(keyID); ok {
		a.KeyID, a.PublicKeyPEM = k.ID, k.PublicKeyPem
	} else if k, ok := doc.Key(""); ok {
		a.KeyID, a.PublicKeyPEM = k.ID, k.PublicKeyPem
	}
	return a, nil
}

// keyDoc is what a keyId URL may answer with: the actor itself, an actor
// stub (GoToSocial's …/main-key), or a bare key object.
type keyDoc struct {
	ID           string          `json:"id"`
	Type         Types           `json:"type"`
	Owner        Ref             `json:"owner"`
	PublicKeyPem string          `json:"publicKeyPem"`
	PublicKey    Many[PublicKey] `json:"publicKey"`
	Inbox        string          `json:"inbox"`
}

// ActorForKey resolves keyID to the actor that owns it: it fetches the
// keyId URL (fragment stripped), follows the owner when that is not the
// document itself, and requires the owner's document to list the same key
// (the owner must claim the key, not just the key the owner).
func (f *Fetcher) ActorForKey(ctx context.Context, keyID string) (*store.Actor, error) {
	body, id, err := f.GetObject(ctx, keyID)
	if err != nil {
		return nil, err
	}
	var kd keyDoc
	if err := json.Unmarshal(body, &kd); err != nil {
		return nil, &FetchError{URL: keyID, Err: fmt.Errorf("key document: %w", err)}
	}
	var owner string
	switch {
	case len(kd.PublicKey) > 0:
		k, ok := keyFrom(kd.PublicKey, keyID)
		if !ok {
			return nil, &FetchError{URL: keyID, Err: errors.New("the document does not list that key")}
		}
		owner = string(k.Owner)
		if owner == "" || owner == id {
			if IsActorType(kd.Type) && kd.Inbox != "" {
				var doc ActorDoc
				if err := json.Unmarshal(body, &doc); err != nil {
					return nil, &FetchError{URL: keyID, Err: err}
				}
				doc.ID = id
				a, err := storeActor(&doc, body, keyID, f.now())
				if err != nil {
					return nil, &FetchError{URL: keyID, Err: err}
				}
				return a, nil
			}
			owner = id
		}
	case kd.PublicKeyPem != "" && kd.Owner != "":
		owner = string(kd.Owner)
	default:
		return nil, &FetchError{URL: keyID, Err: errors.New("no public key in the document")}
	}
	if !sameOrigin(owner, keyID) {
		return nil, &FetchError{URL: keyID, Err: fmt.Errorf("key owner %q is on another host", owner)}
	}
	a, err := f.Actor(ctx, owner, keyID)
	if err != nil {
		return nil, err
	}
	if a.KeyID != keyID {
		return nil, &FetchError{URL: owner, Err: fmt.Errorf("actor does not claim key %s", keyID)}
	}
	return a, nil
}

func keyFrom(keys Many[PublicKey], keyID string) (PublicKey, bool) {
	for _, k := range keys {
		if k.ID == keyID {
			return k, true
		}
	}
	return PublicKey{}, false
}

// WebFinger resolves user@host to an actor IRI with a WebFinger lookup.
// Over https; a local development host (localhost, 127.0.0.1) that does not
// speak TLS is tried over plain http too when private networks are allowed.
func (f *Fetcher) WebFinger(ctx context.Context, user, host string) (string, error) {
	q := url.Values{"resource": {"acct:" + user + "@" + host}}
	// WebFinger is public by definition (RFC 7033 §9.3 leaves access
	// control to what it answers, and no server asks a signature of it),
	// so it goes unsigned: signing each lookup cost an import of 2,000
	// follows more than half its time.
	const accept = "application/jrd+json, application/json"
	u := "https://" + host + "/.well-known/webfinger?" + q.Encode()
	body, _, _, err := f.getLimited(ctx, u, accept, maxDocument, getUnsigned)
	var fe *FetchError
	if err != nil && errors.As(err, &fe) && fe.Status == 0 && f.allowPrivate && IsLocalDomain(host) {
		u = "http://" + host + "/.well-known/webfinger?" + q.Encode()
		body, _, _, err = f.getLimited(ctx, u, accept, maxDocument, getUnsigned)
	}
	if err != nil {
		return "", err
	}
	var jrd struct {
		Subject string `json:"subject"`
		Links   []struct {
			Rel  string `json:"rel"`
			Type string `json:"type"`
			Href string `json:"href"`
		} `json:"links"`
	}
	if err := json.Unmarshal(body, &jrd); err != nil {
		return "", &FetchError{URL: u, Err: fmt.Errorf("WebFinger answer: %w", err)}
	}
	for _, l := range jrd.Links {
		if l.Rel == "self" && isActivityPubType(l.Type) && l.Href != "" {
			return l.Href, nil
		}
	}
	return "", &FetchError{URL: u, Err: errors.New("no ActivityPub actor link in the WebFinger answer")}
}

// isActivityPubType reports whether a media type (with parameters) names
// an ActivityPub document.
func isActivityPubType(t string) bool {
	mt, params, err := mime.ParseMediaType(t)
	if err != nil {
		return false
	}
	switch mt {
	case "application/activity+json":
		return true
	case "application/ld+json":
		p := params["profile"]
		return p == "" || strings.Contains(p, "https://www.w3.org/ns/activitystreams")
	}
	return false
}
