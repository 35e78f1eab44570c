package ap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"kith/ap/markdown"
	"kith/ap/media"
	"kith/store"
)

// Limits of what the owner can publish.
const (
	MaxPostRunes    = 100_000 // long articles are the point
	MaxTitleRunes   = 200
	MaxSummaryRunes = 500
	MaxAttachments  = 4 // what Mastodon shows
	MaxAltRunes     = 1500
	// Polls, as Mastodon bounds them so its users can answer ours.
	MaxPollOptions     = 4
	MaxPollOptionRunes = 50
	MinPollDuration    = 5 * time.Minute
	MaxPollDuration    = 31 * 24 * time.Hour
	// mentionTimeout bounds the WebFinger lookups of one post's mentions.
	mentionTimeout = 15 * time.Second
)

// Draft is a post as the owner writes it, in the browser or with
// `kith post`.
type Draft struct {
	Title      string // a title makes the post an Article
	Source     string // Markdown
	Summary    string // content warning
	Sensitive  bool   // hide media behind a click (implied by a content warning)
	Visibility string // store.Public, Unlisted, Followers or Direct; "" means public
	Language   string // e.g. "en"; "" for unknown
	InReplyTo  string // IRI of the post answered, if any
	Media      []DraftMedia
	Poll       *DraftPoll // makes the post a Question
	// Key, when set, makes publishing idempotent: a second Publish with
	// the same key (a form sent twice, a client retrying) publishes
	// nothing and returns the post the first one made.
	Key string
}

// DraftMedia is an uploaded image attached to a draft, with its alt text.
type DraftMedia struct {
	ID          string
	Description string
}

// DraftPoll is a poll the owner asks: its options, how long it takes
// votes, whether a voter may pick several, and whether the counts stay
// hidden until it ends.
type DraftPoll struct {
	Options    []string
	Duration   time.Duration
	Multiple   bool
	HideTotals bool
}

// ErrInvalid is wrapped by errors that describe a problem with what the
// owner wrote; its message is meant to be shown to them.
var ErrInvalid = errors.New("invalid post")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Published is the outcome of publishing or editing.
type Published struct {
	Post       *store.Post
	Unresolved []string // mentions that could not be resolved and stayed plain text
	Deliveries int      // distinct inboxes the activity was queued for
	// Repeated says the draft's Key had published Post already: nothing
	// new was stored or sent.
	Repeated bool
}

// renderer is the Markdown renderer, built once in New and shared.
func (s *Service) renderer() *markdown.Renderer { return s.md }

// links is how our Markdown links: hashtags to our tag pages, relative
// URLs made absolute on our site, and mentions through mention (nil
// leaves them as text).
func (s *Service) links(mention func(markdown.Mention) (string, bool)) markdown.Links {
	base, _ := url.Parse(s.urls.Base() + "/") // built from a checked domain
	return markdown.Links{Mention: mention, Tag: s.urls.Tag, Base: base}
}

// Preview renders a draft as it would be published, resolving its
// mentions, without storing or sending anything.
func (s *Service) Preview(ctx context.Context, d Draft) (string, []string, error) {
	if err := s.checkDraft(&d); err != nil {
		return "", nil, err
	}
	html, mentions, unresolved, err := s.renderDraft(ctx, d.Source)
	if err != nil {
		return "", nil, err
	}
	if err := checkRecipients(&d, mentions, unresolved); err != nil {
		return "", nil, err
	}
	return html, unresolved, nil
}

// checkRecipients refuses a direct post that would reach nobody: one
// goes only to the people it mentions, so without a mention kith could
// find it would be stored and sent nowhere, silently.
func checkRecipients(d *Draft, mentions []store.Mention, unresolved []string) error {
	if d.Visibility != store.Direct || len(mentions) > 0 {
		return nil
	}
	switch len(unresolved) {
	case 0:
		return invalid("a direct post goes only to the people it mentions, and this one mentions nobody: add them as @user@server, or choose another visibility")
	case 1:
		return invalid("a direct post goes only to the people it mentions, and %s could not be found: check the address (is the server up?), or choose another visibility", unresolved[0])
	}
	return invalid("a direct post goes only to the people it mentions, and none of them could be found (%s): check the addresses (are the servers up?), or choose another visibility", strings.Join(unresolved, ", "))
}

// Publish stores a new post and queues its Create for every server that
// should receive it, in one transaction: one delivery per distinct inbox,
// followers that share a server sharing one.
func (s *Service) Publish(ctx context.Context, d Draft) (*Published, error) {
	return s.publish(ctx, d, nil)
}

// publish is Publish with also, when not nil, run in the transaction that
// stores the post: publishing a scheduled post removes it there, so that
// it goes out exactly once.
func (s *Service) publish(ctx context.Context, d Draft, also func(tx *store.Tx) error) (*Published, error) {
	r, err := s.prepare(ctx, &d)
	if err != nil {
		return nil, err
	}
	if r.mentions, err = s.addReplyAuthor(ctx, d.InReplyTo, r.mentions); err != nil {
		return nil, err
	}
	if err := checkRecipients(&d, r.mentions, r.unresolved); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	id := s.newID(now)
	p := &store.Post{
		IRI:         s.urls.Post(id),
		LocalID:     id,
		AuthorIRI:   s.urls.Actor(),
		Type:        "Note",
		Title:       d.Title,
		Summary:     d.Summary,
		Sensitive:   d.Sensitive || d.Summary != "",
		ContentHTML: r.html,
		Source:      d.Source,
		Language:    d.Language,
		Visibility:  d.Visibility,
		InReplyTo:   d.InReplyTo,
		URL:         s.urls.PostPage(id),
		Published:   now.Truncate(time.Second),
		Attachments: r.attachments,
		Tags:        r.tags,
		Mentions:    r.mentions,
	}
	if d.Title != "" {
		p.Type = "Article"
	}
	if d.Poll != nil {
		p.Type = "Question"
		p.Poll = &store.Poll{Multiple: d.Poll.Multiple, HideTotals: d.Poll.HideTotals, ExpiresAt: p.Published.Add(d.Poll.Duration), UpdatedAt: now}
		for _, o := range d.Poll.Options {
			p.Poll.Options = append(p.Poll.Options, store.PollOption{Title: o})
		}
	}
	out := &Published{Post: p, Unresolved: r.unresolved}
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		if d.Key != "" {
			first, err := tx.PostIDByPublishKey(ctx, d.Key)
			if err == nil {
				if out.Post, err = tx.PostByIRI(ctx, s.urls.Post(first)); err != nil {
					return err
				}
				out.Repeated = true
				return nil
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err := tx.AddPublishKey(ctx, d.Key, id, now); err != nil {
				return err
			}
		}
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		if err := tx.PutPost(ctx, p); err != nil {
			return err
		}
		if p.Poll != nil {
			if err := tx.PutPoll(ctx, p.ID, p.Poll); err != nil {
				return err
			}
		}
		inboxes, err := s.audience(ctx, tx, p, nil)
		if err != nil {
			return err
		}
		out.Deliveries = len(inboxes)
		return s.enqueue(ctx, tx, s.urls.PostActivity(id), "Create", p.IRI, createDocument(s.urls, p, now), inboxes)
	})
	if err != nil {
		return nil, err
	}
	if out.Repeated {
		s.log.Info("a draft sent again was not published twice", "post", out.Post.IRI)
		return out, nil
	}
	s.deliverer.Wake()
	s.log.Info("published", "post", p.IRI, "visibility", p.Visibility, "inboxes", out.Deliveries)
	return out, nil
}

// Edit replaces the text, title, content warning, language and media of
// one of our posts and sends Update with the new version to everyone who
// got the post, and to anyone newly mentioned. The visibility stays what it
// was: changing who may see a post after the fact cannot be undone at the
// servers that already have it.
func (s *Service) Edit(ctx context.Context, localID string, d Draft) (*Published, error) {
	old, err := s.db.PostByLocalID(ctx, localID)
	if err != nil {
		return nil, err
	}
	if !old.DeletedAt.IsZero() {
		return nil, store.ErrNotFound
	}
	d.Visibility = old.Visibility
	d.InReplyTo = old.InReplyTo
	r, err := s.prepare(ctx, &d)
	if err != nil {
		return nil, err
	}
	// Receivers apply an Update only if its updated time is later than what
	// they hold, at second precision: two quick edits must still differ.
	now := s.now().UTC().Truncate(time.Second)
	last := old.Published
	if old.Updated.After(last) {
		last = old.Updated
	}
	if !now.After(last) {
		now = last.Add(time.Second)
	}
	p := *old
	p.Title, p.Summary, p.Source, p.Language = d.Title, d.Summary, d.Source, d.Language
	p.Sensitive = d.Sensitive || d.Summary != ""
	p.ContentHTML = r.html
	p.Type = "Note"
	if d.Title != "" {
		p.Type = "Article"
	}
	if old.Type == "Question" {
		// The text of a poll may change; its options stay (votes were
		// cast for them), and the Update carries them.
		if d.Title != "" || len(r.attachments) > 0 {
			return nil, invalid("a poll cannot go with images or a title")
		}
		p.Type = "Question"
		if p.Poll, err = s.db.PollOf(ctx, old.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	p.Attachments, p.Tags, p.Mentions = r.attachments, r.tags, r.mentions
	p.Updated = now
	out := &Published{Post: &p, Unresolved: r.unresolved}
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		// The version replaced is kept: clients show a post's history.
		if err := tx.AddEdit(ctx, old); err != nil {
			return err
		}
		if err := tx.PutPost(ctx, &p); err != nil {
			return err
		}
		inboxes, err := s.audience(ctx, tx, &p, old.Mentions)
		if err != nil {
			return err
		}
		out.Deliveries = len(inboxes)
		n := noteDocument(s.urls, &p, false, now)
		id := s.urls.Activity("updates", s.newID(now))
		doc := jsonActivity{Context: objectContext(), ID: id, Type: "Update", Actor: s.urls.Actor(), To: n.To, Cc: n.Cc, Object: n}
		return s.enqueue(ctx, tx, id, "Update", p.IRI, doc, inboxes)
	})
	if err != nil {
		return nil, err
	}
	s.deliverer.Wake()
	return out, nil
}

// prepared is a checked draft, rendered, with its mentions resolved and its
// uploads looked up.
type prepared struct {
	html        string
	mentions    []store.Mention
	unresolved  []string
	tags        []string
	attachments []store.Attachment
}

func (s *Service) prepare(ctx context.Context, d *Draft) (*prepared, error) {
	if err := s.checkDraft(d); err != nil {
		return nil, err
	}
	var r prepared
	var err error
	if r.html, r.mentions, r.unresolved, err = s.renderDraft(ctx, d.Source); err != nil {
		return nil, err
	}
	if r.attachments, err = s.draftAttachments(ctx, d.Media); err != nil {
		return nil, err
	}
	_, r.tags = s.md.Scan(d.Source)
	return &r, nil
}

// DeletePost deletes one of our posts: a Tombstone takes its place and
// Delete goes to everyone who got it.
func (s *Service) DeletePost(ctx context.Context, localID string) error {
	p, err := s.db.PostByLocalID(ctx, localID)
	if err != nil {
		return err
	}
	if !p.DeletedAt.IsZero() {
		return store.ErrNotFound
	}
	now := s.now().UTC()
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		inboxes, err := s.audience(ctx, tx, p, nil)
		if err != nil {
			return err
		}
		if err := tx.MarkPostDeleted(ctx, localID, now); err != nil {
			return err
		}
		n := noteDocument(s.urls, p, false, now)
		p.DeletedAt = now
		doc := jsonActivity{
			Context: activityStreams, ID: p.IRI + "#delete", Type: "Delete", Actor: s.urls.Actor(),
			To: n.To, Cc: n.Cc, Object: tombstone(p, false),
		}
		return s.enqueue(ctx, tx, p.IRI+"#delete", "Delete", p.IRI, doc, inboxes)
	})
	if err != nil {
		return err
	}
	s.deliverer.Wake()
	return nil
}

// audience returns the inboxes a post goes to: the followers' (one per
// server with a shared inbox) unless it is direct, and those of the
// mentioned actors, including earlier ones (an edit must reach who was
// mentioned before). Never our own.
func (s *Service) audience(ctx context.Context, tx *store.Tx, p *store.Post, alsoMentioned []store.Mention) ([]string, error) {
	var inboxes []string
	if p.Visibility != store.Direct {
		followers, err := tx.FollowerInboxes(ctx)
		if err != nil {
			return nil, err
		}
		inboxes = append(inboxes, followers...)
	}
	for _, m := range append(append([]store.Mention{}, p.Mentions...), alsoMentioned...) {
		a, err := tx.ActorByIRI(ctx, m.ActorIRI)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		// A non-public post goes to the mentioned actor's own inbox, so
		// that no server receives it only through a shared inbox it would
		// have to fan out itself.
		if p.Visibility == store.Public || p.Visibility == store.Unlisted {
			inboxes = append(inboxes, a.DeliveryInbox())
		} else {
			inboxes = append(inboxes, a.Inbox)
		}
	}
	return s.filterInboxes(inboxes), nil
}

// checkDraft validates and normalises a draft.
func (s *Service) checkDraft(d *Draft) error {
	d.Title = strings.TrimSpace(d.Title)
	d.Summary = strings.TrimSpace(d.Summary)
	d.Source = strings.TrimRight(strings.ReplaceAll(d.Source, "\r\n", "\n"), " \n\t")
	d.Language = strings.TrimSpace(d.Language)
	if d.Visibility == "" {
		d.Visibility = store.Public
	}
	switch d.Visibility {
	case store.Public, store.Unlisted, store.Followers, store.Direct:
	default:
		return invalid("visibility %q is not one of public, unlisted, followers or direct", d.Visibility)
	}
	if strings.TrimSpace(d.Source) == "" && len(d.Media) == 0 {
		return invalid("the post is empty")
	}
	for what, lim := range map[string]struct {
		s string
		n int
	}{"text": {d.Source, MaxPostRunes}, "title": {d.Title, MaxTitleRunes}, "content warning": {d.Summary, MaxSummaryRunes}} {
		if !utf8.ValidString(lim.s) {
			return invalid("the %s is not valid UTF-8", what)
		}
		if n := utf8.RuneCountInString(lim.s); n > lim.n {
			return invalid("the %s has %d characters; at most %d fit", what, n, lim.n)
		}
	}
	if d.Language != "" && !languageTag(d.Language) {
		return invalid("language %q is not a language tag such as en or pt-BR", d.Language)
	}
	if len(d.Media) > MaxAttachments {
		return invalid("%d images; at most %d fit in a post", len(d.Media), MaxAttachments)
	}
	for _, m := range d.Media {
		if utf8.RuneCountInString(m.Description) > MaxAltRunes {
			return invalid("an image description has more than %d characters", MaxAltRunes)
		}
	}
	return checkPoll(d)
}

// checkPoll checks a draft's poll against the bounds Mastodon keeps, so
// every server that shows polls can show ours. A poll goes in a Note of
// its own: Mastodon drops the media of a Question, and an Article is no
// Question.
func checkPoll(d *Draft) error {
	pl := d.Poll
	if pl == nil {
		return nil
	}
	if len(d.Media) > 0 || d.Title != "" {
		return invalid("a poll cannot go with images or a title")
	}
	if len(pl.Options) < 2 || len(pl.Options) > MaxPollOptions {
		return invalid("a poll has %d options; it needs 2 to %d", len(pl.Options), MaxPollOptions)
	}
	seen := map[string]bool{}
	for i, o := range pl.Options {
		o = strings.TrimSpace(o)
		pl.Options[i] = o
		switch {
		case o == "" || !utf8.ValidString(o):
			return invalid("poll option %d is empty", i+1)
		case utf8.RuneCountInString(o) > MaxPollOptionRunes:
			return invalid("poll option %d has more than %d characters", i+1, MaxPollOptionRunes)
		case seen[o]:
			return invalid("poll option %q is there twice", o)
		}
		seen[o] = true
	}
	if pl.Duration < MinPollDuration || pl.Duration > MaxPollDuration {
		return invalid("a poll lasts from %v to %d days", MinPollDuration, MaxPollDuration/(24*time.Hour))
	}
	return nil
}

// languageTag reports whether s has the shape of a BCP 47 language tag:
// a 2-3 letter language, then subtags of 1-8 letters or digits (pt-BR,
// zh-Hant-TW, es-419). It checks the shape only, which is what keeps
// "English" or "en us" out of contentMap and the pages' lang attributes.
func languageTag(s string) bool {
	if len(s) > 35 {
		return false
	}
	for i, sub := range strings.Split(s, "-") {
		n := len(sub)
		if i == 0 && (n < 2 || n > 3) || n < 1 || n > 8 {
			return false
		}
		for _, c := range sub {
			letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			digit := c >= '0' && c <= '9'
			if !letter && !(digit && i > 0) {
				return false
			}
		}
	}
	return true
}

// renderDraft resolves the draft's mentions through WebFinger (in
// parallel, bounded in time) and renders its Markdown. Mentions that do not
// resolve stay plain text and are reported.
func (s *Service) renderDraft(ctx context.Context, src string) (string, []store.Mention, []string, error) {
	md := s.renderer()
	found, _ := md.Scan(src)
	type result struct {
		actor *store.Actor
		err   error
	}
	results := make([]result, len(found))
	lookupCtx, cancel := context.WithTimeout(ctx, mentionTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for i, m := range found {
		if strings.EqualFold(m.Host, s.urls.Domain()) && strings.EqualFold(m.Username, s.urls.Username()) {
			continue // ourselves: linked below, never delivered to
		}
		wg.Go(func() {
			a, err := s.ResolveActor(lookupCtx, m.String())
			results[i] = result{a, err}
		})
	}
	wg.Wait()

	resolved := map[string]*store.Actor{}
	var mentions []store.Mention
	var unresolved []string
	for i, m := range found {
		key := strings.ToLower(m.String())
		if strings.EqualFold(m.Host, s.urls.Domain()) && strings.EqualFold(m.Username, s.urls.Username()) {
			resolved[key] = &store.Actor{IRI: s.urls.Actor(), URL: s.urls.Profile()}
			continue
		}
		if results[i].err != nil {
			unresolved = append(unresolved, m.String())
			s.log.Info("mention not resolved", "mention", m.String(), "err", results[i].err)
			continue
		}
		a := results[i].actor
		resolved[key] = a
		mentions = append(mentions, store.Mention{ActorIRI: a.IRI, Name: m.String(), URL: a.URL})
	}
	html, err := md.Render(src, s.links(func(m markdown.Mention) (string, bool) {
		a, ok := resolved[strings.ToLower(m.String())]
		if !ok {
			return "", false
		}
		if a.URL != "" {
			return a.URL, true
		}
		return a.IRI, true
	}))
	if err != nil {
		return "", nil, nil, err
	}
	return strings.TrimSpace(html), mentions, unresolved, nil
}

// draftAttachments looks up the draft's uploads.
func (s *Service) draftAttachments(ctx context.Context, dm []DraftMedia) ([]store.Attachment, error) {
	var out []store.Attachment
	for _, d := range dm {
		m, err := s.db.MediaByID(ctx, d.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, invalid("an attached image is missing; upload it again")
		} else if err != nil {
			return nil, err
		}
		out = append(out, store.Attachment{
			MediaID: m.ID, MediaType: m.MediaType, Description: strings.TrimSpace(d.Description),
			Width: m.Width, Height: m.Height, Blurhash: m.Blurhash,
		})
	}
	return out, nil
}

// StoreUpload processes an uploaded image (type sniffed, metadata
// stripped, size and pixels capped, preview and blurhash made) and stores
// it. The errors of package media tell what was wrong with the file.
func (s *Service) StoreUpload(ctx context.Context, r io.Reader) (*store.Media, error) {
	img, err := media.Process(r, media.Options{MaxBytes: MaxUploadBytes})
	if err != nil {
		return nil, err
	}
	m := s.newMedia(img, s.now())
	if err := s.db.AddMedia(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// newMedia is a processed image as it is stored, under a new id.
func (s *Service) newMedia(img *media.Image, now time.Time) *store.Media {
	return &store.Media{
		ID: s.newID(now), MediaType: img.MediaType, Data: img.Data, Width: img.Width, Height: img.Height,
		Blurhash: img.Blurhash, PreviewType: img.PreviewType, Preview: img.Preview,
		PreviewWidth: img.PreviewWidth, PreviewHeight: img.PreviewHeight, CreatedAt: now,
	}
}

// MaxUploadBytes is the largest image accepted.
const MaxUploadBytes = 10 << 20
