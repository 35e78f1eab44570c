package ap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The ActivityStreams Public collection. On input the compacted forms are
// accepted too (see IsPublic).
const Public = "https://www.w3.org/ns/activitystreams#Public"

// IsPublic reports whether iri names the Public collection in any of the
// forms servers send.
func IsPublic(iri string) bool {
	return iri == Public || iri == "as:Public" || iri == "Public"
}

// Activity is the lenient view of any activity received. Properties whose
// shape varies between servers (protocol.md §8.2) use the tolerant types
// below; Object stays raw because it may be an id, an embedded object or an
// embedded activity.
type Activity struct {
	ID        string          `json:"id"`
	Type      Types           `json:"type"`
	Actor     Ref             `json:"actor"`
	Object    json.RawMessage `json:"object"`
	Target    json.RawMessage `json:"target"`
	To        IRIs            `json:"to"`
	Cc        IRIs            `json:"cc"`
	Published string          `json:"published"`
	// A reaction's emoji (Misskey's EmojiReact and Like, Pleroma's
	// EmojiReact) and a Flag's comment.
	Content         Text `json:"content"`
	MisskeyReaction Text `json:"_misskey_reaction"`
}

// ErrMalformed reports an activity that cannot be processed at all.
var ErrMalformed = errors.New("malformed activity")

// DecodeActivity parses an incoming activity, requiring a JSON object with a
// type and an actor.
func DecodeActivity(body []byte) (*Activity, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	var a Activity
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if a.Type.Main() == "" {
		return nil, fmt.Errorf("%w: no type", ErrMalformed)
	}
	if a.Actor == "" {
		return nil, fmt.Errorf("%w: no actor", ErrMalformed)
	}
	return &a, nil
}

// ObjectID returns the id of the activity's object, whether it was given as
// an IRI or embedded.
func (a *Activity) ObjectID() string { return IDOf(a.Object) }

// ObjectType returns the type of an embedded object, or "" for a bare IRI.
func (a *Activity) ObjectType() string {
	var o struct {
		Type Types `json:"type"`
	}
	if len(a.Object) == 0 || a.Object[0] != '{' || json.Unmarshal(a.Object, &o) != nil {
		return ""
	}
	return o.Type.Main()
}

// EmbeddedActivity decodes the object as an activity, when it is one (an
// Undo or Accept embedding a Follow). ok is false for a bare IRI.
func (a *Activity) EmbeddedActivity() (inner *Activity, ok bool) {
	if len(a.Object) == 0 || a.Object[0] != '{' {
		return nil, false
	}
	var in Activity
	if json.Unmarshal(a.Object, &in) != nil {
		return nil, false
	}
	return &in, true
}

// IDOf returns the id of a property that holds an IRI, an object with an
// id, or an array whose first element is either.
func IDOf(raw json.RawMessage) string {
	var r Ref
	if json.Unmarshal(raw, &r) != nil {
		return ""
	}
	return string(r)
}

// Ref is a reference that servers send as a bare IRI, as an embedded object
// with an id, or as an array of either (the first element wins).
type Ref string

// UnmarshalJSON accepts every form of Ref; anything else becomes "".
func (r *Ref) UnmarshalJSON(b []byte) error {
	*r = Ref(refOf(b, 0))
	return nil
}

func refOf(b []byte, depth int) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || depth > 4 {
		return ""
	}
	switch b[0] {
	case '"':
		if s, ok := plainString(b); ok {
			return s
		}
		var s string
		if json.Unmarshal(b, &s) != nil {
			return ""
		}
		return s
	case '{':
		var o struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(b, &o) != nil {
			return ""
		}
		return o.ID
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(b, &items) != nil {
			return ""
		}
		for _, it := range items {
			if s := refOf(it, depth+1); s != "" {
				return s
			}
		}
	}
	return ""
}

// plainString returns the JSON string b holds when it has no escapes, no
// control characters and valid UTF-8: then its bytes are the string, and
// json.Unmarshal, which an IRI in every to, cc and tag went through, is
// not needed.
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	inner := b[1 : len(b)-1]
	for _, c := range inner {
		if c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(inner) {
		return "", false
	}
	return string(inner), true
}

// IRIs is a list of references (to, cc, alsoKnownAs) sent as one IRI, an
// array, objects with ids, or null.
type IRIs []string

// UnmarshalJSON accepts every form of IRIs, skipping entries without an id.
func (l *IRIs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*l = nil
	if len(b) > 0 && b[0] == '[' {
		var items []json.RawMessage
		if json.Unmarshal(b, &items) != nil {
			return nil
		}
		for _, it := range items {
			if s := refOf(it, 1); s != "" {
				*l = append(*l, s)
			}
		}
		return nil
	}
	if s := refOf(b, 0); s != "" {
		*l = IRIs{s}
	}
	return nil
}

// Contains reports whether iri is in the list.
func (l IRIs) Contains(iri string) bool {
	for _, s := range l {
		if s == iri {
			return true
		}
	}
	return false
}

// HasPublic reports whether the list addresses the Public collection.
func (l IRIs) HasPublic() bool {
	for _, s := range l {
		if IsPublic(s) {
			return true
		}
	}
	return false
}

// Types is the type property, which may be one name or several.
type Types []string

// UnmarshalJSON accepts a string or an array of strings.
func (t *Types) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*t = nil
	var s string
	if json.Unmarshal(b, &s) == nil {
		if s != "" {
			*t = Types{s}
		}
		return nil
	}
	var list []string
	if json.Unmarshal(b, &list) == nil {
		*t = list
	}
	return nil
}

// Main returns the first type, which is the one kith acts on.
func (t Types) Main() string {
	if len(t) == 0 {
		return ""
	}
	return t[0]
}

// Is reports whether any of the types is name (Mastodon's
// equals_or_includes).
func (t Types) Is(name string) bool {
	for _, s := range t {
		if s == name {
			return true
		}
	}
	return false
}

// Many is a property that holds one value or an array of values (tag,
// attachment, publicKey, icon). Elements that do not decode as T are
// skipped rather than failing the whole document.
type Many[T any] []T

// UnmarshalJSON accepts one value, an array, or null.
func (m *Many[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*m = nil
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	if b[0] != '[' {
		var v T
		if json.Unmarshal(b, &v) == nil {
			*m = Many[T]{v}
		}
		return nil
	}
	var items []json.RawMessage
	if json.Unmarshal(b, &items) != nil {
		return nil
	}
	for _, it := range items {
		var v T
		if json.Unmarshal(it, &v) == nil {
			*m = append(*m, v)
		}
	}
	return nil
}

// Text is a string property that some servers send as null or omit; both
// become "".
type Text string

// UnmarshalJSON accepts a string or null; other shapes become "".
func (s *Text) UnmarshalJSON(b []byte) error {
	var v string
	if json.Unmarshal(b, &v) == nil {
		*s = Text(v)
	} else {
		*s = ""
	}
	return nil
}

// Flag is a boolean property that some servers send as null or as a string.
type Flag bool

// UnmarshalJSON accepts true/false, "true"/"false" and null.
func (f *Flag) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	*f = Flag(s == "true")
	return nil
}

// Count is a non-negative number that some servers send as a string or
// null; anything that is not a count becomes -1 (unknown).
type Count int

// UnmarshalJSON accepts a number, a string of digits, or null.
func (c *Count) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		n = -1
	}
	*c = Count(n)
	return nil
}

// Link is a url, icon or image property: a bare URL, a Link or Image object,
// or an array of them.
type Link struct {
	Href      string
	MediaType string
	Name      string
}

// UnmarshalJSON accepts a URL string or an object with url or href; arrays
// are handled by Links.
func (l *Link) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*l = Link{}
	var s string
	if json.Unmarshal(b, &s) == nil {
		l.Href = s
		return nil
	}
	var o struct {
		Type      Types           `json:"type"`
		Href      string          `json:"href"`
		URL       json.RawMessage `json:"url"`
		MediaType string          `json:"mediaType"`
		Name      Text            `json:"name"`
	}
	if json.Unmarshal(b, &o) != nil {
		return nil
	}
	l.Href, l.MediaType, l.Name = o.Href, o.MediaType, string(o.Name)
	if l.Href == "" && len(o.URL) > 0 {
		var inner Many[hrefLink]
		if json.Unmarshal(o.URL, &inner) == nil {
			for _, h := range inner {
				if h.Href != "" {
					l.Href = h.Href
					if l.MediaType == "" {
						l.MediaType = h.MediaType
					}
					break
				}
			}
		}
	}
	return nil
}

// hrefLink is a link inside a Link's url property: a URL, or an object
// with an href. It is not read further down: decoding each level as a Link
// again would re-read everything below it, and a deeply nested document
// (which any server can make kith fetch) would cost minutes of CPU.
type hrefLink struct {
	Href      string
	MediaType string
}

// UnmarshalJSON accepts a URL string or an object with href.
func (h *hrefLink) UnmarshalJSON(b []byte) error {
	*h = hrefLink{}
	if json.Unmarshal(b, &h.Href) == nil {
		return nil
	}
	var o struct {
		Href      string `json:"href"`
		MediaType string `json:"mediaType"`
	}
	if json.Unmarshal(b, &o) == nil {
		h.Href, h.MediaType = o.Href, o.MediaType
	}
	return nil
}

// Links is a url, icon or image property in any of its shapes.
type Links []Link

// UnmarshalJSON accepts one link, an array of links, or null.
func (l *Links) UnmarshalJSON(b []byte) error {
	var m Many[Link]
	err := m.UnmarshalJSON(b)
	*l = Links(m)
	return err
}

// Best returns the link whose media type starts with mediaType (such as
// "text/html") if there is one, otherwise the first link with an href.
func (l Links) Best(mediaType string) Link {
	var first Link
	for _, v := range l {
		if v.Href == "" {
			continue
		}
		if mediaType != "" && strings.HasPrefix(v.MediaType, mediaType) {
			return v
		}
		if first.Href == "" {
			first = v
		}
	}
	return first
}
