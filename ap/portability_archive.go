package ap

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"kith/store"
	"kith/store/archive"
)

// ArchiveResult counts what an archive import did.
type ArchiveResult struct {
	Posts     int // public posts imported
	Unchanged int // posts imported before
	Skipped   int // items that are not public posts of the owner's (boosts, replies to others, private posts)
	CSV       []ImportResult
}

// maxArchiveItems caps the items of outbox.json that are read.
const maxArchiveItems = 1_000_000

// ImportArchive brings an opened Mastodon archive in: the public posts of
// outbox.json become posts of this account under their original dates,
// marked as imported and never delivered, and the CSV exports inside are
// applied as ImportCSV does. A second import of the same archive finds
// everything in place. progress, when not nil, is called as posts go in,
// with the count so far (the total is not known until the end: 0).
func (s *Service) ImportArchive(ctx context.Context, a *archive.Archive, progress func(done, total int)) (ArchiveResult, error) {
	var res ArchiveResult
	if b, ok := a.Docs["outbox.json"]; ok {
		// Item by item, so that a large outbox is not held twice.
		dec := json.NewDecoder(bytes.NewReader(b))
		done := 0
		err := eachItem(dec, func(raw json.RawMessage) error {
			if done++; done > maxArchiveItems {
				return invalid("outbox.json holds more than %d items", maxArchiveItems)
			}
			switch added, err := s.importArchivePost(ctx, raw); {
			case err != nil:
				return err
			case added == 1:
				res.Posts++
			case added == 0:
				res.Unchanged++
			default:
				res.Skipped++
			}
			if progress != nil && done%100 == 0 {
				progress(done, 0)
			}
			return ctx.Err()
		})
		if err != nil {
			return res, err
		}
		if progress != nil && done%100 != 0 {
			progress(done, 0)
		}
	}
	for _, name := range ExportNames {
		if b, ok := a.Docs[name]; ok {
			r, err := s.ImportCSV(ctx, name, strings.NewReader(string(b)), nil)
			if err != nil {
				return res, err
			}
			res.CSV = append(res.CSV, r)
		}
	}
	return res, nil
}

// eachItem calls fn with each element of the orderedItems of the JSON
// object dec reads, skipping its other members.
func eachItem(dec *json.Decoder, fn func(json.RawMessage) error) error {
	bad := func(err error) error { return invalid("outbox.json: %v", err) }
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return invalid("outbox.json is not a JSON object")
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return bad(err)
		}
		if key != "orderedItems" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return bad(err)
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return invalid("outbox.json: orderedItems is not a list")
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return bad(err)
			}
			if err := fn(raw); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return bad(err)
		}
	}
	return nil
}

// importArchivePost stores one item of outbox.json: 1 when it was added,
// 0 when it was imported before, -1 when it is not a public post.
func (s *Service) importArchivePost(ctx context.Context, raw json.RawMessage) (int, error) {
	var act struct {
		Type   Types           `json:"type"`
		Object json.RawMessage `json:"object"`
	}
	if json.Unmarshal(raw, &act) != nil || !act.Type.Is("Create") {
		return -1, nil
	}
	var o Object
	if err := json.Unmarshal(act.Object, &o); err != nil || o.ID == "" || isCard(o.Type) || o.Type.Is("Question") {
		return -1, nil
	}
	now := s.now()
	owner := &store.Actor{IRI: string(o.AttributedTo), Followers: string(o.AttributedTo) + "/followers"}
	p := remotePost(&o, nil, owner, now)
	// A reply counts only within the owner's own threads.
	if p.Visibility != store.Public || (p.InReplyTo != "" && !strings.HasPrefix(p.InReplyTo, owner.IRI+"/")) {
		return -1, nil
	}
	origin, parent := p.IRI, p.InReplyTo
	p.LocalID = store.NewID(p.Published)
	p.IRI, p.AuthorIRI, p.Raw, p.InReplyTo = s.urls.Post(p.LocalID), s.urls.Actor(), "", ""
	p.URL = s.urls.PostPage(p.LocalID)
	// The archive's media files are not stored yet: an imported post
	// comes without its attachments. Mentions and quotes point at the old
	// server's view of others, and are dropped with them.
	p.Attachments, p.Mentions, p.QuoteIRI = nil, nil, ""
	added := 0
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		if here, err := tx.ImportedAs(ctx, origin); err != nil || here != "" {
			return err
		}
		// The thread holds when its start came first (outbox.json is
		// oldest first); otherwise the post stands alone.
		var err error
		if p.InReplyTo, err = tx.ImportedAs(ctx, parent); err != nil {
			return err
		}
		if err := tx.PutPost(ctx, p); err != nil {
			return err
		}
		added = 1
		return tx.MarkImported(ctx, p.ID, origin, now)
	})
	return added, err
}
