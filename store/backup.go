package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// backupName matches the files BackupInto writes, and only those: pruning
// must never touch a file the owner put in the backup directory.
var backupName = regexp.MustCompile(`^kith-\d{8}T\d{6}Z\.db$`)

// BackupInto writes a consistent copy of the live database into dir as
// kith-YYYYMMDDTHHMMSSZ.db (the time now, in UTC), then removes the oldest
// of those files beyond keep. The copy is written to a temporary file and
// renamed when complete, so a crash or a full disk never leaves a file
// that looks like a backup but is not one. It returns the new file's path
// and the paths removed.
func (db *DB) BackupInto(ctx context.Context, dir string, keep int, now time.Time) (string, []string, error) {
	if keep < 1 {
		return "", nil, fmt.Errorf("store: backup: keep must be at least 1, not %d", keep)
	}
	// Holds the account's private key: the directory is the owner's only.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("store: backup: %w", err)
	}
	final := filepath.Join(dir, "kith-"+now.UTC().Format("20060102T150405Z")+".db")
	if _, err := os.Stat(final); err == nil {
		return "", nil, fmt.Errorf("store: backup: %s already exists", final)
	}
	// CreateTemp makes the file 0600; VACUUM INTO fills an empty file and
	// keeps its mode.
	tmp, err := os.CreateTemp(dir, ".kith-backup-*.tmp")
	if err != nil {
		return "", nil, fmt.Errorf("store: backup: %w", err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath) // after the rename, a no-op
	if _, err := db.w.ExecContext(ctx, "VACUUM INTO ?", tmpPath); err != nil {
		return "", nil, fmt.Errorf("store: backup to %s: %w", dir, err)
	}
	if err := syncFile(tmpPath); err != nil {
		return "", nil, fmt.Errorf("store: backup: %w", err)
	}
	if err := os.Rename(tmpPath, final); err != nil {
		return "", nil, fmt.Errorf("store: backup: %w", err)
	}
	syncDir(dir)
	removed, err := pruneBackups(dir, keep)
	return final, removed, err
}

// pruneBackups removes the oldest kith backups in dir beyond keep. The
// names hold the time, so they sort oldest first.
func pruneBackups(dir string, keep int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("store: prune backups: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && backupName.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var removed []string
	for len(names) > keep {
		p := filepath.Join(dir, names[0])
		if err := os.Remove(p); err != nil {
			return removed, fmt.Errorf("store: prune backups: %w", err)
		}
		removed = append(removed, p)
		names = names[1:]
	}
	return removed, nil
}

// BackupInfo is what CheckBackup found in a database file.
type BackupInfo struct {
	SchemaVersion int
	Username      string // empty when the account was not created yet
	Domain        string
	Posts         int
	Followers     int
	Size          int64
}

// sqliteHeader starts every SQLite 3 database file.
const sqliteHeader = "SQLite format 3\x00"

// kithTables are tables every kith database has since the first
// migration; a SQLite file without them belongs to another program.
var kithTables = []string{"account", "actors", "followers", "following", "posts", "inbox", "deliveries"}

// CheckBackup reports whether the file at path is a whole, undamaged kith
// database this binary can run: a SQLite file no shorter than its header
// says, passing PRAGMA integrity_check, with kith's tables and a schema
// version no newer than this binary's. It opens the file, which SQLite may
// write to (a WAL file beside it is checkpointed): pass a copy.
func CheckBackup(ctx context.Context, path string) (*BackupInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	var hdr [100]byte
	n, err := io.ReadFull(f, hdr[:])
	f.Close()
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if n < len(sqliteHeader) || !bytes.Equal(hdr[:len(sqliteHeader)], []byte(sqliteHeader)) {
		return nil, errors.New("it is not a SQLite database (it does not start with the SQLite header), so not a kith backup")
	}
	if n < len(hdr) {
		return nil, fmt.Errorf("it is cut short: %d bytes, less than a SQLite header", n)
	}
	// The header's page count is valid when its change counter equals
	// the "version-valid-for" number (offsets 24 and 92); a copy cut short
	// in transfer is then shorter than pages × page size.
	pageSize := int64(binary.BigEndian.Uint16(hdr[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	pages := int64(binary.BigEndian.Uint32(hdr[28:32]))
	if binary.BigEndian.Uint32(hdr[24:28]) == binary.BigEndian.Uint32(hdr[92:96]) && pages > 0 {
		if want := pages * pageSize; fi.Size() < want {
			return nil, fmt.Errorf("it is cut short: %d bytes where its header says %d (was the copy interrupted?)", fi.Size(), want)
		}
	}

	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	raw, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)

	rows, err := raw.QueryContext(ctx, "PRAGMA integrity_check(20)")
	if err != nil {
		return nil, fmt.Errorf("it is damaged: SQLite cannot read it: %w", err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, fmt.Errorf("it is damaged: %w", err)
		}
		problems = append(problems, strings.ReplaceAll(strings.TrimSpace(s), "\n", "; "))
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, fmt.Errorf("it is damaged: %w", err)
	}
	rows.Close()
	if len(problems) != 1 || problems[0] != "ok" {
		return nil, fmt.Errorf("it is damaged: SQLite's integrity check says: %s", strings.Join(problems, "; "))
	}

	for _, t := range kithTables {
		var one int
		err := raw.QueryRowContext(ctx, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", t).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("it is a SQLite database of another program, not kith's (it has no %q table)", t)
		}
		if err != nil {
			return nil, fmt.Errorf("read its tables: %w", err)
		}
	}
	info := &BackupInfo{Size: fi.Size()}
	if err := raw.QueryRowContext(ctx, "PRAGMA user_version").Scan(&info.SchemaVersion); err != nil {
		return nil, fmt.Errorf("read its schema version: %w", err)
	}
	if known := SchemaVersion(); info.SchemaVersion > known {
		return nil, fmt.Errorf("%w: it has schema version %d, and this kith knows only %d: restore it with a newer kith", ErrTooNew, info.SchemaVersion, known)
	}
	if info.SchemaVersion < 1 {
		return nil, errors.New("it has kith's tables but no schema version, so something other than kith wrote it")
	}
	err = raw.QueryRowContext(ctx, "SELECT username, domain FROM account").Scan(&info.Username, &info.Domain)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read its account: %w", err)
	}
	if err := raw.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM followers)").Scan(&info.Posts, &info.Followers); err != nil {
		return nil, fmt.Errorf("count its posts: %w", err)
	}
	return info, nil
}

// ErrInUse is returned by Restore when a running kith holds the database
// that would be replaced.
var ErrInUse = errors.New("store: the database is in use")

// Restore replaces the database at dst with a copy of the backup at src,
// after CheckBackup passed on that copy. The copy is made next to dst and
// renamed over it, so dst is either the old database or the whole backup,
// never a mix. The old database is kept as dst + ".before-restore" (with
// a time added when that name is taken); its path is returned, empty when
// there was none. A database some other connection holds open (a running
// kith serve) is refused with ErrInUse. When anything fails, dst is left
// as it was.
func Restore(ctx context.Context, src, dst string) (info *BackupInfo, before string, err error) {
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	in, err := os.Open(src)
	if err != nil {
		return nil, "", err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(dir, ".kith-restore-*.db") // 0600
	if err != nil {
		return nil, "", err
	}
	tmpPath := tmp.Name()
	defer func() {
		// A check that opened the copy may have left these beside it.
		for _, p := range []string{tmpPath, tmpPath + "-wal", tmpPath + "-shm", tmpPath + "-journal"} {
			os.Remove(p)
		}
	}()
	_, err = io.Copy(tmp, in)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, "", fmt.Errorf("copy %s: %w", src, err)
	}
	info, err = CheckBackup(ctx, tmpPath)
	if err != nil {
		return nil, "", err
	}

	if _, err := os.Stat(dst); err == nil {
		if err := checkpointAlone(ctx, dst); err != nil {
			return nil, "", err
		}
		before = dst + ".before-restore"
		if _, err := os.Stat(before); err == nil {
			before += "-" + time.Now().UTC().Format("20060102T150405Z")
		}
		if err := os.Rename(dst, before); err != nil {
			return nil, "", err
		}
		// It holds the account's private key, whatever mode it had.
		os.Chmod(before, 0o600)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, "", err
	}
	if err := os.Rename(tmpPath, dst); err != nil {
		if before != "" {
			os.Rename(before, dst)
		}
		return nil, "", err
	}
	syncDir(dir)
	return info, before, nil
}

// checkpointAlone makes the database at path one self-contained file by
// leaving WAL mode, which moves what its WAL file holds into it. SQLite
// allows that only to the one connection open on the file, so it fails
// at once while a kith server (or a backup, or a shell command) has it
// open: that is how Restore knows not to replace it.
func checkpointAlone(ctx context.Context, path string) error {
	raw, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_pragma=busy_timeout(0)")
	if err != nil {
		return err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	var mode string
	err = raw.QueryRowContext(ctx, "PRAGMA journal_mode = DELETE").Scan(&mode)
	switch {
	case err != nil && !strings.Contains(err.Error(), "locked") && !strings.Contains(err.Error(), "busy"):
		return fmt.Errorf("the database now at %s cannot be read (%v); move it aside by hand, then restore again", path, err)
	case err != nil || mode != "delete":
		return fmt.Errorf("%w: %s is open in another program (is kith serve running? stop it first)", ErrInUse, path)
	}
	return nil
}

// syncFile flushes the file at path to disk.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// syncDir flushes a directory's entries (a rename) to disk; file systems
// that cannot are left to their own schedule.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// LatestBackup reports when the newest backup BackupInto wrote into dir
// was taken; ok is false when there is none (or no directory yet).
func LatestBackup(dir string) (t time.Time, ok bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return time.Time{}, false
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !backupName.MatchString(e.Name()) {
			continue
		}
		at, err := time.Parse("20060102T150405Z", strings.TrimSuffix(strings.TrimPrefix(e.Name(), "kith-"), ".db"))
		if err == nil && at.After(t) {
			t, ok = at, true
		}
	}
	return t, ok
}
