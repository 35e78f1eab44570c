package mastoapi

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"kith/ap"
	"kith/store"
)

// ownerID is the owner's account id. Remote accounts have the id of their
// row in the actors table, from 1 up, so 0 is never taken; ids are
// strings in the API, which clients must not do arithmetic on.
const ownerID = "0"

// timeJSON writes times as Mastodon does: ISO 8601 in UTC with
// milliseconds. Some clients (Toot!, Ivory) fail to parse anything else.
func timeJSON(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// optTime is a nullable time.
func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := timeJSON(t)
	return &s
}

// optString is a nullable string: "" is null.
func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Account is Mastodon's Account entity.
type Account struct {
	ID             string       `json:"id"`
	Username       string       `json:"username"`
	Acct           string       `json:"acct"`
	DisplayName    string       `json:"display_name"`
	Locked         bool         `json:"locked"`
	Bot            bool         `json:"bot"`
	Discoverable   bool         `json:"discoverable"`
	Indexable      bool         `json:"indexable"`
	Group          bool         `json:"group"`
	CreatedAt      string       `json:"created_at"`
	Note           string       `json:"note"`
	URL            string       `json:"url"`
	URI            string       `json:"uri"`
	Avatar         string       `json:"avatar"`
	AvatarStatic   string       `json:"avatar_static"`
	Header         string       `json:"header"`
	HeaderStatic   string       `json:"header_static"`
	FollowersCount int          `json:"followers_count"`
	FollowingCount int          `json:"following_count"`
	StatusesCount  int          `json:"statuses_count"`
	LastStatusAt   *string      `json:"last_status_at"`
	HideCollection bool         `json:"hide_collections"`
	Noindex        *bool        `json:"noindex,omitempty"`
	Source         *Source      `json:"source,omitempty"`
	Emojis         []CustomEmoj `json:"emojis"`
	Roles          []struct{}   `json:"roles"`
	Fields         []Field      `json:"fields"`
}

// Field is a profile field; Value is HTML.
type Field struct {
	Name       string  `json:"name"`
	Value      string  `json:"value"`
	VerifiedAt *string `json:"verified_at"`
}

// Source is what the owner wrote, for editing: the note and fields as
// typed, and the defaults for new posts.
type Source struct {
	Privacy             string  `json:"privacy"`
	Sensitive           bool    `json:"sensitive"`
	Language            string  `json:"language"`
	Note                string  `json:"note"`
	Fields              []Field `json:"fields"`
	FollowRequestsCount int     `json:"follow_requests_count"`
	HideCollections     bool    `json:"hide_collections"`
	Discoverable        bool    `json:"discoverable"`
	Indexable           bool    `json:"indexable"`
}

// CustomEmoj is Mastodon's CustomEmoji entity. kith has none of its own;
// the type keeps the arrays typed.
type CustomEmoj struct {
	Shortcode       string `json:"shortcode"`
	URL             string `json:"url"`
	StaticURL       string `json:"static_url"`
	VisibleInPicker bool   `json:"visible_in_picker"`
}

// Status is Mastodon's Status entity.
type Status struct {
	ID                 string            `json:"id"`
	CreatedAt          string            `json:"created_at"`
	InReplyToID        *string           `json:"in_reply_to_id"`
	InReplyToAccountID *string           `json:"in_reply_to_account_id"`
	Sensitive          bool              `json:"sensitive"`
	SpoilerText        string            `json:"spoiler_text"`
	Visibility         string            `json:"visibility"`
	Language           *string           `json:"language"`
	URI                string            `json:"uri"`
	URL                *string           `json:"url"`
	RepliesCount       int               `json:"replies_count"`
	ReblogsCount       int               `json:"reblogs_count"`
	FavouritesCount    int               `json:"favourites_count"`
	EditedAt           *string           `json:"edited_at"`
	Favourited         *bool             `json:"favourited,omitempty"`
	Reblogged          *bool             `json:"reblogged,omitempty"`
	Muted              *bool             `json:"muted,omitempty"`
	Bookmarked         *bool             `json:"bookmarked,omitempty"`
	Pinned             *bool             `json:"pinned,omitempty"`
	Filtered           []struct{}        `json:"filtered,omitempty"`
	Content            string            `json:"content"`
	Text               *string           `json:"text,omitempty"`
	Reblog             *Status           `json:"reblog"`
	Account            *Account          `json:"account"`
	MediaAttachments   []MediaAttachment `json:"media_attachments"`
	Mentions           []Mention         `json:"mentions"`
	Tags               []Tag             `json:"tags"`
	Emojis             []CustomEmoj      `json:"emojis"`
	Card               *struct{}         `json:"card"`
	Poll               *Poll             `json:"poll"`
}

// Mention is a mentioned account, in a status.
type Mention struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	URL      string `json:"url"`
	Acct     string `json:"acct"`
}

// Tag is a hashtag, in a status.
type Tag struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Poll is Mastodon's Poll entity.
type Poll struct {
	ID          string       `json:"id"`
	ExpiresAt   *string      `json:"expires_at"`
	Expired     bool         `json:"expired"`
	Multiple    bool         `json:"multiple"`
	VotesCount  int          `json:"votes_count"`
	VotersCount *int         `json:"voters_count"`
	Options     []PollOption `json:"options"`
	Emojis      []CustomEmoj `json:"emojis"`
	Voted       *bool        `json:"voted,omitempty"`
	OwnVotes    []int        `json:"own_votes,omitempty"`
}

// PollOption is one choice of a poll.
type PollOption struct {
	Title      string `json:"title"`
	VotesCount *int   `json:"votes_count"`
}

// MediaAttachment is Mastodon's MediaAttachment entity.
type MediaAttachment struct {
	ID               string     `json:"id"`
	Type             string     `json:"type"`
	URL              *string    `json:"url"`
	PreviewURL       *string    `json:"preview_url"`
	RemoteURL        *string    `json:"remote_url"`
	PreviewRemoteURL *string    `json:"preview_remote_url"`
	TextURL          *string    `json:"text_url"`
	Meta             *MediaMeta `json:"meta"`
	Description      *string    `json:"description"`
	Blurhash         *string    `json:"blurhash"`
}

// MediaMeta describes an image's sizes and focal point.
type MediaMeta struct {
	Original *ImageSize `json:"original,omitempty"`
	Small    *ImageSize `json:"small,omitempty"`
	Focus    *Focus     `json:"focus,omitempty"`
}

// ImageSize is one size of an image.
type ImageSize struct {
	Width  int     `json:"width"`
	Height int     `json:"height"`
	Size   string  `json:"size"`
	Aspect float64 `json:"aspect"`
}

// Focus is the focal point, from -1 to 1 on each axis.
type Focus struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

func imageSize(w, h int) *ImageSize {
	if w <= 0 || h <= 0 {
		return nil
	}
	return &ImageSize{Width: w, Height: h, Size: fmt.Sprintf("%dx%d", w, h), Aspect: float64(w) / float64(h)}
}

// apiVisibility maps kith's visibilities to Mastodon's names.
func apiVisibility(v string) string {
	if v == store.Followers {
		return "private"
	}
	return v
}

// kithVisibility maps Mastodon's visibility names to kith's; ok is false
// for one kith does not know.
func kithVisibility(v string) (string, bool) {
	switch v {
	case "", "public":
		return store.Public, true
	case "unlisted":
		return store.Unlisted, true
	case "private":
		return store.Followers, true
	case "direct":
		return store.Direct, true
	}
	return "", false
}

// ownerAccount is the owner's Account; withSource adds what
// verify_credentials shows of it.
func (h *Handler) ownerAccount(ctx context.Context, withSource bool) (*Account, error) {
	acct, err := h.db.Account(ctx)
	if err != nil {
		return nil, err
	}
	followers, err := h.db.CountFollowers(ctx, store.Accepted)
	if err != nil {
		return nil, err
	}
	following, err := h.db.CountFollowing(ctx, store.Accepted)
	if err != nil {
		return nil, err
	}
	statuses, err := h.db.CountLocalPosts(ctx, store.Public, store.Unlisted, store.Followers)
	if err != nil {
		return nil, err
	}
	latest, err := h.db.LocalPosts(ctx, store.PostQuery{Visibilities: []string{store.Public, store.Unlisted, store.Followers, store.Direct}, Limit: 1})
	if err != nil {
		return nil, err
	}
	a := h.ownerAccountOf(acct)
	a.FollowersCount, a.FollowingCount, a.StatusesCount = followers, following, statuses
	if len(latest) > 0 {
		day := latest[0].Published.UTC().Format(time.DateOnly)
		a.LastStatusAt = &day
	}
	if withSource {
		pending, err := h.db.CountFollowers(ctx, store.Pending)
		if err != nil {
			return nil, err
		}
		s := &Source{Privacy: "public", Note: acct.BioSource, Fields: []Field{}, FollowRequestsCount: pending, Discoverable: true, Indexable: true}
		for _, f := range acct.Fields {
			s.Fields = append(s.Fields, Field{Name: f.Name, Value: f.Value})
		}
		a.Source = s
	}
	return a, nil
}

// ownerAccountOf is the owner's Account without the counts, for the
// statuses of a page, which do not need them to be exact.
func (h *Handler) ownerAccountOf(acct *store.Account) *Account {
	name := acct.DisplayName
	noindex := false
	a := &Account{
		ID: ownerID, Username: acct.Username, Acct: acct.Username, DisplayName: name,
		Locked: acct.Locked, Discoverable: true, Indexable: true,
		CreatedAt: timeJSON(acct.CreatedAt.UTC().Truncate(24 * time.Hour)),
		Note:      acct.BioHTML, URL: h.urls.Profile(), URI: h.urls.Actor(),
		Avatar: h.images.avatarURL(h.urls), Header: h.images.headerURL(h.urls),
		Noindex: &noindex, Emojis: []CustomEmoj{}, Roles: []struct{}{}, Fields: []Field{},
	}
	if acct.AvatarMediaID != "" {
		a.Avatar = h.urls.MediaPreview(acct.AvatarMediaID, ".img")
	}
	if acct.HeaderMediaID != "" {
		a.Header = h.urls.MediaPreview(acct.HeaderMediaID, ".img")
	}
	a.AvatarStatic, a.HeaderStatic = a.Avatar, a.Header
	for _, f := range acct.Fields {
		a.Fields = append(a.Fields, Field{Name: f.Name, Value: f.ValueHTML})
	}
	return a
}

// remoteAccount is the Account of a remote actor.
func (h *Handler) remoteAccount(a *store.Actor) *Account {
	username := a.Username
	if username == "" {
		username = a.Host
	}
	v := &Account{
		ID: strconv.FormatInt(a.ID, 10), Username: username, Acct: username + "@" + a.Host,
		DisplayName: a.Name, Locked: a.Locked, Bot: a.Type == "Service" || a.Type == "Application",
		Group: a.Type == "Group", CreatedAt: timeJSON(a.FetchedAt.UTC().Truncate(24 * time.Hour)),
		Note: a.SummaryHTML, URL: a.URL, URI: a.IRI,
		Avatar: a.IconURL, Header: a.ImageURL,
		Emojis: []CustomEmoj{}, Roles: []struct{}{}, Fields: []Field{},
	}
	if v.URL == "" {
		v.URL = a.IRI
	}
	if v.Avatar == "" {
		v.Avatar = h.images.avatarURL(h.urls)
	}
	if v.Header == "" {
		v.Header = h.images.headerURL(h.urls)
	}
	v.AvatarStatic, v.HeaderStatic = v.Avatar, v.Header
	return v
}

// unknownAccount stands for an author kith has not fetched: its id is
// the IRI's, so it stays stable, and it says where the account lives.
func (h *Handler) unknownAccount(iri string) *Account {
	return h.remoteAccount(&store.Actor{ID: -1, IRI: iri, Host: hostOf(iri)})
}

// hostOf is the host of an IRI, or "".
func hostOf(iri string) string {
	rest, ok := strings.CutPrefix(iri, "https://")
	if !ok {
		rest, _ = strings.CutPrefix(iri, "http://")
	}
	host, _, _ := strings.Cut(rest, "/")
	return strings.ToLower(host)
}

// views turns posts into statuses. It reads, in a fixed number of
// queries, what the statuses point at: the posts they answer, and the
// accounts they mention.
type views struct {
	h       *Handler
	owner   *Account
	own     bool // the owner is asking: their own state is shown
	refs    map[string]store.PostRef
	actors  map[string]*store.Actor
	notes   map[string]store.MediaNote
	ownIRI  string
	ownProf string
}

// newViews prepares the conversion of posts (and the posts boosted).
func (h *Handler) newViews(ctx context.Context, posts []*store.Post, own bool) (*views, error) {
	owner, err := h.ownerAccount(ctx, false)
	if err != nil {
		return nil, err
	}
	v := &views{h: h, owner: owner, own: own, ownIRI: h.urls.Actor(), ownProf: h.urls.Profile()}
	var replyIRIs, actorIRIs, media []string
	for _, p := range posts {
		if p.InReplyTo != "" {
			replyIRIs = append(replyIRIs, p.InReplyTo)
		}
		for _, m := range p.Mentions {
			actorIRIs = append(actorIRIs, m.ActorIRI)
		}
		for _, a := range p.Attachments {
			if a.MediaID != "" {
				media = append(media, a.MediaID)
			}
		}
	}
	if v.refs, err = h.db.PostRefs(ctx, replyIRIs); err != nil {
		return nil, err
	}
	for _, r := range v.refs {
		actorIRIs = append(actorIRIs, r.AuthorIRI)
	}
	if v.actors, err = h.db.ActorsByIRI(ctx, actorIRIs); err != nil {
		return nil, err
	}
	if v.notes, err = h.db.MediaNotes(ctx, media); err != nil {
		return nil, err
	}
	return v, nil
}

// accountOf is the account of an actor IRI.
func (v *views) accountOf(iri string, cached *store.Actor) *Account {
	if iri == v.ownIRI {
		return v.owner
	}
	if cached == nil {
		cached = v.actors[iri]
	}
	if cached == nil {
		return v.h.unknownAccount(iri)
	}
	return v.h.remoteAccount(cached)
}

// status converts one post.
func (v *views) status(p *store.Post) *Status {
	h := v.h
	s := &Status{
		ID: p.SID, CreatedAt: timeJSON(p.Published), Sensitive: p.Sensitive, SpoilerText: p.Summary,
		Visibility: apiVisibility(p.Visibility), Language: optString(p.Language), URI: p.IRI,
		RepliesCount: p.Counts.Replies, ReblogsCount: p.Counts.Boosts, FavouritesCount: p.Counts.Likes,
		EditedAt: optTime(p.Updated), Content: p.ContentHTML,
		Account:          v.accountOf(p.AuthorIRI, p.Author),
		MediaAttachments: []MediaAttachment{}, Mentions: []Mention{}, Tags: []Tag{}, Emojis: []CustomEmoj{},
	}
	url := p.URL
	if url == "" {
		url = p.IRI
	}
	s.URL = &url
	if p.Title != "" {
		s.Content = titled(p.Title, s.Content)
	}
	if ref, ok := v.refs[p.InReplyTo]; ok && p.InReplyTo != "" {
		s.InReplyToID = &ref.SID
		acc := v.accountOf(ref.AuthorIRI, nil)
		s.InReplyToAccountID = &acc.ID
	}
	if v.own {
		f := false
		s.Favourited, s.Reblogged, s.Bookmarked, s.Muted = &p.Own.Liked, &p.Own.Boosted, &p.Own.Bookmarked, &f
		s.Filtered = []struct{}{}
		if p.LocalID != "" {
			pinned := !p.PinnedAt.IsZero()
			s.Pinned = &pinned
		}
	}
	for i, a := range p.Attachments {
		s.MediaAttachments = append(s.MediaAttachments, v.attachment(p, i, a))
	}
	for _, m := range p.Mentions {
		acc := v.accountOf(m.ActorIRI, nil)
		mv := Mention{ID: acc.ID, Username: acc.Username, URL: m.URL, Acct: acc.Acct}
		if mv.URL == "" {
			mv.URL = acc.URL
		}
		s.Mentions = append(s.Mentions, mv)
	}
	for _, t := range p.Tags {
		s.Tags = append(s.Tags, Tag{Name: t, URL: h.urls.Tag(t)})
	}
	if p.Poll != nil {
		s.Poll = v.poll(p)
	}
	return s
}

// attachment converts one attachment of p.
func (v *views) attachment(p *store.Post, i int, a store.Attachment) MediaAttachment {
	if a.MediaID != "" {
		note := v.notes[a.MediaID]
		m := v.h.mediaView(&store.Media{ID: a.MediaID, MediaType: a.MediaType, Width: a.Width, Height: a.Height, Blurhash: a.Blurhash}, note)
		m.Description = optString(a.Description)
		return m
	}
	m := MediaAttachment{
		ID: p.SID + "-" + strconv.Itoa(i), Type: mediaType(a.MediaType), URL: optString(a.URL), PreviewURL: optString(a.URL),
		RemoteURL: optString(a.URL), Description: optString(a.Description), Blurhash: optString(a.Blurhash),
		Meta: &MediaMeta{Original: imageSize(a.Width, a.Height)},
	}
	return m
}

// mediaType is Mastodon's attachment type for a media type.
func mediaType(mt string) string {
	switch {
	case mt == "image/gif":
		return "gifv"
	case strings.HasPrefix(mt, "image/"):
		return "image"
	case strings.HasPrefix(mt, "video/"):
		return "video"
	case strings.HasPrefix(mt, "audio/"):
		return "audio"
	}
	return "unknown"
}

// mediaView is the MediaAttachment of an upload.
func (h *Handler) mediaView(m *store.Media, note store.MediaNote) MediaAttachment {
	url := h.urls.Media(m.ID, ap.MediaExt(m.MediaType))
	preview := h.urls.MediaPreview(m.ID, ".img")
	typ := mediaType(m.MediaType)
	if typ == "gifv" {
		typ = "image" // kith keeps GIFs as images, not videos
	}
	v := MediaAttachment{
		ID: m.ID, Type: typ, URL: &url, PreviewURL: &preview,
		Description: optString(note.Description), Blurhash: optString(m.Blurhash),
		Meta: &MediaMeta{
			Original: imageSize(m.Width, m.Height),
			Small:    imageSize(m.PreviewWidth, m.PreviewHeight),
			Focus:    &Focus{X: note.FocusX, Y: note.FocusY},
		},
	}
	if v.Meta.Small == nil {
		v.Meta.Small = v.Meta.Original
	}
	return v
}

// poll converts the poll of p.
func (v *views) poll(p *store.Post) *Poll {
	pl := p.Poll
	out := &Poll{
		ID: p.SID, ExpiresAt: optTime(pl.ExpiresAt), Expired: pl.Expired(v.h.now()), Multiple: pl.Multiple,
		VotesCount: pl.TotalVotes(), Options: []PollOption{}, Emojis: []CustomEmoj{},
	}
	if pl.VotersCount >= 0 {
		n := pl.VotersCount
		out.VotersCount = &n
	}
	// A poll that hides its totals shows no option's count until it ends,
	// to anyone (Mastodon's Poll#loaded_options); the totals still show.
	show := pl.ShowTotals(v.h.now())
	for i, o := range pl.Options {
		opt := PollOption{Title: o.Title}
		if show {
			n := o.Votes
			opt.VotesCount = &n
		}
		out.Options = append(out.Options, opt)
		if o.OwnVote {
			out.OwnVotes = append(out.OwnVotes, i)
		}
	}
	if v.own {
		voted := pl.Voted() || p.AuthorIRI == v.ownIRI
		out.Voted = &voted
		if out.OwnVotes == nil {
			out.OwnVotes = []int{}
		}
	} else {
		out.OwnVotes = nil
	}
	return out
}

// entry converts a timeline entry: a post, or a boost, which becomes a
// status of its own with the post embedded as its reblog.
func (v *views) entry(e *store.Entry) *Status {
	s := v.status(&e.Post)
	if e.Boost == nil {
		return s
	}
	booster := v.accountOf(e.Boost.ActorIRI, e.Booster)
	f := false
	b := &Status{
		ID: e.SID, CreatedAt: timeJSON(e.Boost.Published), Visibility: apiVisibility(e.Boost.Visibility),
		URI: e.Boost.IRI, URL: nil, Content: "", Reblog: s, Account: booster,
		MediaAttachments: []MediaAttachment{}, Mentions: []Mention{}, Tags: []Tag{}, Emojis: []CustomEmoj{},
	}
	if v.own {
		b.Favourited, b.Reblogged, b.Bookmarked, b.Muted = &f, s.Reblogged, &f, &f
		b.Filtered = []struct{}{}
	}
	return b
}
