package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Activity is an activity we send, stored once whatever the number of
// inboxes it goes to.
type Activity struct {
	ID        int64
	IRI       string
	Type      string
	ObjectIRI string
	Body      []byte
	CreatedAt time.Time
}

// Delivery is one pending POST of an activity to one inbox.
type Delivery struct {
	ID         int64
	ActivityID int64
	Inbox      string
	Host       string
	Tries      int
	NextAt     time.Time
	LastError  string
	CreatedAt  time.Time
}

// Enqueue stores act (once: an activity already stored under the same IRI is
// reused) and one delivery per distinct inbox, all due now. It sets act.ID
// and returns the number of deliveries added.
func (tx *Tx) Enqueue(ctx context.Context, act *Activity, inboxes []string, now time.Time) (int, error) {
	err := tx.tx.QueryRowContext(ctx, `
		INSERT INTO activities (iri, type, object_iri, body, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (iri) DO UPDATE SET iri = iri
		RETURNING id`,
		act.IRI, act.Type, act.ObjectIRI, act.Body, millis(now)).Scan(&act.ID)
	if err != nil {
		return 0, fmt.Errorf("store: store activity %s: %w", act.IRI, err)
	}
	if act.CreatedAt.IsZero() {
		act.CreatedAt = now
	}
	stmt, err := tx.tx.PrepareContext(ctx, `
		INSERT INTO deliveries (activity_id, inbox, host, next_at, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (activity_id, inbox) DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("store: enqueue: %w", err)
	}
	defer stmt.Close()
	added := 0
	for _, inbox := range inboxes {
		host := hostOf(inbox)
		if host == "" {
			return added, fmt.Errorf("store: enqueue: inbox %q is not an absolute URL", inbox)
		}
		res, err := stmt.ExecContext(ctx, act.ID, inbox, host, millis(now), millis(now))
		if err != nil {
			return added, fmt.Errorf("store: enqueue to %s: %w", inbox, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			added++
		}
	}
	return added, nil
}

// hostOf returns the lower-cased host[:port] of an absolute URL, or "".
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Host)
}

// ActivityByID returns a stored outgoing activity.
func (db *DB) ActivityByID(ctx context.Context, id int64) (*Activity, error) {
	return activityWhere(ctx, db.reader(ctx), "id = ?", id)
}

// ActivityByIRI returns a stored outgoing activity by its id.
func (db *DB) ActivityByIRI(ctx context.Context, iri string) (*Activity, error) {
	return activityWhere(ctx, db.reader(ctx), "iri = ?", iri)
}

func activityWhere(ctx context.Context, q querier, where string, arg any) (*Activity, error) {
	var a Activity
	var created int64
	err := q.QueryRowContext(ctx, `SELECT id, iri, type, object_iri, body, created_at FROM activities WHERE `+where, arg).
		Scan(&a.ID, &a.IRI, &a.Type, &a.ObjectIRI, &a.Body, &created)
	if err != nil {
		return nil, noRow(err, "read activity")
	}
	a.CreatedAt = fromMillis(created)
	return &a, nil
}

// DueDeliveries returns up to limit deliveries due at now, oldest first,
// leaving out hosts marked unavailable.
func (db *DB) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `
		SELECT id, activity_id, inbox, host, tries, next_at, last_error, created_at
		FROM deliveries
		WHERE next_at <= ? AND host NOT IN (SELECT host FROM hosts WHERE unavailable_since IS NOT NULL)
		ORDER BY next_at, id LIMIT ?`, millis(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var d Delivery
		var next, created int64
		if err := rows.Scan(&d.ID, &d.ActivityID, &d.Inbox, &d.Host, &d.Tries, &next, &d.LastError, &created); err != nil {
			return nil, fmt.Errorf("store: due deliveries: %w", err)
		}
		d.NextAt, d.CreatedAt = fromMillis(next), fromMillis(created)
		out = append(out, d)
	}
	return out, rows.Err()
}

// NextDeliveryAt reports when the earliest pending delivery to an available
// host is due; ok is false when the queue holds none.
func (db *DB) NextDeliveryAt(ctx context.Context) (t time.Time, ok bool, err error) {
	var next sql.NullInt64
	err = db.reader(ctx).QueryRowContext(ctx, `
		SELECT min(next_at) FROM deliveries
		WHERE host NOT IN (SELECT host FROM hosts WHERE unavailable_since IS NOT NULL)`).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: next delivery: %w", err)
	}
	return nullMillis(next), next.Valid, nil
}

// DeliveryDone removes a delivered row and ends the host's failure streak.
func (db *DB) DeliveryDone(ctx context.Context, d *Delivery, now time.Time) error {
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.tx.ExecContext(ctx, `DELETE FROM deliveries WHERE id = ?`, d.ID); err != nil {
			return fmt.Errorf("store: delivery done: %w", err)
		}
		_, err := tx.tx.ExecContext(ctx, `
			UPDATE hosts SET failing_since = NULL, failures = 0, unavailable_since = NULL, last_success_at = ?
			WHERE host = ?`, millis(now), d.Host)
		if err != nil {
			return fmt.Errorf("store: host success: %w", err)
		}
		return nil
	})
}

// DeliveryRetry reschedules a failed delivery for nextAt and extends the
// host's failure streak. When the streak has lasted unavailableAfter the host
// is marked unavailable, and becameUnavailable reports it.
func (db *DB) DeliveryRetry(ctx context.Context, d *Delivery, nextAt time.Time, errText string, now time.Time, unavailableAfter time.Duration) (becameUnavailable bool, err error) {
	err = db.Update(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `
			UPDATE deliveries SET tries = tries + 1, next_at = ?, last_error = ? WHERE id = ?`,
			millis(nextAt), errText, d.ID)
		if err != nil {
			return fmt.Errorf("store: reschedule delivery: %w", err)
		}
		becameUnavailable, err = tx.hostFailed(ctx, d.Host, errText, now, unavailableAfter)
		return err
	})
	return becameUnavailable, err
}

// hostFailed extends host's failure streak and marks it unavailable once
// the streak is older than unavailableAfter.
func (tx *Tx) hostFailed(ctx context.Context, host, errText string, now time.Time, unavailableAfter time.Duration) (bool, error) {
	_, err := tx.tx.ExecContext(ctx, `
		INSERT INTO hosts (host, failing_since, failures, last_failure_at, last_error) VALUES (?, ?, 1, ?, ?)
		ON CONFLICT (host) DO UPDATE SET failing_since = coalesce(failing_since, excluded.failing_since),
			failures = failures + 1, last_failure_at = excluded.last_failure_at,
			last_error = excluded.last_error`,
		host, millis(now), millis(now), errText)
	if err != nil {
		return false, fmt.Errorf("store: host failure: %w", err)
	}
	res, err := tx.tx.ExecContext(ctx, `
		UPDATE hosts SET unavailable_since = ?
		WHERE host = ? AND unavailable_since IS NULL AND failing_since <= ?`,
		millis(now), host, millis(now.Add(-unavailableAfter)))
	if err != nil {
		return false, fmt.Errorf("store: mark host unavailable: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DeliveryGiveUp removes a delivery that will never succeed and keeps a
// record of it for the owner's delivery page.
func (db *DB) DeliveryGiveUp(ctx context.Context, d *Delivery, errText string, now time.Time) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.giveUp(ctx, d, errText, now) })
}

func (tx *Tx) giveUp(ctx context.Context, d *Delivery, errText string, now time.Time) error {
	_, err := tx.tx.ExecContext(ctx, `
		INSERT INTO delivery_failures (activity_iri, activity_type, inbox, host, tries, error, failed_at)
		SELECT a.iri, a.type, ?, ?, ?, ?, ? FROM activities a WHERE a.id = ?`,
		d.Inbox, d.Host, d.Tries+1, errText, millis(now), d.ActivityID)
	if err != nil {
		return fmt.Errorf("store: record failed delivery: %w", err)
	}
	if _, err := tx.tx.ExecContext(ctx, `DELETE FROM deliveries WHERE id = ?`, d.ID); err != nil {
		return fmt.Errorf("store: drop delivery: %w", err)
	}
	// Keep the record bounded: the page shows recent failures only.
	_, err = tx.tx.ExecContext(ctx, `
		DELETE FROM delivery_failures WHERE id <= (SELECT id FROM delivery_failures ORDER BY id DESC LIMIT 1 OFFSET 500)`)
	if err != nil {
		return fmt.Errorf("store: trim failed deliveries: %w", err)
	}
	return nil
}

// ExpireDeliveries gives up every delivery created before cutoff, whatever
// its host's state, recording each as failed with reason. It returns how
// many were dropped.
func (db *DB) ExpireDeliveries(ctx context.Context, cutoff time.Time, reason string, now time.Time) (int, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `
		SELECT id, activity_id, inbox, host, tries, next_at, last_error, created_at
		FROM deliveries WHERE created_at < ? LIMIT 1000`, millis(cutoff))
	if err != nil {
		return 0, fmt.Errorf("store: expired deliveries: %w", err)
	}
	var old []Delivery
	for rows.Next() {
		var d Delivery
		var next, created int64
		if err := rows.Scan(&d.ID, &d.ActivityID, &d.Inbox, &d.Host, &d.Tries, &next, &d.LastError, &created); err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: expired deliveries: %w", err)
		}
		d.NextAt, d.CreatedAt = fromMillis(next), fromMillis(created)
		old = append(old, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: expired deliveries: %w", err)
	}
	if len(old) == 0 {
		return 0, nil
	}
	err = db.Update(ctx, func(tx *Tx) error {
		for i := range old {
			msg := reason
			if old[i].LastError != "" {
				msg += "; last error: " + old[i].LastError
			}
			if err := tx.giveUp(ctx, &old[i], msg, now); err != nil {
				return err
			}
		}
		return nil
	})
	return len(old), err
}

// PruneActivities deletes stored outgoing activities older than cutoff that
// no delivery needs any more.
func (db *DB) PruneActivities(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := db.exec(ctx, "prune activities", `
		DELETE FROM activities WHERE created_at < ?
		AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.activity_id = activities.id)`, millis(cutoff))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// QueueStats summarises the delivery queue for the owner.
type QueueStats struct {
	Pending  int // deliveries waiting, due or not
	Due      int // deliveries due now
	Retrying int // deliveries that failed at least once
	Hosts    int // distinct hosts with pending deliveries
}

// DeliveryStats counts the queue at now.
func (db *DB) DeliveryStats(ctx context.Context, now time.Time) (QueueStats, error) {
	var s QueueStats
	// Due leaves out paused hosts: their deliveries are not sent however
	// due they are.
	err := db.reader(ctx).QueryRowContext(ctx, `
		SELECT count(*),
			count(*) FILTER (WHERE next_at <= ? AND host NOT IN (SELECT host FROM hosts WHERE unavailable_since IS NOT NULL)),
			count(*) FILTER (WHERE tries > 0),
			count(DISTINCT host)
		FROM deliveries`, millis(now)).Scan(&s.Pending, &s.Due, &s.Retrying, &s.Hosts)
	if err != nil {
		return s, fmt.Errorf("store: delivery stats: %w", err)
	}
	return s, nil
}

// DeliveryFailure is a delivery that was given up.
type DeliveryFailure struct {
	ActivityIRI  string
	ActivityType string
	Inbox        string
	Host         string
	Tries        int
	Error        string
	FailedAt     time.Time
}

// RecentDeliveryFailures lists the latest given-up deliveries, newest first.
func (db *DB) RecentDeliveryFailures(ctx context.Context, limit int) ([]DeliveryFailure, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `
		SELECT activity_iri, activity_type, inbox, host, tries, error, failed_at
		FROM delivery_failures ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: delivery failures: %w", err)
	}
	defer rows.Close()
	var out []DeliveryFailure
	for rows.Next() {
		var f DeliveryFailure
		var at int64
		if err := rows.Scan(&f.ActivityIRI, &f.ActivityType, &f.Inbox, &f.Host, &f.Tries, &f.Error, &at); err != nil {
			return nil, fmt.Errorf("store: delivery failures: %w", err)
		}
		f.FailedAt = fromMillis(at)
		out = append(out, f)
	}
	return out, rows.Err()
}

// Host is a remote host's delivery health.
type Host struct {
	Host             string
	FailingSince     time.Time
	Failures         int
	LastFailureAt    time.Time
	LastError        string
	LastSuccessAt    time.Time
	UnavailableSince time.Time // zero while the host is still tried
	Pending          int       // deliveries waiting for it
}

// FailingHosts lists hosts in a failure streak, unavailable ones first.
func (db *DB) FailingHosts(ctx context.Context, limit int) ([]Host, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `
		SELECT h.host, h.failing_since, h.failures, h.last_failure_at, h.last_error, h.last_success_at,
			h.unavailable_since, (SELECT count(*) FROM deliveries d WHERE d.host = h.host)
		FROM hosts h WHERE h.failing_since IS NOT NULL
		ORDER BY h.unavailable_since IS NULL, h.failing_since LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: failing hosts: %w", err)
	}
	defer rows.Close()
	var out []Host
	for rows.Next() {
		var h Host
		var since, last, success, unavailable sql.NullInt64
		if err := rows.Scan(&h.Host, &since, &h.Failures, &last, &h.LastError, &success, &unavailable, &h.Pending); err != nil {
			return nil, fmt.Errorf("store: failing hosts: %w", err)
		}
		h.FailingSince, h.LastFailureAt = nullMillis(since), nullMillis(last)
		h.LastSuccessAt, h.UnavailableSince = nullMillis(success), nullMillis(unavailable)
		out = append(out, h)
	}
	return out, rows.Err()
}

// HostByName returns the delivery health of one host.
func (db *DB) HostByName(ctx context.Context, host string) (*Host, error) {
	var h Host
	var since, last, success, unavailable sql.NullInt64
	err := db.reader(ctx).QueryRowContext(ctx, `
		SELECT host, failing_since, failures, last_failure_at, last_error, last_success_at, unavailable_since,
			(SELECT count(*) FROM deliveries d WHERE d.host = hosts.host)
		FROM hosts WHERE host = ?`, strings.ToLower(host)).Scan(
		&h.Host, &since, &h.Failures, &last, &h.LastError, &success, &unavailable, &h.Pending)
	if err != nil {
		return nil, noRow(err, "read host")
	}
	h.FailingSince, h.LastFailureAt = nullMillis(since), nullMillis(last)
	h.LastSuccessAt, h.UnavailableSince = nullMillis(success), nullMillis(unavailable)
	return &h, nil
}

// RetryHost makes every delivery to host due now and gives the host a clean
// slate; the owner's "retry now" button calls it.
func (db *DB) RetryHost(ctx context.Context, host string, now time.Time) (int64, error) {
	var n int64
	err := db.Update(ctx, func(tx *Tx) error {
		res, err := tx.tx.ExecContext(ctx, `UPDATE deliveries SET next_at = ? WHERE host = ?`, millis(now), host)
		if err != nil {
			return fmt.Errorf("store: retry host: %w", err)
		}
		n, _ = res.RowsAffected()
		_, err = tx.tx.ExecContext(ctx, `
			UPDATE hosts SET failing_since = NULL, failures = 0, unavailable_since = NULL WHERE host = ?`, host)
		if err != nil {
			return fmt.Errorf("store: reset host: %w", err)
		}
		return nil
	})
	return n, err
}

// HostSeen is called when host sends us a valid activity: an unavailable
// host is evidently back, so its deliveries are made due again. It reports
// whether the host had been marked unavailable.
func (db *DB) HostSeen(ctx context.Context, host string, now time.Time) (bool, error) {
	n, err := countWhere(ctx, db.reader(ctx), `SELECT count(*) FROM hosts WHERE host = ? AND unavailable_since IS NOT NULL`, host)
	if err != nil || n == 0 {
		return false, err
	}
	_, err = db.RetryHost(ctx, host, now)
	return err == nil, err
}
