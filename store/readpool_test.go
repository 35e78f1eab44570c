package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestReadsRunToTheirEnd: a read that has begun is not cut short when its
// context is cancelled (the rows keep coming, with no error), while one
// asked for after the context ended fails at once, so a loop that stops on
// a cancelled context still stops.
func TestReadsRunToTheirEnd(t *testing.T) {
	db, _ := openCaching(t)
	for i := range 50 {
		if _, err := db.Exec(`INSERT INTO t (v) VALUES (?)`, string(rune('a'+i%26))+string(rune('a'+i/26))); err != nil {
			t.Fatal(err)
		}
	}
	r := readPool{db}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rows, err := r.QueryContext(ctx, `SELECT v FROM t ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		if n++; n == 10 {
			cancel() // the visitor leaves halfway through the page
			// Time for a watcher, if there were one, to close the rows.
			time.Sleep(50 * time.Millisecond)
		}
	}
	if err := rows.Err(); err != nil || n != 50 {
		t.Errorf("read %d rows, err %v, after its context was cancelled; want all 50 and no error", n, err)
	}
	rows.Close()

	if _, err := r.QueryContext(ctx, `SELECT v FROM t`); !errors.Is(err, context.Canceled) {
		t.Errorf("a read asked for after the cancel: err %v; want context.Canceled", err)
	}
	var v string
	if err := r.QueryRowContext(ctx, `SELECT v FROM t LIMIT 1`).Scan(&v); !errors.Is(err, context.Canceled) {
		t.Errorf("a row asked for after the cancel: err %v; want context.Canceled", err)
	}
}
