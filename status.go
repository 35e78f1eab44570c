package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"kith/store"
)

// cmdStatus prints, for an owner logged in over SSH, what the server is
// and how it is doing: version, account, database size, followers and
// following, the delivery queue, the servers that keep failing and the
// last deliveries given up. It reads through SQLite's WAL like any other
// reader, so the server keeps running.
func cmdStatus(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseFlags("status", nil, args, getenv, stderr, "status [flags]")
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("status takes no arguments, got %q", rest)}
	}
	db, acct, err := openExisting(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	return writeStatus(ctx, stdout, db, acct, time.Now())
}

// writeStatus writes the status report of db at now.
func writeStatus(ctx context.Context, out io.Writer, db *store.DB, acct *store.Account, now time.Time) error {
	var errs []error
	count := func(n int, err error) int {
		if err != nil {
			errs = append(errs, err)
		}
		return n
	}
	followers := count(db.CountFollowers(ctx, store.Accepted))
	followersWaiting := count(db.CountFollowers(ctx, store.Pending))
	following := count(db.CountFollowing(ctx, store.Accepted))
	followingPending := count(db.CountFollowing(ctx, store.Pending))
	posts := count(db.CountLocalPosts(ctx))
	inTotal, inPending, err := db.CountInbox(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	q, err := db.DeliveryStats(ctx, now)
	if err != nil {
		errs = append(errs, err)
	}
	hosts, err := db.FailingHosts(ctx, 10)
	if err != nil {
		errs = append(errs, err)
	}
	failures, err := db.RecentDeliveryFailures(ctx, 5)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("read the status: %w", errs[0])
	}

	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "kith\t%s, schema version %d\n", version, store.SchemaVersion())
	fmt.Fprintf(w, "account\t@%s@%s\n", acct.Username, acct.Domain)
	fmt.Fprintf(w, "database\t%s, %s\n", db.Path(), dbSize(db.Path()))
	fmt.Fprintf(w, "followers\t%d%s\n", followers, waiting(followersWaiting, "waiting for your approval"))
	fmt.Fprintf(w, "following\t%d%s\n", following, waiting(followingPending, "not answered yet"))
	fmt.Fprintf(w, "posts\t%d\n", posts)
	fmt.Fprintf(w, "inbox\t%d received activities kept, %d waiting to be handled\n", inTotal, inPending)
	if q.Pending == 0 {
		fmt.Fprintf(w, "deliveries\tnone waiting\n")
	} else {
		fmt.Fprintf(w, "deliveries\t%d waiting for %d %s (%d due now, %d failed at least once)\n",
			q.Pending, q.Hosts, plural(q.Hosts, "server", "servers"), q.Due, q.Retrying)
	}
	w.Flush()

	if len(hosts) > 0 {
		fmt.Fprintf(out, "\nServers that keep failing:\n")
		for _, h := range hosts {
			state := fmt.Sprintf("failing since %s, %d %s", stamp(h.FailingSince), h.Failures, plural(h.Failures, "failure", "failures"))
			if !h.UnavailableSince.IsZero() {
				state = "paused since " + stamp(h.UnavailableSince) + " until it contacts kith again; " + state
			}
			fmt.Fprintf(out, "  %s: %s, %d waiting\n    last error: %s\n", h.Host, state, h.Pending, oneLine(h.LastError))
		}
	}
	if len(failures) > 0 {
		fmt.Fprintf(out, "\nLast deliveries given up:\n")
		for _, f := range failures {
			fmt.Fprintf(out, "  %s  %s to %s after %d %s: %s\n", stamp(f.FailedAt), f.ActivityType, f.Inbox,
				f.Tries, plural(f.Tries, "try", "tries"), oneLine(f.Error))
		}
	}
	return nil
}

// dbSize is the size of the database file and of its WAL, if any.
func dbSize(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "size unknown (" + err.Error() + ")"
	}
	s := humanBytes(fi.Size())
	if wal, err := os.Stat(path + "-wal"); err == nil && wal.Size() > 0 {
		s += " (and " + humanBytes(wal.Size()) + " in its WAL file)"
	}
	return s
}

// humanBytes writes n in the largest unit that keeps it at least 1.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func waiting(n int, what string) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (and %d %s)", n, what)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// stamp writes a time for the report, in UTC to the minute.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// oneLine keeps a remote server's error text to one short line: it may be
// an HTML page.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 160 {
		s = string(r[:160]) + "…"
	}
	return s
}
