package ap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"

	"kith/ap/media"
	"kith/store"
	"kith/store/archive"
)

// ArchiveResult counts what an archive import did.
type ArchiveResult struct {
	Posts     int // public posts imported
	Unchanged int // posts imported before
	Skipped   int // items that are not public posts of the owner's (boosts, replies to others, private posts)
	// Media counts the files stored with the imported posts, MediaBytes
	// their size as stored (metadata stripped, as for uploads).
	Media      int
	MediaBytes int64
	// MediaSkipped counts attachments, avatar and header left out: missing
	// from the archive, not an image kith keeps, lying about their type,
	// or over the size cap of uploads. Warnings says why, for the first of
	// them.
	MediaSkipped int
	Warnings     []string
	CSV          []ImportResult
	// Avatar and Header say what became of the archive's avatar and
	// header; one that was set counts in Media, one refused in
	// MediaSkipped.
	Avatar, Header ImageOutcome
}

// warn records an attachment that was left out.
func (res *ArchiveResult) warn(format string, args ...any) {
	res.MediaSkipped++
	if len(res.Warnings) < maxImportFailures {
		res.Warnings = append(res.Warnings, fmt.Sprintf(format, args...))
	}
}

// ArchiveProgress is how far an archive import has come.
type ArchiveProgress struct {
	// Phase is "profile" (the avatar and header), "posts", or the CSV
	// export being applied (following_accounts.csv).
	Phase    string
	Done     int
	Total    int
	Warnings int // images left out so far
}

// maxArchiveItems caps the items of outbox.json that are read.
const maxArchiveItems = 1_000_000

// progressEvery is how many items pass between two progress reports.
const progressEvery = 100

// Imported posts are stored in batches of up to importBatch posts, or
// importBatchBytes of their images, a transaction each: one commit per
// post was a sixth of an import's CPU time.
const (
	importBatch      = 100
	importBatchBytes = 8 << 20
)

// ImportArchiveFile checks the archive at path whole (archive.Open with
// the default limits: a hostile archive is refused, wrapping
// archive.ErrRefused, before anything changes), then imports it: the one
// way in for `kith import` and the settings page. progress hears of the
// check (phase "checking") and then as ImportArchive reports.
func (s *Service) ImportArchiveFile(ctx context.Context, path string, progress func(ArchiveProgress)) (ArchiveResult, error) {
	if progress != nil {
		progress(ArchiveProgress{Phase: "checking"})
	}
	a, err := archive.Open(path, archive.DefaultLimits)
	if err != nil {
		return ArchiveResult{}, err
	}
	defer a.Close()
	return s.ImportArchive(ctx, a, progress)
}

// ImportArchive brings an opened Mastodon archive in: its avatar and
// header become the owner's where the owner has none, the public posts of
// outbox.json become posts of this account under their original dates,
// with their images, marked as imported and never delivered, and the CSV
// exports inside are applied as ImportCSV does. A second import of the
// same archive finds everything in place and reads no media. progress,
// when not nil, is called as the import goes.
func (s *Service) ImportArchive(ctx context.Context, a *archive.Archive, progress func(ArchiveProgress)) (ArchiveResult, error) {
	var res ArchiveResult
	report := func(p ArchiveProgress) {
		if progress != nil {
			p.Warnings = res.MediaSkipped
			progress(p)
		}
	}
	if a.OutboxItems > maxArchiveItems {
		return res, invalid("outbox.json holds %d items; at most %d are imported", a.OutboxItems, maxArchiveItems)
	}
	// The avatar and header first: a few files, where the posts may take
	// hours.
	report(ArchiveProgress{Phase: "profile"})
	if err := s.importProfileImages(ctx, a, &res); err != nil {
		return res, err
	}
	from := newArchiveAccount(a)
	done := 0
	report(ArchiveProgress{Phase: "posts", Total: a.OutboxItems})
	var batch []*importedPost
	var batchBytes int
	flush := func() error {
		err := s.storeImported(ctx, batch, &res)
		batch, batchBytes = batch[:0], 0
		return err
	}
	// Item by item from the file: the outbox is never held whole.
	err := a.Outbox(func(raw json.RawMessage) error {
		ip, err := s.prepareImported(ctx, a, raw, from, &res)
		switch {
		case err != nil:
			return err
		case ip != nil:
			batch = append(batch, ip)
			for _, m := range ip.files {
				batchBytes += len(m.Data) + len(m.Preview)
			}
			if len(batch) == importBatch || batchBytes >= importBatchBytes {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if done++; done%progressEvery == 0 {
			report(ArchiveProgress{Phase: "posts", Done: done, Total: a.OutboxItems})
		}
		return ctx.Err()
	})
	if err == nil {
		// What is left of the last batch. After an error it is dropped:
		// importing the archive again brings it in.
		err = flush()
	}
	if err != nil {
		return res, err
	}
	if done%progressEvery != 0 {
		report(ArchiveProgress{Phase: "posts", Done: done, Total: a.OutboxItems})
	}
	for _, name := range ExportNames {
		b, ok := a.Docs[name]
		if !ok {
			continue
		}
		r, err := s.ImportCSV(ctx, name, strings.NewReader(string(b)), func(done, total int) {
			if done%progressEvery == 0 || done == total {
				report(ArchiveProgress{Phase: name, Done: done, Total: total})
			}
		})
		if err != nil {
			return res, err
		}
		res.CSV = append(res.CSV, r)
	}
	return res, nil
}

// archiveAccount is the account whose archive it is, as actor.json says.
type archiveAccount struct {
	iri, address string
}

func newArchiveAccount(a *archive.Archive) archiveAccount {
	var actor struct {
		ID                string `json:"id"`
		PreferredUsername string `json:"preferredUsername"`
	}
	if json.Unmarshal(a.Docs["actor.json"], &actor) != nil {
		return archiveAccount{}
	}
	host := hostOf(actor.ID)
	name := plainText(actor.PreferredUsername, 100)
	if host == "" || name == "" || strings.ContainsAny(name, "@ ") {
		return archiveAccount{}
	}
	return archiveAccount{iri: actor.ID, address: "@" + name + "@" + host}
}

// of is how an imported post's label names the account that wrote it:
// its address (@old@mastodon.social) when actor.json is that account,
// else the old server's name.
func (acct archiveAccount) of(author string) string {
	if author == acct.iri && acct.address != "" {
		return acct.address
	}
	return hostOf(author)
}

// importedPost is a post of the archive ready to be stored: its images
// processed, its origin and the post it answers on the old server.
type importedPost struct {
	p              *store.Post
	files          []*store.Media
	origin, parent string
}

// prepareImported reads one item of outbox.json: the post to store, or
// nil when it is not a public post (counted Skipped) or was imported
// before (Unchanged). from is the old account, for the post's label.
func (s *Service) prepareImported(ctx context.Context, a *archive.Archive, raw json.RawMessage, from archiveAccount, res *ArchiveResult) (*importedPost, error) {
	var act struct {
		Type   Types           `json:"type"`
		Object json.RawMessage `json:"object"`
	}
	if json.Unmarshal(raw, &act) != nil || !act.Type.Is("Create") {
		res.Skipped++
		return nil, nil
	}
	var o Object
	if err := json.Unmarshal(act.Object, &o); err != nil || o.ID == "" || isCard(o.Type) || o.Type.Is("Question") {
		res.Skipped++
		return nil, nil
	}
	now := s.now()
	owner := &store.Actor{IRI: string(o.AttributedTo), Followers: string(o.AttributedTo) + "/followers"}
	p := remotePost(&o, nil, owner, now)
	// A reply counts only within the owner's own threads.
	if p.Visibility != store.Public || (p.InReplyTo != "" && !strings.HasPrefix(p.InReplyTo, owner.IRI+"/")) {
		res.Skipped++
		return nil, nil
	}
	origin, parent := p.IRI, p.InReplyTo
	// Asked before the media are read, so that importing an archive
	// again reads none of them.
	if here, err := s.db.ImportedAs(ctx, origin); err != nil {
		return nil, err
	} else if here != "" {
		res.Unchanged++
		return nil, nil
	}
	p.LocalID = store.NewID(p.Published)
	p.IRI, p.AuthorIRI, p.Raw, p.InReplyTo = s.urls.Post(p.LocalID), s.urls.Actor(), "", ""
	p.URL = s.urls.PostPage(p.LocalID)
	p.ImportedFrom = from.of(owner.IRI)
	// Mentions and quotes point at the old server's view of others, and
	// are dropped with it.
	p.Mentions, p.QuoteIRI = nil, ""
	ip := &importedPost{p: p, origin: origin, parent: parent}
	p.Attachments, ip.files = s.archiveMedia(a, &o, origin, now, res)
	return ip, nil
}

// storeImported stores a batch of imported posts with their images in one
// transaction, and counts them in res once it is committed.
func (s *Service) storeImported(ctx context.Context, batch []*importedPost, res *ArchiveResult) error {
	if len(batch) == 0 {
		return nil
	}
	var posts, unchanged, files int
	var bytes int64
	now := s.now()
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		posts, unchanged, files, bytes = 0, 0, 0, 0
		for _, ip := range batch {
			// Another import may have stored it since it was read.
			if here, err := tx.ImportedAs(ctx, ip.origin); err != nil {
				return err
			} else if here != "" {
				unchanged++
				continue
			}
			// The thread holds when its start came first (outbox.json is
			// oldest first); otherwise the post stands alone.
			var err error
			if ip.p.InReplyTo, err = tx.ImportedAs(ctx, ip.parent); err != nil {
				return err
			}
			for _, m := range ip.files {
				if err := tx.AddMedia(ctx, m); err != nil {
					return err
				}
				files++
				bytes += int64(len(m.Data))
			}
			if err := tx.PutPost(ctx, ip.p); err != nil {
				return err
			}
			if err := tx.MarkImported(ctx, ip.p.ID, ip.origin, now); err != nil {
				return err
			}
			posts++
		}
		return nil
	})
	if err != nil {
		return err
	}
	res.Posts += posts
	res.Unchanged += unchanged
	res.Media += files
	res.MediaBytes += bytes
	return nil
}

// archiveMedia reads the images of an imported post from the archive and
// processes them as uploads are processed (type sniffed from the content,
// metadata stripped, the same size and pixel caps), keeping their
// description, focal point and blurhash. What cannot be kept is counted
// in res with the reason, and the post goes in without it.
func (s *Service) archiveMedia(a *archive.Archive, o *Object, origin string, now time.Time, res *ArchiveResult) ([]store.Attachment, []*store.Media) {
	var atts []store.Attachment
	var files []*store.Media
	for _, at := range o.Attachment {
		if len(atts) == MaxAttachments {
			res.warn("%s: more than %d attachments; the rest are left out", origin, MaxAttachments)
			break
		}
		ref := at.URL.Best(at.MediaType).Href
		if ref == "" {
			ref = at.Href
		}
		claimed, _, _ := mime.ParseMediaType(at.MediaType)
		if claimed != "" && !strings.HasPrefix(claimed, "image/") {
			res.warn("%s: %s is %s; kith keeps images only", origin, ref, claimed)
			continue
		}
		name, ok := a.MediaFor(ref)
		if !ok {
			res.warn("%s: %s is not in the archive", origin, ref)
			continue
		}
		img, problem := s.readArchiveImage(a, name, claimed)
		if problem != "" {
			res.warn("%s: %s", origin, problem)
			continue
		}
		desc := string(at.Summary)
		if desc == "" {
			desc = string(at.Name)
		}
		m := s.newMedia(img, now)
		blurhash := plainText(at.Blurhash, 100)
		if blurhash == "" {
			blurhash = img.Blurhash
		}
		fx, fy := at.Focus()
		files = append(files, m)
		atts = append(atts, store.Attachment{
			MediaID: m.ID, MediaType: m.MediaType, Description: plainText(desc, 1500),
			Width: m.Width, Height: m.Height, Blurhash: blurhash, FocusX: fx, FocusY: fy,
		})
	}
	return atts, files
}

// readArchiveImage reads and processes one image of the archive as an
// upload is processed, or says why it is refused: over the upload cap,
// not an image kith takes (the type is sniffed from the bytes, whatever
// the name says), or of another type than claimed, when a type is.
func (s *Service) readArchiveImage(a *archive.Archive, name, claimed string) (*media.Image, string) {
	img, err := s.archiveImage(a, name)
	switch {
	case errors.Is(err, media.ErrTooLarge):
		return nil, fmt.Sprintf("%s is larger than %d MB", name, MaxUploadBytes>>20)
	case err != nil:
		return nil, fmt.Sprintf("%s is not an image kith takes: %v", name, err)
	case claimed != "" && claimed != img.MediaType:
		return nil, fmt.Sprintf("%s claims to be %s but is %s", name, claimed, img.MediaType)
	}
	return img, ""
}

// archiveImage processes one media file of the archive, refusing one over
// the upload cap before reading it.
func (s *Service) archiveImage(a *archive.Archive, name string) (*media.Image, error) {
	f, err := a.OpenMedia(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > MaxUploadBytes {
		return nil, media.ErrTooLarge
	}
	return media.Process(f, media.Options{MaxBytes: MaxUploadBytes})
}
