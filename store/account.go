package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Account is the one local account, with the keys of both the account actor
// and the instance actor.
type Account struct {
	Domain        string // host[:port] the account lives on, fixed at first start
	Username      string
	DisplayName   string
	BioSource     string // Markdown as the owner wrote it
	BioHTML       string // rendered once when saved
	Fields        []Field
	AvatarMediaID string
	HeaderMediaID string
	Locked        bool // follow requests wait for the owner's approval
	AlsoKnownAs   []string
	MovedTo       string // the actor the owner moved to, or ""

	PrivateKeyPEM         string
	PublicKeyPEM          string
	InstancePrivateKeyPEM string
	InstancePublicKeyPEM  string
	PasswordHash          string

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Field is one profile field, shown as a PropertyValue.
type Field struct {
	Name      string `json:"name"`
	Value     string `json:"value"`      // as written
	ValueHTML string `json:"value_html"` // rendered, links marked rel="me"
}

// CreateAccount stores the account at first start. It fails if one exists.
func (db *DB) CreateAccount(ctx context.Context, a *Account) error {
	fields, aka, err := encodeAccountLists(a)
	if err != nil {
		return err
	}
	_, err = db.exec(ctx, "create account", `
		INSERT INTO account (id, domain, username, display_name, bio_source, bio_html, fields, locked,
			private_key_pem, public_key_pem, instance_private_key_pem, instance_public_key_pem,
			password_hash, also_known_as, created_at, updated_at)
		VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.Domain, a.Username, a.DisplayName, a.BioSource, a.BioHTML, fields, a.Locked,
		a.PrivateKeyPEM, a.PublicKeyPEM, a.InstancePrivateKeyPEM, a.InstancePublicKeyPEM,
		a.PasswordHash, aka, millis(a.CreatedAt), millis(a.CreatedAt))
	return err
}

// Account returns the local account, or ErrNotFound before the first start.
func (db *DB) Account(ctx context.Context) (*Account, error) { return readAccount(ctx, db.reader(ctx)) }

// Account returns the local account as seen inside tx.
func (tx *Tx) Account(ctx context.Context) (*Account, error) { return readAccount(ctx, tx.tx) }

func readAccount(ctx context.Context, q querier) (*Account, error) {
	var (
		a                  Account
		fields, aka        string
		avatar, header     sql.NullString
		created, updatedAt int64
	)
	err := q.QueryRowContext(ctx, `
		SELECT domain, username, display_name, bio_source, bio_html, fields, avatar_media_id, header_media_id,
			locked, also_known_as, private_key_pem, public_key_pem, instance_private_key_pem,
			instance_public_key_pem, password_hash, created_at, updated_at,
			coalesce((SELECT target FROM moved_out WHERE id = 1), '')
		FROM account WHERE id = 1`).Scan(
		&a.Domain, &a.Username, &a.DisplayName, &a.BioSource, &a.BioHTML, &fields, &avatar, &header,
		&a.Locked, &aka, &a.PrivateKeyPEM, &a.PublicKeyPEM, &a.InstancePrivateKeyPEM,
		&a.InstancePublicKeyPEM, &a.PasswordHash, &created, &updatedAt, &a.MovedTo)
	if err != nil {
		return nil, noRow(err, "read account")
	}
	if err := json.Unmarshal([]byte(fields), &a.Fields); err != nil {
		return nil, fmt.Errorf("store: account fields: %w", err)
	}
	if err := json.Unmarshal([]byte(aka), &a.AlsoKnownAs); err != nil {
		return nil, fmt.Errorf("store: account aliases: %w", err)
	}
	a.AvatarMediaID, a.HeaderMediaID = avatar.String, header.String
	a.CreatedAt, a.UpdatedAt = fromMillis(created), fromMillis(updatedAt)
	return &a, nil
}

// SetPasswordHash replaces the owner's password hash and ends every session,
// so a changed password locks out whoever knew the old one.
func (db *DB) SetPasswordHash(ctx context.Context, hash string, now time.Time) error {
	return db.Update(ctx, func(tx *Tx) error {
		res, err := tx.tx.ExecContext(ctx,
			`UPDATE account SET password_hash = ?, updated_at = ? WHERE id = 1`, hash, millis(now))
		if err != nil {
			return fmt.Errorf("store: set password: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if _, err := tx.tx.ExecContext(ctx, `DELETE FROM sessions`); err != nil {
			return fmt.Errorf("store: end sessions: %w", err)
		}
		return nil
	})
}

// SetLocked turns manual approval of followers on or off.
func (tx *Tx) SetLocked(ctx context.Context, locked bool, now time.Time) error {
	_, err := tx.tx.ExecContext(ctx, `UPDATE account SET locked = ?, updated_at = ? WHERE id = 1`, locked, millis(now))
	if err != nil {
		return fmt.Errorf("store: set locked: %w", err)
	}
	return nil
}

// Profile is the part of the account the owner edits on the settings page.
type Profile struct {
	DisplayName   string
	BioSource     string
	BioHTML       string
	Fields        []Field
	AvatarMediaID string // "" keeps no avatar
	HeaderMediaID string
	Locked        bool
}

// UpdateProfile replaces the owner-editable profile in tx, so the caller can
// queue the Update{Person} in the same transaction.
func (tx *Tx) UpdateProfile(ctx context.Context, p Profile, now time.Time) error {
	fields, err := json.Marshal(nonNil(p.Fields))
	if err != nil {
		return fmt.Errorf("store: encode fields: %w", err)
	}
	_, err = tx.tx.ExecContext(ctx, `
		UPDATE account SET display_name = ?, bio_source = ?, bio_html = ?, fields = ?,
			avatar_media_id = ?, header_media_id = ?, locked = ?, updated_at = ?
		WHERE id = 1`,
		p.DisplayName, p.BioSource, p.BioHTML, string(fields),
		nullString(p.AvatarMediaID), nullString(p.HeaderMediaID), p.Locked, millis(now))
	if err != nil {
		return fmt.Errorf("store: update profile: %w", err)
	}
	return nil
}

// SetProfileImages sets the avatar and header in tx; an empty id leaves
// that one as it is. An archive import uses it, changing nothing else of
// the profile the owner edits.
func (tx *Tx) SetProfileImages(ctx context.Context, avatarID, headerID string, now time.Time) error {
	_, err := tx.tx.ExecContext(ctx, `
		UPDATE account SET avatar_media_id = coalesce(?, avatar_media_id),
			header_media_id = coalesce(?, header_media_id), updated_at = ?
		WHERE id = 1`, nullString(avatarID), nullString(headerID), millis(now))
	if err != nil {
		return fmt.Errorf("store: set profile images: %w", err)
	}
	return nil
}

func encodeAccountLists(a *Account) (fields, aka string, err error) {
	f, err := json.Marshal(nonNil(a.Fields))
	if err != nil {
		return "", "", fmt.Errorf("store: encode fields: %w", err)
	}
	k, err := json.Marshal(nonNil(a.AlsoKnownAs))
	if err != nil {
		return "", "", fmt.Errorf("store: encode aliases: %w", err)
	}
	return string(f), string(k), nil
}

// nonNil turns a nil slice into an empty one, so it is stored as [] not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// nullString stores "" as NULL, for optional foreign keys.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
