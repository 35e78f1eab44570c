package ap

import (
	"html"
	"strings"
	"time"

	"kith/store"
)

// jsonNote is a post as we serve and send it (Note, or Article when it has
// a title). Fields follow what Mastodon's parser reads (protocol.md §5.2);
// an Article takes the form described in docs/federation.md, "Articles".
type jsonNote struct {
	Context      any               `json:"@context,omitempty"`
	ID           string            `json:"id"`
	Type         string            `json:"type"`
	AttributedTo string            `json:"attributedTo"`
	NameMap      map[string]string `json:"nameMap,omitempty"`
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
	Preview      *jsonPreview      `json:"preview,omitempty"`
	// A Question's options (oneOf, or anyOf when several may be picked)
	// with their counts, and when it ends, as Mastodon reads them.
	OneOf       []jsonPollOption `json:"oneOf,omitempty"`
	AnyOf       []jsonPollOption `json:"anyOf,omitempty"`
	EndTime     string           `json:"endTime,omitempty"`
	Closed      string           `json:"closed,omitempty"`
	VotersCount *int             `json:"votersCount,omitempty"`
}

// jsonPollOption is one option of a Question, its votes in replies.
type jsonPollOption struct {
	Type    string        `json:"type"`
	Name    string        `json:"name"`
	Replies jsonPollVotes `json:"replies"`
}

// jsonPollVotes counts an option's votes; null while they are hidden.
type jsonPollVotes struct {
	Type       string `json:"type"`
	TotalItems *int   `json:"totalItems"`
}

// jsonPreview is FEP-b2b8's stand-in Note for software that shows no
// Articles: the title, the opening paragraph and a link to the whole.
type jsonPreview struct {
	Type         string `json:"type"`
	AttributedTo string `json:"attributedTo"`
	Content      string `json:"content"`
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
	// FocalPoint is sent only when the owner (or an import) set one.
	FocalPoint *[2]float64 `json:"focalPoint,omitempty"`
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
// an activity that carries the context. now decides whether a poll that
// hides its totals is still open.
func noteDocument(u URLs, p *store.Post, withContext bool, now time.Time) jsonNote {
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
		articleForm(&n, p)
	}
	if p.Summary != "" {
		summary := p.Summary
		n.Summary = &summary
	}
	if p.Language != "" {
		n.ContentMap = map[string]string{p.Language: n.Content}
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
	if pl := p.Poll; pl != nil {
		pollForm(&n, pl, now)
	}
	for _, a := range p.Attachments {
		url := a.URL
		if a.MediaID != "" {
			url = u.Media(a.MediaID, MediaExt(a.MediaType))
		}
		ja := jsonAttachment{
			Type: "Document", MediaType: a.MediaType, URL: url, Name: a.Description,
			Blurhash: a.Blurhash, Width: a.Width, Height: a.Height,
		}
		if a.FocusX != 0 || a.FocusY != 0 {
			ja.FocalPoint = &[2]float64{a.FocusX, a.FocusY}
		}
		n.Attachment = append(n.Attachment, ja)
	}
	return n
}

// pollForm makes n a Question with pl's options and counts. A poll that
// hides its totals sends each option's count as null until it ends, as
// Mastodon does (its serializer sends the hidden count it shows its
// clients); the number of voters still goes.
func pollForm(n *jsonNote, pl *store.Poll, now time.Time) {
	n.Type = "Question"
	opts := make([]jsonPollOption, 0, len(pl.Options))
	voters := 0
	hide := !pl.ShowTotals(now)
	for _, o := range pl.Options {
		votes := &o.Votes
		if hide {
			votes = nil
		}
		opts = append(opts, jsonPollOption{Type: "Note", Name: o.Title, Replies: jsonPollVotes{Type: "Collection", TotalItems: votes}})
		voters += o.Votes
	}
	if pl.Multiple {
		n.AnyOf = opts
		voters = pl.VotersCount // several votes may be one voter's
	} else {
		n.OneOf = opts
	}
	if voters < 0 {
		voters = 0
	}
	n.VotersCount = &voters
	n.EndTime = formatTime(pl.ExpiresAt)
	n.Closed = formatTime(pl.ClosedAt)
}

// articleForm gives an Article the shape that reads on every peer we know
// (docs/federation.md, "Articles"). The title goes in nameMap, not name:
// Mastodon and JSON-LD readers take it from there, while GoToSocial (which
// shows a name as the content warning) and snac (whose client API drops
// posts with a name) only read name. The title also opens the content, as
// a link to the page, so peers that show the content show the title; the
// summary stays the content warning it is everywhere.
func articleForm(n *jsonNote, p *store.Post) {
	lang := p.Language
	if lang == "" {
		lang = "und" // BCP 47: language not determined
	}
	n.NameMap = map[string]string{lang: p.Title}
	head := `<p><a href="` + html.EscapeString(n.URL) + `"><strong>` + html.EscapeString(p.Title) + `</strong></a></p>`
	n.Preview = &jsonPreview{Type: "Note", AttributedTo: n.AttributedTo, Content: head + "\n" + opening(n.Content)}
	n.Content = head + "\n" + n.Content
}

// opening is the first paragraph of flattened content that is not a
// heading (flatten makes headings bold paragraphs), or nothing.
func opening(content string) string {
	for rest := content; ; {
		end := strings.Index(rest, "</p>")
		if end < 0 {
			return ""
		}
		para := strings.TrimSpace(rest[:end+len("</p>")])
		rest = rest[end+len("</p>"):]
		if !strings.HasPrefix(para, "<p><strong>") || !strings.HasSuffix(para, "</strong></p>") {
			return para
		}
	}
}

// createDocument wraps one of our posts in its Create, addressed like it.
func createDocument(u URLs, p *store.Post, now time.Time) jsonActivity {
	n := noteDocument(u, p, false, now)
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
