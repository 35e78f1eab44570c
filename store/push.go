package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PushSubscription is a Web Push subscription of one access token.
type PushSubscription struct {
	TokenHash string
	ID        int64
	Endpoint  string
	P256DH    string // base64url
	Auth      string // base64url
	Alerts    string // JSON object
	Policy    string
	CreatedAt time.Time
}

// PutPushSubscription stores s, replacing the token's earlier one (a new
// subscription gets a new id, as in Mastodon). It sets s.ID.
func (db *DB) PutPushSubscription(ctx context.Context, s *PushSubscription) error {
	return db.Update(ctx, func(tx *Tx) error {
		err := tx.tx.QueryRowContext(ctx, `INSERT INTO push_subscriptions
			(token_hash, id, endpoint, p256dh, auth, alerts, policy, created_at)
			VALUES (?1, (SELECT coalesce(max(id), 0) + 1 FROM push_subscriptions), ?2, ?3, ?4, ?5, ?6, ?7)
			ON CONFLICT (token_hash) DO UPDATE SET id = excluded.id, endpoint = excluded.endpoint,
				p256dh = excluded.p256dh, auth = excluded.auth, alerts = excluded.alerts,
				policy = excluded.policy, created_at = excluded.created_at
			RETURNING id`, s.TokenHash, s.Endpoint, s.P256DH, s.Auth, s.Alerts, s.Policy, millis(s.CreatedAt)).Scan(&s.ID)
		if err != nil {
			return fmt.Errorf("store: put push subscription: %w", err)
		}
		// A new endpoint starts with nothing queued for the old one.
		_, err = tx.tx.ExecContext(ctx, `DELETE FROM push_deliveries WHERE token_hash = ?`, s.TokenHash)
		return err
	})
}

// SetPushAlerts changes a subscription's alerts and policy.
func (db *DB) SetPushAlerts(ctx context.Context, tokenHash, alerts, policy string) error {
	res, err := db.exec(ctx, "set push alerts", `UPDATE push_subscriptions SET alerts = ?, policy = ? WHERE token_hash = ?`,
		alerts, policy, tokenHash)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// PushSubscriptionByToken returns the token's subscription.
func (db *DB) PushSubscriptionByToken(ctx context.Context, tokenHash string) (*PushSubscription, error) {
	var s PushSubscription
	var created int64
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT token_hash, id, endpoint, p256dh, auth, alerts, policy, created_at
		FROM push_subscriptions WHERE token_hash = ?`, tokenHash).Scan(&s.TokenHash, &s.ID, &s.Endpoint, &s.P256DH,
		&s.Auth, &s.Alerts, &s.Policy, &created)
	if err != nil {
		return nil, noRow(err, "push subscription")
	}
	s.CreatedAt = fromMillis(created)
	return &s, nil
}

// DeletePushSubscription removes the token's subscription and what was
// queued for it.
func (db *DB) DeletePushSubscription(ctx context.Context, tokenHash string) error {
	_, err := db.exec(ctx, "delete push subscription", `DELETE FROM push_subscriptions WHERE token_hash = ?`, tokenHash)
	return err
}

// queuePush queues the notification id for every push subscription.
func (tx *Tx) queuePush(ctx context.Context, id string, now time.Time) error {
	// Most owners have no subscription. The INSERT … SELECT below opens a
	// statement journal even then, and SQLite flushes the full-text
	// index's pending terms at each one: in a batch of the inbox worker,
	// a flush per notification, 8% of its CPU.
	var subscribed bool
	if err := tx.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM push_subscriptions)`).Scan(&subscribed); err != nil {
		return fmt.Errorf("store: queue push: %w", err)
	}
	if !subscribed {
		return nil
	}
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO push_deliveries (token_hash, notification_id, next_at)
		SELECT token_hash, ?, ? FROM push_subscriptions WHERE true ON CONFLICT DO NOTHING`, id, millis(now))
	if err != nil {
		return fmt.Errorf("store: queue push: %w", err)
	}
	return nil
}

// PushDelivery is a notification waiting to be pushed, with its
// subscription.
type PushDelivery struct {
	ID             int64
	NotificationID string
	Tries          int
	Subscription   PushSubscription
}

// DuePushDeliveries returns up to limit deliveries due at now.
func (db *DB) DuePushDeliveries(ctx context.Context, now time.Time, limit int) ([]PushDelivery, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT d.id, d.notification_id, d.tries, s.token_hash, s.id, s.endpoint,
		s.p256dh, s.auth, s.alerts, s.policy, s.created_at
		FROM push_deliveries d JOIN push_subscriptions s ON s.token_hash = d.token_hash
		WHERE d.next_at <= ? ORDER BY d.next_at LIMIT ?`, millis(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due pushes: %w", err)
	}
	defer rows.Close()
	var out []PushDelivery
	for rows.Next() {
		var d PushDelivery
		var created int64
		s := &d.Subscription
		if err := rows.Scan(&d.ID, &d.NotificationID, &d.Tries, &s.TokenHash, &s.ID, &s.Endpoint, &s.P256DH,
			&s.Auth, &s.Alerts, &s.Policy, &created); err != nil {
			return nil, fmt.Errorf("store: due pushes: %w", err)
		}
		s.CreatedAt = fromMillis(created)
		out = append(out, d)
	}
	return out, rows.Err()
}

// NextPushAt is when the next queued push is due; ok is false when none
// is queued.
func (db *DB) NextPushAt(ctx context.Context) (at time.Time, ok bool, err error) {
	var next sql.NullInt64
	if err := db.reader(ctx).QueryRowContext(ctx, `SELECT min(next_at) FROM push_deliveries`).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("store: next push: %w", err)
	}
	return nullMillis(next), next.Valid, nil
}

// DonePushDelivery removes a delivery: sent, unwanted or given up.
func (db *DB) DonePushDelivery(ctx context.Context, id int64) error {
	_, err := db.exec(ctx, "push delivered", `DELETE FROM push_deliveries WHERE id = ?`, id)
	return err
}

// RetryPushDelivery counts a failed try and sets when to try again.
func (db *DB) RetryPushDelivery(ctx context.Context, id int64, next time.Time) error {
	_, err := db.exec(ctx, "retry push", `UPDATE push_deliveries SET tries = tries + 1, next_at = ? WHERE id = ?`, millis(next), id)
	return err
}

// VAPIDKey returns the server's VAPID private key (PKCS #8), storing the
// one gen makes the first time it is asked for.
func (db *DB) VAPIDKey(ctx context.Context, gen func() ([]byte, error)) ([]byte, error) {
	var key []byte
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT private_key FROM vapid_key WHERE id = 1`).Scan(&key)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: vapid key: %w", err)
	}
	fresh, err := gen()
	if err != nil {
		return nil, err
	}
	// Two first callers at once keep the key that was stored first.
	err = db.writer(ctx).QueryRowContext(ctx, `INSERT INTO vapid_key (id, private_key) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET private_key = vapid_key.private_key RETURNING private_key`, fresh).Scan(&key)
	if err != nil {
		return nil, fmt.Errorf("store: vapid key: %w", err)
	}
	return key, nil
}
