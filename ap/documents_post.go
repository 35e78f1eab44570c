package ap

import (
	"kith/store"
)

// jsonNote is a post as we serve and send it (Note, or Article when it has
// a title). Fields follow what Mastodon's parser reads (protocol.md §5.2).
type jsonNote struct {
	Context      any               `json:"@context,omitempty"`
	ID           string            `json:"id"`
	Type         string            `json:"type"`
	AttributedTo string            `json:"attributedTo"`
	Name         string            `json:"name,omitempty"`
	Summary      *string           `json:"summary"`
	Sensitive    bool              `json:"sensitive"`
	Content      string            `json:"content"`
	ContentMap   map[string]string `json:"contentMap,omitempty"`
	Source       *jsonSource       `json:"source,omitempty"`
	InReplyTo    *string           `json:"inReplyTo"`
	Published    string            `json:"published"`
	Updated      string            `json:"updated,omitempty"`
	URL          string            `json:"url"`
	To           []string          `json:"to"`
	Cc           []string          `json:"cc"`
	Tag          []jsonTag         `json:"tag"`
	Attachment   []jsonAttachment  `json:"attachment"`
}

// jsonSource carries the Markdown we wrote, which Pleroma and Akkoma show
// when editing and which keeps our edits lossless.
type jsonSource struct {
	Content   string `json:"content"`
	MediaType string `json:"mediaType"`
}

type jsonTag struct {
	Type string `json:"type"`
	Href string `json:"href"`
	Name string `json:"name"`
}

type jsonAttachment struct {
	Type      string `json:"type"`
	MediaType string `json:"mediaType"`
	URL       string `json:"url"`
	Name      string `json:"name,omitempty"`
	Blurhash  string `json:"blurhash,omitempty"`
	Width     int    `json:"width,omitempty"`
	Height    int    `json:"height,omitempty"`
}

// jsonActivity is a Create, Update or Delete wrapping an object.
type jsonActivity struct {
	Context   any      `json:"@context,omitempty"`
	ID        string   `json:"id"`
	Type      string   `json:"type"`
	Actor     string   `json:"actor"`
	Published string   `json:"published,omitempty"`
	To        []string `json:"to"`
	Cc        []string `json:"cc"`
	Object    any      `json:"object"`
}

// jsonTombstone stands where a deleted post was.
type jsonTombstone struct {
	Context any    `json:"@context,omitempty"`
	ID      string `json:"id"`
	Type    string `json:"type"`
	Deleted string `json:"deleted,omitempty"`
}

// Addressing returns to and cc for a post of visibility vis that mentions
// the actors in mentioned (protocol.md §5.1): public puts Public in to and
// the followers in cc; unlisted swaps them; followers-only leaves Public
// out; direct addresses only the mentioned. Both lists are never nil.
func Addressing(vis, followers string, mentioned []string) (to, cc []string) {
	to, cc = []string{}, []string{}
	switch vis {
	case store.Public:
		to = append(to, Public)
		cc = append(cc, followers)
		cc = append(cc, mentioned...)
	case store.Unlisted:
		to = append(to, followers)
		cc = append(cc, Public)
		cc = append(cc, mentioned...)
	case store.Followers:
		to = append(to, followers)
		cc = append(cc, mentioned...)
	default:
		to = append(to, mentioned...)
	}
	return to, cc
}

// noteDocument builds the object of one of our posts; mediaURL maps an
// attachment to its URL. withContext is false when the note is embedded in
// an activity that carries the context.
func noteDocument(u URLs, p *store.Post, withContext bool) jsonNote {
	mentioned := make([]string, 0, len(p.Mentions))
	for _, m := range p.Mentions {
		mentioned = append(mentioned, m.ActorIRI)
	}
	to, cc := Addressing(p.Visibility, u.Followers(), mentioned)
	// Other servers get the subset they show faithfully; our pages keep
	// the full HTML.
	content := flatten(p.ContentHTML)
	n := jsonNote{
		ID:           p.IRI,
		Type:         p.Type,
		AttributedTo: u.Actor(),
		Sensitive:    p.Sensitive,
		Content:      content,
		Published:    formatTime(p.Published),
		Updated:      formatTime(p.Updated),
		URL:          u.PostPage(p.LocalID),
		To:           to,
		Cc:           cc,
		Tag:          []jsonTag{},
		Attachment:   []jsonAttachment{},
	}
	if withContext {
		n.Context = objectContext()
	}
	if p.Type == "Article" {
		n.Name = p.Title
	}
	if p.Summary != "" {
		summary := p.Summary
		n.Summary = &summary
	}
	if p.Language != "" {
		n.ContentMap = map[string]string{p.Language: content}
	}
	if p.Source != "" {
		n.Source = &jsonSource{Content: p.Source, MediaType: "text/markdown"}
	}
	if p.InReplyTo != "" {
		reply := p.InReplyTo
		n.InReplyTo = &reply
	}
	for _, m := range p.Mentions {
		n.Tag = append(n.Tag, jsonTag{Type: "Mention", Href: m.ActorIRI, Name: m.Name})
	}
	for _, t := range p.Tags {
		n.Tag = append(n.Tag, jsonTag{Type: "Hashtag", Href: u.Tag(t), Name: "#" + t})
	}
	for _, a := range p.Attachments {
		url := a.URL
		if a.MediaID != "" {
			url = u.Media(a.MediaID, MediaExt(a.MediaType))
		}
		n.Attachment = append(n.Attachment, jsonAttachment{
			Type: "Document", MediaType: a.MediaType, URL: url, Name: a.Description,
			Blurhash: a.Blurhash, Width: a.Width, Height: a.Height,
		})
	}
	return n
}

// createDocument wraps one of our posts in its Create, addressed like it.
func createDocument(u URLs, p *store.Post) jsonActivity {
	n := noteDocument(u, p, false)
	return jsonActivity{
		Context:   objectContext(),
		ID:        u.PostActivity(p.LocalID),
		Type:      "Create",
		Actor:     u.Actor(),
		Published: n.Published,
		To:        n.To,
		Cc:        n.Cc,
		Object:    n,
	}
}

// tombstone is what stands at a deleted post's IRI.
func tombstone(p *store.Post, withContext bool) jsonTombstone {
	t := jsonTombstone{ID: p.IRI, Type: "Tombstone", Deleted: formatTime(p.DeletedAt)}
	if withContext {
		t.Context = activityStreams
	}
	return t
}
