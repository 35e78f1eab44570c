package ap

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Bounds of a blocklist import. The largest published lists hold a few
// thousand servers.
const (
	MaxBlocklistBytes   = 4 << 20
	maxBlocklistEntries = 50_000
	maxBlockComment     = 500
)

// Severities of a blocklist entry, as Mastodon names them.
const (
	SeveritySuspend = "suspend" // kith blocks the domain
	SeveritySilence = "silence" // kith mutes the domain
	SeverityNoop    = "noop"    // nothing to do
)

// BlocklistEntry is one server of a domain blocklist.
type BlocklistEntry struct {
	Line     int // where it was in the file, for messages
	Domain   string
	Severity string // SeveritySuspend, SeveritySilence or SeverityNoop
	Comment  string // the public comment, if any
}

// BlocklistSkip is a line of a blocklist that could not be used.
type BlocklistSkip struct {
	Line   int
	Text   string
	Reason string
}

// ParseBlocklist reads a domain blocklist in either form servers and
// blocklist projects publish it:
//
//   - CSV with a header row, as Mastodon exports it and Oliphant, IFTAS
//     and FediBlockHole publish it: #domain,#severity,#reject_media,
//     #reject_reports,#public_comment,#obfuscate (the # are optional,
//     columns are found by name, booleans in any case). A missing
//     severity means suspend, as on lists of servers to cut off.
//   - Plain text: one domain per line; blank lines and lines starting
//     with # or ! are comments. Each domain is suspended.
//
// Lines it cannot use (an obfuscated name such as exa*ple.com, an unknown
// severity, garbage) are returned as skips, not errors: a shared list is
// imported again whenever it changes, and one bad row must not refuse the
// rest. The error is for input that is not a blocklist at all.
func ParseBlocklist(r io.Reader) ([]BlocklistEntry, []BlocklistSkip, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBlocklistBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > MaxBlocklistBytes {
		return nil, nil, fmt.Errorf("the list is larger than %d MB", MaxBlocklistBytes>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a byte-order mark from spreadsheets
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, nil, errors.New("the list is not text")
	}
	if header, ok := firstLine(data); ok && isCSVHeader(header) {
		return parseBlocklistCSV(data)
	}
	return parseBlocklistLines(data)
}

// firstLine returns the first line that is not blank.
func firstLine(data []byte) (string, bool) {
	for line := range strings.Lines(string(data)) {
		if s := strings.TrimSpace(line); s != "" {
			return s, true
		}
	}
	return "", false
}

// isCSVHeader reports whether line is a Mastodon-style CSV header: its
// first column is domain, with or without #.
func isCSVHeader(line string) bool {
	first, _, _ := strings.Cut(line, ",")
	first = strings.ToLower(strings.TrimPrefix(strings.Trim(strings.TrimSpace(first), `"`), "#"))
	return first == "domain" && strings.Contains(line, ",")
}

func parseBlocklistCSV(data []byte) ([]BlocklistEntry, []BlocklistSkip, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("the CSV header cannot be read: %w", err)
	}
	col := map[string]int{}
	for i, name := range header {
		name = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(name), "#"))
		if _, dup := col[name]; !dup {
			col[name] = i
		}
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var entries []BlocklistEntry
	var skips []BlocklistSkip
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				skips = append(skips, BlocklistSkip{Line: pe.Line, Reason: "not a CSV row"})
				continue
			}
			return nil, nil, err
		}
		if len(entries) == maxBlocklistEntries {
			return nil, nil, fmt.Errorf("the list has more than %d entries", maxBlocklistEntries)
		}
		raw := field(rec, "domain")
		if raw == "" || strings.HasPrefix(raw, "#") {
			continue
		}
		sev := strings.ToLower(field(rec, "severity"))
		switch sev {
		case "":
			sev = SeveritySuspend
		case SeveritySuspend, SeveritySilence, SeverityNoop:
		default:
			skips = append(skips, BlocklistSkip{Line: line, Text: raw, Reason: fmt.Sprintf("unknown severity %q", truncateRunes(sev, 40))})
			continue
		}
		domain, err := NormalizeHost(raw)
		if err != nil {
			skips = append(skips, BlocklistSkip{Line: line, Text: truncateRunes(raw, 100), Reason: blocklistDomainProblem(raw)})
			continue
		}
		entries = append(entries, BlocklistEntry{Line: line, Domain: domain, Severity: sev,
			Comment: truncateRunes(field(rec, "public_comment"), maxBlockComment)})
	}
	return entries, skips, nil
}

func parseBlocklistLines(data []byte) ([]BlocklistEntry, []BlocklistSkip, error) {
	var entries []BlocklistEntry
	var skips []BlocklistSkip
	n := 0
	for line := range strings.Lines(string(data)) {
		n++
		s := strings.TrimSpace(line)
		if s == "" || s[0] == '#' || s[0] == '!' {
			continue
		}
		if len(entries) == maxBlocklistEntries {
			return nil, nil, fmt.Errorf("the list has more than %d entries", maxBlocklistEntries)
		}
		domain, err := NormalizeHost(s)
		if err != nil {
			skips = append(skips, BlocklistSkip{Line: n, Text: truncateRunes(s, 100), Reason: blocklistDomainProblem(s)})
			continue
		}
		entries = append(entries, BlocklistEntry{Line: n, Domain: domain, Severity: SeveritySuspend})
	}
	return entries, skips, nil
}

// blocklistDomainProblem says why a name was not taken.
func blocklistDomainProblem(s string) string {
	if strings.Contains(strings.TrimPrefix(strings.TrimSpace(s), "*."), "*") {
		return "obfuscated name: the list hides which server it means"
	}
	return "not a domain"
}

// truncateRunes cuts s to at most n runes.
func truncateRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// BlocklistResult is what ImportBlocklist did.
type BlocklistResult struct {
	Blocked        []string // newly blocked domains
	Muted          []string // newly muted domains (severity silence)
	Unchanged      int      // domains already blocked or muted as the list asks
	Ignored        int      // noop entries
	FollowsRemoved int64    // follow relations the new blocks ended
}

// ImportBlocklist applies blocklist entries: suspend becomes a domain
// block (BlockDomain: follows with the server end, nothing goes to it,
// nothing from it is accepted), silence becomes a domain mute (MuteDomain:
// its accounts are hidden from the timeline and notifications, nothing
// ends and nobody is told, so it is undone without loss; kith has no
// public timelines, which is what Mastodon's "limit" mostly acts on), and
// noop is ignored. A domain already blocked stays blocked whatever the
// list says, and one on the list twice counts once.
func (s *Service) ImportBlocklist(ctx context.Context, entries []BlocklistEntry) (BlocklistResult, error) {
	var res BlocklistResult
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		if seen[e.Domain] {
			continue
		}
		seen[e.Domain] = true
		switch e.Severity {
		case SeverityNoop:
			res.Ignored++
		case SeveritySilence:
			blocked, err := s.db.IsBlocked(ctx, e.Domain)
			if err != nil {
				return res, err
			}
			muted, err := s.db.IsMuted(ctx, e.Domain, s.now())
			if err != nil {
				return res, err
			}
			if blocked || muted {
				res.Unchanged++
				continue
			}
			if _, err := s.MuteDomain(ctx, e.Domain); err != nil {
				return res, err
			}
			res.Muted = append(res.Muted, e.Domain)
		default:
			if strings.EqualFold(e.Domain, s.urls.Domain()) || strings.EqualFold(e.Domain, s.urls.Hostname()) {
				res.Unchanged++ // a list naming this server cannot make it block itself
				continue
			}
			b, err := s.BlockDomain(ctx, e.Domain, e.Comment)
			if err != nil {
				return res, err
			}
			if !b.New {
				res.Unchanged++
				continue
			}
			res.Blocked = append(res.Blocked, b.Host)
			res.FollowsRemoved += b.FollowsRemoved
		}
	}
	return res, nil
}
