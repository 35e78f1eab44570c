package store

import (
	"bytes"
	"os"
	"sync"
	"time"
)

// Watcher tells a loop that waits for work in the database (the
// deliverer's queue, the inbox) whether the database may have changed
// since it last looked, without running SQLite: an idle kith that read its
// queue twice a second kept mapping SQLite's code and pages back after
// each memory release (issue 7, item 21).
//
// It reads the header of the write-ahead log's index, the first 48 bytes
// of the -shm file (sqlite.org/walformat.html), with one pread. Every
// commit, by any process, rewrites that header to publish itself: the
// change counter and the last valid frame move, and a commit that restarts
// the log after a checkpoint changes its salts too. The header is written
// when the commit becomes visible, after its pages are in the log, so a
// read that follows a look which saw the new header sees the commit, and
// a commit published after the look changes the header for the next one.
// Reads leave the header as it is, and so does the passive checkpoint
// that commits run (a forced one may rewrite it: a spare read). Unlike the log file's
// size and modification time, which a commit that rewrites the log from
// its start after a checkpoint may leave unchanged within a filesystem's
// timestamp granularity, the header cannot miss a commit. The -shm file is
// shared memory mapped by every connection, and a pread sees the same page
// cache the mappings do. The file stays open until DB.Close (walIndex).
//
// A header that cannot be read (no -shm file yet, or one removed by the
// last connection of another process) counts as a change, and Changed
// also says yes at least every backstop, in case a future SQLite lays the
// index out otherwise.
//
// A Watcher is used by one goroutine.
type Watcher struct {
	shm      *walIndex
	path     string // of the -shm file
	backstop time.Duration
	last     [walIndexHeader]byte // the header at the previous look
	known    bool                 // last holds a header
	checked  time.Time            // when Changed last said yes
}

// walIndexHeader is the size of the first copy of the WAL index header.
const walIndexHeader = 48

// Watch returns a Watcher of db that says yes at its first look and at
// least every backstop.
func (db *DB) Watch(backstop time.Duration) *Watcher {
	return &Watcher{shm: &db.shm, path: db.path + "-shm", backstop: backstop}
}

// Changed reports whether the database may have changed since the
// previous look. The caller reads what it waits for when it does, and
// only then.
func (w *Watcher) Changed() bool {
	var hdr [walIndexHeader]byte
	ok := w.shm.read(w.path, hdr[:]) == nil
	changed := !ok || !w.known || !bytes.Equal(hdr[:], w.last[:])
	w.last, w.known = hdr, ok
	now := time.Now()
	if changed || now.Sub(w.checked) >= w.backstop {
		w.checked = now
		return true
	}
	return false
}

// walIndex is the -shm file, opened once and kept open until DB.Close,
// after SQLite's connections are closed. It must never be closed before:
// POSIX record locks belong to the process and the file, so closing any
// descriptor of the file drops every lock the process holds on it,
// SQLite's included. Opening it and closing it at each look did that, and
// SQLite then failed with SQLITE_IOERR_IN_PAGE under load.
type walIndex struct {
	mu     sync.Mutex
	f      *os.File
	closed bool
}

// read reads the first len(buf) bytes of the file at path, opening it on
// first use.
func (x *walIndex) read(path string, buf []byte) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return os.ErrClosed
	}
	if x.f == nil {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		x.f = f
	}
	_, err := x.f.ReadAt(buf, 0)
	return err
}

// close closes the file, for DB.Close once SQLite's connections are closed.
func (x *walIndex) close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.closed = true
	if x.f == nil {
		return nil
	}
	err := x.f.Close()
	x.f = nil
	return err
}
