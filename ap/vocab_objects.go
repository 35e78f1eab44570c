package ap

import (
	"encoding/json"
	"html"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"kith/ap/sanitize"
)

// ActorDoc is the lenient view of a remote actor document.
type ActorDoc struct {
	ID                        string          `json:"id"`
	Type                      Types           `json:"type"`
	PreferredUsername         Text            `json:"preferredUsername"`
	Name                      Text            `json:"name"`
	Summary                   Text            `json:"summary"`
	URL                       Links           `json:"url"`
	Icon                      Links           `json:"icon"`
	Image                     Links           `json:"image"`
	Inbox                     string          `json:"inbox"`
	Outbox                    string          `json:"outbox"`
	Followers                 string          `json:"followers"`
	Following                 string          `json:"following"`
	Featured                  string          `json:"featured"`
	SharedInbox               string          `json:"sharedInbox"` // Misskey puts it here too
	Endpoints                 json.RawMessage `json:"endpoints"`
	ManuallyApprovesFollowers Flag            `json:"manuallyApprovesFollowers"`
	PublicKey                 Many[PublicKey] `json:"publicKey"`
	AlsoKnownAs               IRIs            `json:"alsoKnownAs"`
	MovedTo                   Ref             `json:"movedTo"`
	Attachment                Many[Property]  `json:"attachment"`
}

// PublicKey is an actor's publicKey entry.
type PublicKey struct {
	ID           string `json:"id"`
	Owner        Ref    `json:"owner"`
	PublicKeyPem string `json:"publicKeyPem"`
}

// Property is a profile field (schema:PropertyValue).
type Property struct {
	Type  Types `json:"type"`
	Name  Text  `json:"name"`
	Value Text  `json:"value"`
}

// IsActorType reports whether t is one of the actor types kith follows and
// is followed by.
func IsActorType(t Types) bool {
	for _, s := range []string{"Person", "Service", "Application", "Group", "Organization"} {
		if t.Is(s) {
			return true
		}
	}
	return false
}

// SharedInboxURL returns endpoints.sharedInbox, or the top-level
// sharedInbox some servers send instead.
func (a *ActorDoc) SharedInboxURL() string {
	var ep struct {
		SharedInbox string `json:"sharedInbox"`
	}
	if len(a.Endpoints) > 0 && a.Endpoints[0] == '{' && json.Unmarshal(a.Endpoints, &ep) == nil && ep.SharedInbox != "" {
		return ep.SharedInbox
	}
	return a.SharedInbox
}

// Key returns the publicKey entry with id keyID, or the first one when
// keyID is "".
func (a *ActorDoc) Key(keyID string) (PublicKey, bool) {
	for _, k := range a.PublicKey {
		if keyID == "" || k.ID == keyID {
			return k, true
		}
	}
	return PublicKey{}, false
}

// Object is the lenient view of a post (Note, Article, Question, Page...).
type Object struct {
	ID           string            `json:"id"`
	Type         Types             `json:"type"`
	AttributedTo Ref               `json:"attributedTo"`
	Name         Text              `json:"name"`
	Summary      Text              `json:"summary"`
	Content      Text              `json:"content"`
	ContentMap   map[string]string `json:"contentMap"`
	MediaType    string            `json:"mediaType"` // of content: text/html unless said otherwise
	Sensitive    Flag              `json:"sensitive"`
	InReplyTo    Ref               `json:"inReplyTo"`
	Published    string            `json:"published"`
	Updated      string            `json:"updated"`
	URL          Links             `json:"url"`
	To           IRIs              `json:"to"`
	Cc           IRIs              `json:"cc"`
	Tag          Many[Tag]         `json:"tag"`
	Attachment   Many[Attachment]  `json:"attachment"`

	// The post this one quotes, under each name servers give it.
	Quote        Ref `json:"quote"` // FEP-044f
	QuoteURI     Ref `json:"quoteUri"`
	QuoteURL     Ref `json:"quoteUrl"`
	MisskeyQuote Ref `json:"_misskey_quote"`

	// A Question's choices (oneOf: one answer; anyOf: several), its end
	// and its count of voters.
	OneOf       Many[PollChoice] `json:"oneOf"`
	AnyOf       Many[PollChoice] `json:"anyOf"`
	EndTime     Text             `json:"endTime"`
	Closed      json.RawMessage  `json:"closed"`      // a time, or true
	VotersCount *Count           `json:"votersCount"` // nil: not said
}

// PollChoice is one option of a Question: a Note with a name and a replies
// collection whose totalItems is its count of votes.
type PollChoice struct {
	Name    Text `json:"name"`
	Replies struct {
		TotalItems Count `json:"totalItems"`
	} `json:"replies"`
}

// QuoteIRI returns the quoted post's id, whichever property carries it.
func (o *Object) QuoteIRI() string {
	for _, r := range []Ref{o.Quote, o.QuoteURI, o.QuoteURL, o.MisskeyQuote} {
		if r != "" {
			return string(r)
		}
	}
	return ""
}

// Tag is an entry of an object's tag list: Mention, Hashtag, Emoji, Link.
type Tag struct {
	Type Types  `json:"type"`
	Href string `json:"href"`
	Name Text   `json:"name"`
}

// Attachment is a media attachment (Document, Image, Video, Audio).
type Attachment struct {
	Type      Types  `json:"type"`
	MediaType string `json:"mediaType"`
	URL       Links  `json:"url"`
	Href      string `json:"href"` // a Link attachment (Lemmy's image link)
	Name      Text   `json:"name"`
	Summary   Text   `json:"summary"`
	Blurhash  string `json:"blurhash"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	// FocalPoint is Mastodon's [x, y], each from -1 to 1.
	FocalPoint []float64 `json:"focalPoint"`
}

// Focus returns the focal point, or 0, 0 (the centre) when there is none
// or it is out of range.
func (a *Attachment) Focus() (x, y float64) {
	if len(a.FocalPoint) != 2 {
		return 0, 0
	}
	x, y = a.FocalPoint[0], a.FocalPoint[1]
	if !(x >= -1 && x <= 1 && y >= -1 && y <= 1) { // NaN fails too
		return 0, 0
	}
	return x, y
}

// Language returns the language of the contentMap entry, when there is
// exactly one.
func (o *Object) Language() string {
	if len(o.ContentMap) != 1 {
		return ""
	}
	for k := range o.ContentMap {
		return k
	}
	return ""
}

// HTMLContent returns content, falling back to the contentMap entry.
func (o *Object) HTMLContent() string {
	if o.Content != "" {
		return string(o.Content)
	}
	for _, v := range o.ContentMap {
		return v
	}
	return ""
}

// SafeHTML is the object's content as sanitised HTML. Content that says it
// is plain text or Markdown (PeerTube's video descriptions are
// text/markdown) is escaped and keeps its paragraphs and line breaks, rather
// than being read as HTML, which would run its lines together.
func (o *Object) SafeHTML() string {
	content := o.HTMLContent()
	mt, _, _ := strings.Cut(strings.ToLower(o.MediaType), ";")
	switch strings.TrimSpace(mt) {
	case "text/plain", "text/markdown":
		return textToHTML(content)
	}
	return sanitize.HTML(content)
}

// textToHTML turns plain text into paragraphs (at blank lines) with <br>
// for the other line breaks, everything escaped.
func textToHTML(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	var b strings.Builder
	for _, para := range strings.Split(s, "\n\n") {
		para = strings.Trim(para, "\n \t")
		if para == "" {
			continue
		}
		b.WriteString("<p>")
		for i, line := range strings.Split(para, "\n") {
			if i > 0 {
				b.WriteString("<br>")
			}
			b.WriteString(html.EscapeString(strings.TrimRight(line, " \t")))
		}
		b.WriteString("</p>")
	}
	return b.String()
}

// hostOf returns the lower-cased host[:port] of an absolute URL, or "".
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	return strings.ToLower(u.Host)
}

// sameOrigin reports whether two absolute URLs share scheme and host.
func sameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Host != "" &&
		strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host)
}

// plainText cleans a property that peers send as plain text (names,
// titles, content warnings, alt text): control characters removed, runs of
// whitespace made one space, at most max runes. It is not parsed as HTML,
// so "a <b> c" stays what it says; pages escape it on output.
func plainText(s string, max int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max])
	}
	return s
}
