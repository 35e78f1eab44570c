package ap

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"kith/store"
)

// Limits of a CSV import: Mastodon's own exports of a large account stay
// far below them.
const (
	MaxImportBytes = 16 << 20
	MaxImportRows  = 100_000
)

// The CSV exports of Mastodon that kith reads and writes, by file name.
const (
	ImportFollowing      = "following_accounts.csv"
	ImportBlockedAccount = "blocked_accounts.csv"
	ImportMutedAccounts  = "muted_accounts.csv"
	ImportBlockedDomains = "blocked_domains.csv"
	ImportBookmarks      = "bookmarks.csv"
)

// ExportNames lists the CSV exports, in the order a page shows them.
var ExportNames = []string{ImportFollowing, ImportBlockedAccount, ImportMutedAccounts, ImportBlockedDomains, ImportBookmarks}

// ErrUnknownExport is returned for an export kith does not make.
var ErrUnknownExport = errors.New("no such export")

// exportPage is how many follows or bookmarks an export reads at a time.
const exportPage = 200

// exportAll caps the blocks and mutes an export lists: far more than any
// owner keeps, and a bound on the memory one export takes.
const exportAll = 1 << 20

// ExportCSV writes one of Mastodon's CSV exports, name being one of
// ExportNames, in Mastodon's layout, so that Mastodon (or another kith)
// can import it.
func (s *Service) ExportCSV(ctx context.Context, name string, w io.Writer) error {
	var header []string
	var rows [][]string
	switch name {
	case ImportFollowing:
		header = []string{"Account address", "Show boosts", "Notify on new posts", "Languages"}
		for off := 0; ; off += exportPage {
			fs, err := s.db.Followings(ctx, store.Accepted, off, exportPage)
			if err != nil {
				return err
			}
			for _, f := range fs {
				rows = append(rows, []string{address(&f.Actor, f.Actor.IRI), "true", "false", ""})
			}
			if len(fs) < exportPage {
				break
			}
		}
	case ImportBlockedAccount, ImportBlockedDomains:
		bs, err := s.db.Blocks(ctx, name == ImportBlockedDomains, exportAll)
		if err != nil {
			return err
		}
		for _, b := range bs {
			rows = append(rows, []string{address(b.Actor, b.Target)})
		}
	case ImportMutedAccounts:
		header = []string{"Account address", "Hide notifications"}
		ms, err := s.db.Mutes(ctx, false, s.now(), exportAll)
		if err != nil {
			return err
		}
		for _, m := range ms {
			rows = append(rows, []string{address(m.Actor, m.ActorIRI), fmt.Sprint(m.Notifications)})
		}
	case ImportBookmarks:
		pg := store.Page{Limit: exportPage}
		for range exportAll / exportPage {
			es, err := s.db.Bookmarks(ctx, s.urls.Actor(), pg)
			if err != nil {
				return err
			}
			for _, e := range es {
				rows = append(rows, []string{e.Post.IRI})
			}
			if len(es) < exportPage {
				break
			}
			pg.MaxID = es[len(es)-1].SID
		}
	default:
		return ErrUnknownExport
	}
	cw := csv.NewWriter(w)
	if header != nil {
		if err := cw.Write(header); err != nil {
			return err
		}
	}
	return cw.WriteAll(rows)
}

// address is an account as Mastodon's exports write it, user@host, or
// fallback (an IRI, a host) when the account is not cached.
func address(a *store.Actor, fallback string) string {
	if a == nil || a.Username == "" {
		return fallback
	}
	return strings.TrimPrefix(a.Handle(), "@")
}

// ImportResult counts what an import did. Applying the same file twice
// finds every row Unchanged the second time.
type ImportResult struct {
	Kind      string // one of the Import* file names
	Rows      int
	Applied   int      // follows sent, blocks and mutes made, posts bookmarked
	Unchanged int      // rows that were in place already
	Failed    []string // rows that could not be applied, with the reason
}

// maxImportFailures caps the failures an ImportResult lists.
const maxImportFailures = 50

// ImportKind tells which of Mastodon's exports a file is, from its name
// or, for a renamed file, its header line; "" when neither says.
func ImportKind(name string, header []string) string {
	switch base := path.Base(strings.ReplaceAll(name, `\`, "/")); base {
	case ImportFollowing, ImportBlockedAccount, ImportMutedAccounts, ImportBlockedDomains, ImportBookmarks:
		return base
	}
	if len(header) > 1 && header[0] == "Account address" {
		switch header[1] {
		case "Show boosts":
			return ImportFollowing
		case "Hide notifications":
			return ImportMutedAccounts
		}
	}
	return ""
}

// ImportCSV applies one of Mastodon's CSV exports: follows are sent one
// by one through the delivery queue, blocks and mutes are made as the
// owner would make them, domain blocks go through ImportBlocklist, and
// bookmarked posts are fetched and bookmarked. progress, when not nil, is
// called after each row. What fails on one row (an account that is gone)
// is listed and the rest goes on.
func (s *Service) ImportCSV(ctx context.Context, name string, r io.Reader, progress func(done, total int)) (ImportResult, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	if err != nil {
		return ImportResult{}, err
	}
	if len(data) > MaxImportBytes {
		return ImportResult{}, invalid("the file is larger than %d MB", MaxImportBytes>>20)
	}
	cr := csv.NewReader(strings.NewReader(string(data)))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	rows, err := cr.ReadAll()
	if err != nil {
		return ImportResult{}, invalid("not a CSV file: %v", err)
	}
	var header []string
	if len(rows) > 0 {
		header = rows[0]
	}
	res := ImportResult{Kind: ImportKind(name, header)}
	if res.Kind == "" {
		return res, invalid("%s is not one of Mastodon's exports (%s)", path.Base(name), strings.Join(ExportNames, ", "))
	}
	if len(rows) > 0 && strings.EqualFold(strings.TrimSpace(rows[0][0]), "Account address") {
		rows = rows[1:]
	}
	if len(rows) > MaxImportRows {
		return res, invalid("%d rows; at most %d are imported at once", len(rows), MaxImportRows)
	}
	res.Rows = len(rows)
	if res.Kind == ImportBlockedDomains {
		entries := make([]BlocklistEntry, 0, len(rows))
		for _, row := range rows {
			if host, err := NormalizeHost(row[0]); err == nil {
				entries = append(entries, BlocklistEntry{Domain: host, Severity: SeveritySuspend})
			} else {
				res.fail(row[0], err)
			}
		}
		b, err := s.ImportBlocklist(ctx, entries)
		res.Applied, res.Unchanged = len(b.Blocked)+len(b.Muted), b.Unchanged
		if progress != nil {
			progress(len(rows), len(rows))
		}
		return res, err
	}
	for i, row := range rows {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		target := strings.TrimSpace(row[0])
		if target == "" {
			continue
		}
		applied, err := s.importRow(ctx, res.Kind, target, row)
		switch {
		case err != nil && ctx.Err() != nil:
			return res, ctx.Err()
		case err != nil:
			res.fail(target, err)
		case applied:
			res.Applied++
		default:
			res.Unchanged++
		}
		if progress != nil {
			progress(i+1, len(rows))
		}
	}
	return res, nil
}

// fail records a row that could not be applied.
func (res *ImportResult) fail(target string, err error) {
	if len(res.Failed) < maxImportFailures {
		res.Failed = append(res.Failed, fmt.Sprintf("%s: %v", target, err))
	}
}

// importRow applies one row and reports whether it changed anything.
func (s *Service) importRow(ctx context.Context, kind, target string, row []string) (bool, error) {
	if kind == ImportBookmarks {
		p, err := s.FetchPost(ctx, target)
		if err != nil {
			return false, err
		}
		had, err := s.db.IsBookmarked(ctx, p.ID)
		if err != nil || had {
			return false, err
		}
		return true, s.Bookmark(ctx, p.IRI)
	}
	a, err := s.knownActor(ctx, strings.TrimPrefix(target, "@"))
	if err != nil {
		return false, err
	}
	switch kind {
	case ImportFollowing:
		f, err := s.db.Following(ctx, a.IRI)
		if err == nil && f.State != store.Rejected {
			return false, nil
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
		_, err = s.Follow(ctx, a.IRI)
		return err == nil, err
	case ImportBlockedAccount:
		if blocked, err := s.db.IsBlocked(ctx, a.IRI); err != nil || blocked {
			return false, err
		}
		_, err = s.Block(ctx, a.IRI)
		return err == nil, err
	default: // ImportMutedAccounts
		if muted, err := s.db.IsMuted(ctx, a.IRI, s.now()); err != nil || muted {
			return false, err
		}
		hide := len(row) < 2 || !strings.EqualFold(strings.TrimSpace(row[1]), "false")
		return true, s.db.PutMute(ctx, store.Mute{ActorIRI: a.IRI, Notifications: hide, CreatedAt: s.now()})
	}
}
