package ap

import (
	"net/http"
	"time"

	"kith/store"
)

// actorContext is the @context of actor documents: ActivityStreams, the
// security vocabulary for publicKey, and the extension terms Mastodon reads
// (protocol.md §2.3). "schema" is deliberately http://schema.org# because
// that is what every peer expects.
func actorContext() []any {
	return []any{
		"https://www.w3.org/ns/activitystreams",
		"https://w3id.org/security/v1",
		map[string]any{
			"manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
			"alsoKnownAs":               map[string]string{"@id": "as:alsoKnownAs", "@type": "@id"},
			"movedTo":                   map[string]string{"@id": "as:movedTo", "@type": "@id"},
			"toot":                      "http://joinmastodon.org/ns#",
			"featured":                  map[string]string{"@id": "toot:featured", "@type": "@id"},
			"discoverable":              "toot:discoverable",
			"indexable":                 "toot:indexable",
			"attributionDomains":        map[string]string{"@id": "toot:attributionDomains", "@type": "@id"},
			"schema":                    "http://schema.org#",
			"PropertyValue":             "schema:PropertyValue",
			"value":                     "schema:value",
			"webfinger":                 "https://purl.archive.org/socialweb/webfinger#webfinger",
		},
	}
}

// objectContext is the @context of activities and posts: ActivityStreams
// plus the terms used in notes (sensitive, Hashtag, blurhash, focalPoint).
func objectContext() []any {
	return []any{
		"https://www.w3.org/ns/activitystreams",
		map[string]any{
			"sensitive":  "as:sensitive",
			"Hashtag":    "as:Hashtag",
			"toot":       "http://joinmastodon.org/ns#",
			"blurhash":   "toot:blurhash",
			"focalPoint": map[string]string{"@container": "@list", "@id": "toot:focalPoint"},
		},
	}
}

// activityStreams is the plain context for activities that use no
// extension terms (Follow, Accept, Undo).
const activityStreams = "https://www.w3.org/ns/activitystreams"

// jsonActor is the actor document we serve. Field order is the order of
// the JSON, which keeps golden files readable.
type jsonActor struct {
	Context                   any           `json:"@context"`
	ID                        string        `json:"id"`
	Type                      string        `json:"type"`
	PreferredUsername         string        `json:"preferredUsername"`
	Name                      string        `json:"name"`
	Summary                   string        `json:"summary"`
	URL                       string        `json:"url"`
	Webfinger                 string        `json:"webfinger,omitempty"`
	Inbox                     string        `json:"inbox"`
	Outbox                    string        `json:"outbox"`
	Followers                 string        `json:"followers"`
	Following                 string        `json:"following"`
	Featured                  string        `json:"featured,omitempty"`
	Endpoints                 jsonEndpoints `json:"endpoints"`
	ManuallyApprovesFollowers bool          `json:"manuallyApprovesFollowers"`
	Discoverable              bool          `json:"discoverable"`
	Indexable                 bool          `json:"indexable"`
	Published                 string        `json:"published"`
	PublicKey                 jsonKey       `json:"publicKey"`
	Icon                      *jsonImage    `json:"icon,omitempty"`
	Image                     *jsonImage    `json:"image,omitempty"`
	Attachment                []jsonField   `json:"attachment,omitempty"`
	AlsoKnownAs               []string      `json:"alsoKnownAs,omitempty"`
	MovedTo                   string        `json:"movedTo,omitempty"`
	// AttributionDomains are the sites whose pages may name this account
	// as their author (fediverse:creator); Mastodon 4.3 shows the credit
	// only for domains listed here.
	AttributionDomains []string `json:"attributionDomains"`
}

type jsonEndpoints struct {
	SharedInbox string `json:"sharedInbox"`
}

type jsonKey struct {
	ID           string `json:"id"`
	Owner        string `json:"owner"`
	PublicKeyPem string `json:"publicKeyPem"`
}

type jsonImage struct {
	Type      string `json:"type"`
	MediaType string `json:"mediaType"`
	URL       string `json:"url"`
}

type jsonField struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

// MediaInfo is what an actor document needs to know of an avatar or header.
type MediaInfo struct {
	URL       string
	MediaType string
}

// actorDocument builds the account's actor document. avatar and header are
// nil when unset.
func actorDocument(u URLs, a *store.Account, avatar, header *MediaInfo) jsonActor {
	doc := jsonActor{
		Context:                   actorContext(),
		ID:                        u.Actor(),
		Type:                      "Person",
		PreferredUsername:         a.Username,
		Name:                      a.DisplayName,
		Summary:                   a.BioHTML,
		URL:                       u.Profile(),
		Webfinger:                 u.Acct(),
		Inbox:                     u.Inbox(),
		Outbox:                    u.Outbox(),
		Followers:                 u.Followers(),
		Following:                 u.Following(),
		Featured:                  u.Featured(),
		Endpoints:                 jsonEndpoints{SharedInbox: u.SharedInbox()},
		ManuallyApprovesFollowers: a.Locked,
		Discoverable:              true,
		Published:                 formatTime(a.CreatedAt),
		PublicKey:                 jsonKey{ID: u.KeyID(), Owner: u.Actor(), PublicKeyPem: a.PublicKeyPEM},
		AlsoKnownAs:               a.AlsoKnownAs,
		MovedTo:                   a.MovedTo,
		AttributionDomains:        []string{u.Hostname()},
	}
	if avatar != nil {
		doc.Icon = &jsonImage{Type: "Image", MediaType: avatar.MediaType, URL: avatar.URL}
	}
	if header != nil {
		doc.Image = &jsonImage{Type: "Image", MediaType: header.MediaType, URL: header.URL}
	}
	for _, f := range a.Fields {
		doc.Attachment = append(doc.Attachment, jsonField{Type: "PropertyValue", Name: f.Name, Value: f.ValueHTML})
	}
	return doc
}

// jsonInstanceActor is the server's own actor at /actor.
type jsonInstanceActor struct {
	Context                   any           `json:"@context"`
	ID                        string        `json:"id"`
	Type                      string        `json:"type"`
	PreferredUsername         string        `json:"preferredUsername"`
	Name                      string        `json:"name"`
	URL                       string        `json:"url"`
	Inbox                     string        `json:"inbox"`
	Outbox                    string        `json:"outbox"`
	Followers                 string        `json:"followers"`
	Following                 string        `json:"following"`
	Featured                  string        `json:"featured"`
	Endpoints                 jsonEndpoints `json:"endpoints"`
	ManuallyApprovesFollowers bool          `json:"manuallyApprovesFollowers"`
	PublicKey                 jsonKey       `json:"publicKey"`
}

// instanceActorDocument builds the Application actor that signs fetches
// made on no one's behalf. Like Mastodon's, its preferredUsername is the
// domain and it approves no followers. Its collections are empty but real:
// GoToSocial logs an error on every resolve of an actor without followers,
// following and featured.
func instanceActorDocument(u URLs, publicKeyPEM string) jsonInstanceActor {
	return jsonInstanceActor{
		Context:                   actorContext(),
		ID:                        u.InstanceActor(),
		Type:                      "Application",
		PreferredUsername:         u.Domain(),
		Name:                      u.Domain(),
		URL:                       u.Base() + "/",
		Inbox:                     u.InstanceInbox(),
		Outbox:                    u.InstanceActor() + "/outbox",
		Followers:                 u.InstanceActor() + "/followers",
		Following:                 u.InstanceActor() + "/following",
		Featured:                  u.InstanceActor() + "/collections/featured",
		Endpoints:                 jsonEndpoints{SharedInbox: u.SharedInbox()},
		ManuallyApprovesFollowers: true,
		PublicKey:                 jsonKey{ID: u.InstanceKeyID(), Owner: u.InstanceActor(), PublicKeyPem: publicKeyPEM},
	}
}

// formatTime writes a timestamp the way every peer parses it: UTC, second
// precision, Z suffix.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// parseTime reads the timestamps peers send: with Z or an offset, with or
// without fractional seconds.
func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// getActor serves the actor document to ActivityPub clients and sends
// browsers to the profile page.
func (s *Service) getActor(w http.ResponseWriter, r *http.Request) {
	if !s.ours(r) {
		jsonNotFound(w)
		return
	}
	if !WantsActivityJSON(r) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		http.Redirect(w, r, s.urls.Profile(), http.StatusFound)
		return
	}
	s.ServeActor(w, r)
}

// ServeActor writes the account's actor document; main also uses it to
// answer ActivityPub requests for the profile page URL.
func (s *Service) ServeActor(w http.ResponseWriter, r *http.Request) {
	acct, err := s.db.Account(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	avatar, header, err := s.imagesOf(r.Context(), s.db, acct)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	full, ok := s.actorView(w, r)
	if !ok {
		return
	}
	doc := actorDocument(s.urls, acct, avatar, header)
	if !full {
		writeActivity(w, minimalActor(doc))
		return
	}
	writeActivity(w, doc)
}

// MediaExt is the file extension used in media URLs.
func MediaExt(mediaType string) string {
	switch mediaType {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	}
	return ""
}

func (s *Service) getInstanceActor(w http.ResponseWriter, r *http.Request) {
	acct, err := s.db.Account(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeActivity(w, instanceActorDocument(s.urls, acct.InstancePublicKeyPEM))
}

// getInstanceCollection answers for one of the instance actor's
// collections, which are always empty.
func (s *Service) getInstanceCollection(w http.ResponseWriter, r *http.Request) {
	// orderedItems is written even empty: some readers want the list.
	writeActivity(w, struct {
		jsonCollection
		OrderedItems []any `json:"orderedItems"`
	}{
		jsonCollection: jsonCollection{Context: activityStreams, ID: s.urls.Base() + r.URL.Path, Type: "OrderedCollection"},
		OrderedItems:   []any{},
	})
}
