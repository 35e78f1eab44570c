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
// actor.json, outbox.json (the public and unlisted posts, oldest first,
// each in its Create), likes.json, bookmarks.json and the CSV exports, so
// that kith, or any server that reads Mastodon's archives, can import it.
// Media files are not included yet.
func (s *Service) ExportArchive(ctx context.Context, w io.Writer) error {
	acct, err := s.db.Account(ctx)
	if err != nil {
		return err
	}
	avatar, header, err := s.imagesOf(ctx, s.db, acct)
	if err != nil {
		return err
	}
	docs := map[string][]byte{}
	if docs["actor.json"], err = marshal(actorDocument(s.urls, acct, avatar, header)); err != nil {
		return err
	}
	var items []any
	q := store.PostQuery{Visibilities: []string{store.Public, store.Unlisted}, Limit: exportPage}
	for range maxArchiveItems / exportPage {
		posts, err := s.db.LocalPosts(ctx, q)
		if err != nil {
			return err
		}
		for i := range posts {
			items = append(items, createDocument(s.urls, &posts[i]))
		}
		if len(posts) < exportPage {
			break
		}
		q.Before = posts[len(posts)-1].LocalID
	}
	slices.Reverse(items) // oldest first, as Mastodon writes it: a thread's start before its replies
	if docs["outbox.json"], err = marshal(orderedItems("outbox.json", items)); err != nil {
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
	if docs["bookmarks.json"], err = marshal(orderedItems("bookmarks.json", marks)); err != nil {
		return err
	}
	if docs["likes.json"], err = marshal(orderedItems("likes.json", nil)); err != nil {
		return err
	}
	for _, name := range ExportNames {
		var b bytes.Buffer
		if err := s.ExportCSV(ctx, name, &b); err != nil {
			return err
		}
		docs[name] = b.Bytes()
	}
	return archive.Write(w, docs)
}

// orderedItems is one of the archive's collections.
func orderedItems(id string, items []any) jsonCollection {
	if items == nil {
		items = []any{}
	}
	return jsonCollection{Context: activityStreams, ID: id, Type: "OrderedCollection", TotalItems: len(items), OrderedItems: items}
}
