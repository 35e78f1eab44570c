package ap

import (
	"mime"
	"path"
	"strings"
	"time"

	"kith/ap/sanitize"
	"kith/store"
)

// maxRemoteAttachments is how many attachments of a remote post are kept;
// Mastodon keeps four.
const maxRemoteAttachments = 4

// remotePost converts a remote object for the store, sanitising its HTML.
// A published time later than now (when it arrived) becomes now, so that
// nobody can pin a post to the top of a timeline by dating it ahead.
//
// Objects that are not written posts (Image, Video, Audio, Event) become a
// card: their name as the title, their text (or description) as content,
// and a link to their page; their summary is a description there, not a
// content warning.
func remotePost(o *Object, raw []byte, author *store.Actor, now time.Time) *store.Post {
	p := &store.Post{
		IRI:         o.ID,
		AuthorIRI:   author.IRI,
		Type:        o.Type.Main(),
		Title:       plainText(string(o.Name), 500),
		Summary:     plainText(string(o.Summary), 1000),
		Sensitive:   bool(o.Sensitive),
		ContentHTML: o.SafeHTML(),
		Language:    o.Language(),
		Visibility:  visibilityOf(o, author),
		InReplyTo:   string(o.InReplyTo),
		QuoteIRI:    o.QuoteIRI(),
		Raw:         string(raw),
	}
	if p.QuoteIRI == p.IRI || hostOf(p.QuoteIRI) == "" {
		p.QuoteIRI = ""
	}
	if u := o.URL.Best("text/html").Href; u != "" && sameOrigin(u, o.ID) {
		p.URL = u
	}
	p.Published, _ = parseTime(o.Published)
	p.Updated, _ = parseTime(o.Updated)
	if p.Published.IsZero() {
		p.Published = p.Updated
	}
	if p.Published.IsZero() || p.Published.After(now) {
		p.Published = now
	}
	if p.Updated.After(now) {
		p.Updated = now
	}
	if isCard(o.Type) {
		if p.ContentHTML == "" && p.Summary != "" {
			p.ContentHTML = sanitize.HTML(string(o.Summary))
		}
		p.Summary = ""
		if p.URL == "" {
			p.URL = o.ID
		}
	}
	if p.Summary != "" {
		// A content warning hides the post whatever the sender says.
		p.Sensitive = true
	}
	for _, t := range o.Tag {
		switch {
		case t.Type.Is("Hashtag"):
			if name := strings.ToLower(strings.TrimPrefix(string(t.Name), "#")); name != "" {
				p.Tags = append(p.Tags, name)
			}
		case t.Type.Is("Mention") && t.Href != "":
			p.Mentions = append(p.Mentions, store.Mention{ActorIRI: t.Href, Name: string(t.Name)})
		}
	}
	for _, a := range o.Attachment {
		if len(p.Attachments) == maxRemoteAttachments {
			break
		}
		if att, ok := remoteAttachment(a); ok {
			p.Attachments = append(p.Attachments, att)
		}
	}
	if len(p.Attachments) == 0 && (o.Type.Is("Image") || o.Type.Is("Video") || o.Type.Is("Audio")) {
		// The object is itself the media (Pixelfed's Image, a PeerTube
		// Video's files): its url links that are media are the attachments.
		for _, l := range o.URL {
			if len(p.Attachments) == maxRemoteAttachments {
				break
			}
			att, ok := remoteAttachment(Attachment{URL: Links{l}, MediaType: l.MediaType, Name: o.Name})
			if ok {
				p.Attachments = append(p.Attachments, att)
			}
		}
	}
	return p
}

// isCard reports whether t is shown as a card rather than as a written post.
func isCard(t Types) bool {
	return !t.Is("Note") && !t.Is("Article") && !t.Is("Page") && !t.Is("Question")
}

// remoteAttachment keeps an attachment only when it is media kith shows:
// an image, video or audio type it accepts, given or (when the sender
// gives none) read from the file name. Anything else, a text/html page
// above all, would be an <img> pointing at any URL the sender likes: a
// tracking pixel for every visitor (issue 7).
func remoteAttachment(a Attachment) (store.Attachment, bool) {
	l := a.URL.Best(a.MediaType)
	if l.Href == "" {
		l.Href = a.Href
	}
	if hostOf(l.Href) == "" {
		return store.Attachment{}, false
	}
	mt := a.MediaType
	if mt == "" {
		mt = l.MediaType
	}
	if mt == "" {
		mt = mediaTypeOfName(l.Href)
	}
	mt, _, _ = mime.ParseMediaType(mt)
	if !AcceptedMediaType(mt) {
		return store.Attachment{}, false
	}
	desc := string(a.Summary)
	if desc == "" {
		desc = string(a.Name)
	}
	w, h := a.Width, a.Height
	if w < 0 || h < 0 {
		w, h = 0, 0
	}
	fx, fy := a.Focus()
	return store.Attachment{
		URL: l.Href, MediaType: mt, Description: plainText(desc, 1500),
		Width: w, Height: h, Blurhash: plainText(a.Blurhash, 100), FocusX: fx, FocusY: fy,
	}, true
}

// mediaTypeOfName guesses the media type of a URL from its file name, for
// the few senders that give none. It knows only what AcceptedMediaType
// accepts, and does not read the system's tables, so it answers the same
// everywhere.
func mediaTypeOfName(u string) string {
	u, _, _ = strings.Cut(u, "?")
	switch strings.ToLower(path.Ext(u)) {
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	case ".gif":
		return "image/gif"
	case ".webp":
		return "image/webp"
	case ".avif":
		return "image/avif"
	case ".mp4", ".m4v":
		return "video/mp4"
	case ".webm":
		return "video/webm"
	case ".mp3":
		return "audio/mpeg"
	case ".ogg", ".oga":
		return "audio/ogg"
	case ".opus":
		return "audio/opus"
	case ".m4a":
		return "audio/mp4"
	case ".flac":
		return "audio/flac"
	case ".wav":
		return "audio/wav"
	}
	return ""
}

// AcceptedMediaType reports whether a remote attachment of media type mt
// (without parameters) is shown as media: what browsers play in <img>,
// <video> and <audio> without plugins. Pages may use it too, so that media
// stored before the check came in is not shown either.
func AcceptedMediaType(mt string) bool {
	switch strings.ToLower(strings.TrimSpace(mt)) {
	case "image/jpeg", "image/png", "image/gif", "image/webp", "image/avif",
		"video/mp4", "video/webm", "video/ogg", "video/quicktime",
		"audio/mpeg", "audio/mp3", "audio/ogg", "audio/opus", "audio/mp4",
		"audio/aac", "audio/wav", "audio/x-wav", "audio/flac", "audio/webm":
		return true
	}
	return false
}
