package ap

import (
	"bytes"
	"context"
	"io"
	"slices"

	"kith/store"
	"kith/store/archive"
)

// ExportArchive writes the account as a .zip in Mastodon's archive layout:
// actor.json with the avatar and header beside it (avatar.png,
// header.jpg), outbox.json (the public and unlisted posts, oldest first,
// each in its Create), the owner's images under media_attachments/ with
// the attachments of outbox.json pointing at them, likes.json,
// bookmarks.json and the CSV exports, so that kith, or any server that
// reads Mastodon's archives, can import it. The zip is written as it is
// made: no more than a page of posts, or one image, is held at a time.
func (s *Service) ExportArchive(ctx context.Context, w io.Writer) error {
	acct, err := s.db.Account(ctx)
	if err != nil {
		return err
	}
	avatar, header, err := s.imagesOf(ctx, s.db, acct)
	if err != nil {
		return err
	}
	aw := archive.NewWriter(w)
	actor := actorDocument(s.urls, acct, avatar, header)
	// As Mastodon's archive does, the images sit at the archive's root and
	// actor.json names them there, not on this server: the archive must
	// be whole when the server is gone. Without an image the key is left
	// out, as actorDocument leaves it.
	var pics []exportFile
	if actor.Icon != nil {
		actor.Icon.URL = "avatar" + MediaExt(avatar.MediaType)
		pics = append(pics, exportFile{id: acct.AvatarMediaID, name: actor.Icon.URL})
	}
	if actor.Image != nil {
		actor.Image.URL = "header" + MediaExt(header.MediaType)
		pics = append(pics, exportFile{id: acct.HeaderMediaID, name: actor.Image.URL})
	}
	if err := addJSON(aw, "actor.json", actor); err != nil {
		return err
	}
	if err := s.exportFiles(ctx, aw, pics); err != nil {
		return err
	}
	files, err := s.exportOutbox(ctx, aw)
	if err != nil {
		return err
	}
	if err := s.exportFiles(ctx, aw, files); err != nil {
		return err
	}
	var marks []any
	pg := store.Page{Limit: exportPage}
	for range exportAll / exportPage {
		es, err := s.db.Bookmarks(ctx, s.urls.Actor(), pg)
		if err != nil {
			return err
		}
		for _, e := range es {
			marks = append(marks, e.Post.IRI)
		}
		if len(es) < exportPage {
			break
		}
		pg.MaxID = es[len(es)-1].SID
	}
	if err := addJSON(aw, "bookmarks.json", orderedItems("bookmarks.json", marks)); err != nil {
		return err
	}
	if err := addJSON(aw, "likes.json", orderedItems("likes.json", nil)); err != nil {
		return err
	}
	for _, name := range ExportNames {
		var b bytes.Buffer
		if err := s.ExportCSV(ctx, name, &b); err != nil {
			return err
		}
		if err := aw.Add(name, b.Bytes()); err != nil {
			return err
		}
	}
	return aw.Close()
}

// exportFile is an image of the owner's to write into the archive.
type exportFile struct{ id, name string }

// exportFiles writes the owner's images into the archive, one at a time.
func (s *Service) exportFiles(ctx context.Context, aw *archive.Writer, files []exportFile) error {
	for _, f := range files {
		data, _, err := s.db.MediaData(ctx, f.id, false)
		if err != nil {
			return err
		}
		if err := aw.Add(f.name, data); err != nil {
			return err
		}
	}
	return nil
}

// exportOutbox writes outbox.json a page of posts at a time, oldest first
// as Mastodon writes it (a thread's start before its replies), and returns
// the images its attachments point at.
func (s *Service) exportOutbox(ctx context.Context, aw *archive.Writer) ([]exportFile, error) {
	vis := []string{store.Public, store.Unlisted}
	total, err := s.db.CountLocalPosts(ctx, vis...)
	if err != nil {
		return nil, err
	}
	out, err := aw.Create("outbox.json")
	if err != nil {
		return nil, err
	}
	head, err := marshal(jsonCollection{Context: activityStreams, ID: "outbox.json", Type: "OrderedCollection", TotalItems: total})
	if err != nil {
		return nil, err
	}
	head = append(bytes.TrimSuffix(head, []byte("}")), `,"orderedItems":[`...)
	if _, err := out.Write(head); err != nil {
		return nil, err
	}
	var files []exportFile
	seen := map[string]bool{}
	// The nearest posts after the cursor, a page at a time; "0" sorts
	// before every local id.
	q := store.PostQuery{Visibilities: vis, After: "0", Limit: exportPage}
	first := true
	for range maxArchiveItems / exportPage {
		posts, err := s.db.LocalPosts(ctx, q)
		if err != nil {
			return nil, err
		}
		slices.Reverse(posts) // LocalPosts gives them newest first
		for i := range posts {
			act := createDocument(s.urls, &posts[i], s.now())
			n := act.Object.(jsonNote)
			for j, a := range posts[i].Attachments {
				if a.MediaID == "" {
					continue
				}
				// Where Mastodon keeps its files, relative to the archive.
				name := "media_attachments/files/" + a.MediaID + "/original/" + a.MediaID + MediaExt(a.MediaType)
				if j < len(n.Attachment) {
					n.Attachment[j].URL = name
				}
				if !seen[a.MediaID] {
					seen[a.MediaID] = true
					files = append(files, exportFile{id: a.MediaID, name: name})
				}
			}
			act.Object = n
			b, err := marshal(act)
			if err != nil {
				return nil, err
			}
			if !first {
				b = append([]byte{','}, b...)
			}
			first = false
			if _, err := out.Write(b); err != nil {
				return nil, err
			}
		}
		if len(posts) < exportPage {
			break
		}
		q.After = posts[len(posts)-1].LocalID
	}
	_, err = out.Write([]byte("]}"))
	return files, err
}

// addJSON writes one JSON document into the archive.
func addJSON(aw *archive.Writer, name string, v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	return aw.Add(name, b)
}

// orderedItems is one of the archive's collections.
func orderedItems(id string, items []any) jsonCollection {
	if items == nil {
		items = []any{}
	}
	return jsonCollection{Context: activityStreams, ID: id, Type: "OrderedCollection", TotalItems: len(items), OrderedItems: items}
}
