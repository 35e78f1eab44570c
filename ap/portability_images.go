package ap

import (
	"bytes"
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

// ImageOutcome says what an archive import did with the archive's avatar
// or header.
type ImageOutcome string

// What an archive import did with the archive's avatar or header.
const (
	ImageNone      ImageOutcome = ""          // actor.json names none
	ImageSet       ImageOutcome = "set"       // the owner had none; now it is the archive's
	ImageUnchanged ImageOutcome = "unchanged" // the owner's is the archive's already
	ImageKept      ImageOutcome = "kept"      // the owner's own stays; the archive's is not used
	ImageLeftOut   ImageOutcome = "left out"  // refused; Warnings says why
)

// ImagesLine says in one line what the import did with the avatar and the
// header, for the summary of `kith import` and the settings page; "" when
// the archive has neither.
func (res ArchiveResult) ImagesLine() string {
	var parts []string
	for _, im := range []struct {
		what string
		o    ImageOutcome
	}{{"avatar", res.Avatar}, {"header", res.Header}} {
		switch im.o {
		case ImageSet:
			parts = append(parts, im.what+" set from the archive")
		case ImageUnchanged:
			parts = append(parts, im.what+" already the archive's")
		case ImageKept:
			parts = append(parts, im.what+" kept as you set it (the archive's is not used)")
		case ImageLeftOut:
			parts = append(parts, "the archive's "+im.what+" left out")
		}
	}
	if len(parts) == 0 {
		return ""
	}
	line := strings.Join(parts, "; ")
	return strings.ToUpper(line[:1]) + line[1:]
}

// profilePick is the archive's avatar or header on its way in.
type profilePick struct {
	what    string          // "avatar" or "header", for the messages
	raw     json.RawMessage // actor.json's icon or image
	current string          // the owner's media id, or ""
	outcome *ImageOutcome   // where the result goes
	m       *store.Media    // the image to set, processed
}

// importProfileImages brings in the avatar and header actor.json names, as
// Mastodon's archive has them: files at the archive's root (avatar.png),
// named by icon.url and image.url. Each goes through the checks of an
// upload on the settings page, and is set only where the owner has none:
// an avatar the owner chose is never replaced. Anything else actor.json
// might name, a URL or a path leading elsewhere, is refused and counted,
// never fetched or read: the archive is the one source.
func (s *Service) importProfileImages(ctx context.Context, a *archive.Archive, res *ArchiveResult) error {
	var actor struct {
		Icon  json.RawMessage `json:"icon"`
		Image json.RawMessage `json:"image"`
	}
	if json.Unmarshal(a.Docs["actor.json"], &actor) != nil {
		return nil // no actor.json, or not an object: no images named
	}
	acct, err := s.db.Account(ctx)
	if err != nil {
		return err
	}
	picks := []*profilePick{
		{what: "avatar", raw: actor.Icon, current: acct.AvatarMediaID, outcome: &res.Avatar},
		{what: "header", raw: actor.Image, current: acct.HeaderMediaID, outcome: &res.Header},
	}
	now := s.now()
	fresh := false
	for _, p := range picks {
		if len(p.raw) == 0 || string(p.raw) == "null" {
			continue
		}
		img, problem := s.profileImageOf(a, p.raw)
		if problem != "" {
			*p.outcome = ImageLeftOut
			res.warn("actor.json: the %s: %s", p.what, problem)
			continue
		}
		cur, err := s.currentImage(ctx, p.current)
		if err != nil {
			return err
		}
		switch {
		case cur == nil:
			p.m, fresh = s.newMedia(img, now), true
		case bytes.Equal(cur, img.Data):
			// Processing is deterministic: this archive was imported before.
			*p.outcome = ImageUnchanged
		default:
			*p.outcome = ImageKept
		}
	}
	if !fresh {
		return nil
	}
	var set [2]bool
	err = s.changeAccount(ctx, acct.Locked, func(tx *store.Tx, now time.Time) error {
		set = [2]bool{}
		cur, err := tx.Account(ctx)
		if err != nil {
			return err
		}
		var ids [2]string
		for i, id := range []string{cur.AvatarMediaID, cur.HeaderMediaID} {
			p := picks[i]
			if p.m == nil {
				continue
			}
			// The owner may have chosen one on the settings page since.
			if id != "" {
				if _, err := tx.MediaByID(ctx, id); err == nil {
					continue
				} else if !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
			if err := tx.AddMedia(ctx, p.m); err != nil {
				return err
			}
			ids[i], set[i] = p.m.ID, true
		}
		return tx.SetProfileImages(ctx, ids[0], ids[1], now)
	})
	if err != nil {
		return err
	}
	for i, p := range picks {
		if p.m == nil {
			continue
		}
		if set[i] {
			*p.outcome = ImageSet
			res.Media++
			res.MediaBytes += int64(len(p.m.Data))
		} else {
			*p.outcome = ImageKept
		}
	}
	return nil
}

// profileImageOf reads the image actor.json's icon or image names, or
// says why it is refused. Mastodon writes {"type":"Image","mediaType":…,
// "url":"avatar.png"}; a bare file name is taken too.
func (s *Service) profileImageOf(a *archive.Archive, raw json.RawMessage) (*media.Image, string) {
	var ref string
	var claimed string
	if json.Unmarshal(raw, &ref) != nil {
		var img struct {
			URL       json.RawMessage `json:"url"`
			MediaType string          `json:"mediaType"`
		}
		if json.Unmarshal(raw, &img) != nil || json.Unmarshal(img.URL, &ref) != nil {
			return nil, "it names no file of the archive"
		}
		claimed, _, _ = mime.ParseMediaType(img.MediaType)
	}
	name, ok := rootFile(a, ref)
	if !ok {
		return nil, fmt.Sprintf("%q is not a file at the archive's root; kith reads the images from inside the archive only", plainText(ref, 200))
	}
	return s.readArchiveImage(a, name, claimed)
}

// rootFile returns ref when it is the name of a file at the archive's
// root, where Mastodon puts avatar.png and header.jpg. Anything with a
// slash, a scheme or a query (a URL, ../x, /etc/x) is no such name, so
// no URL is fetched and nothing outside the archive is read.
func rootFile(a *archive.Archive, ref string) (string, bool) {
	if ref == "" || ref == "." || ref == ".." || strings.ContainsAny(ref, "/\\:?#%\x00") {
		return "", false
	}
	return ref, a.Media[ref]
}

// currentImage returns the bytes of the owner's avatar or header, nil when
// there is none (or its upload is gone, which counts as none).
func (s *Service) currentImage(ctx context.Context, id string) ([]byte, error) {
	if id == "" {
		return nil, nil
	}
	data, _, err := s.db.MediaData(ctx, id, false)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return data, err
}
