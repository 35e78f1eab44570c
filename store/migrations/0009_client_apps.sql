-- The Mastodon client API: the apps that registered, the access tokens
-- the owner granted them, and the authorization codes in between. Secrets,
-- tokens and codes are stored only as SHA-256 hashes: a copy of the
-- database lets nobody act as the owner.

CREATE TABLE client_apps (
	id             INTEGER PRIMARY KEY,
	client_id      TEXT    NOT NULL UNIQUE,
	secret_hash    TEXT    NOT NULL,
	name           TEXT    NOT NULL,
	website        TEXT    NOT NULL DEFAULT '',
	redirect_uris  TEXT    NOT NULL DEFAULT '[]', -- JSON array, as registered
	scopes         TEXT    NOT NULL, -- space-separated
	created_at     INTEGER NOT NULL
);
CREATE INDEX client_apps_created ON client_apps (created_at);

-- owner: the token acts for the owner (authorization code and password
-- grants); a client_credentials token only identifies its app.
CREATE TABLE access_tokens (
	token_hash    TEXT    PRIMARY KEY,
	app_id        INTEGER NOT NULL REFERENCES client_apps(id) ON DELETE CASCADE,
	scopes        TEXT    NOT NULL,
	owner         INTEGER NOT NULL,
	created_at    INTEGER NOT NULL,
	last_used_at  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX access_tokens_app ON access_tokens (app_id);

-- A code is good once, for ten minutes. token_hash remembers the token it
-- was exchanged for, so that a replayed code can revoke that token
-- (RFC 6749 §4.1.2).
CREATE TABLE auth_codes (
	code_hash       TEXT    PRIMARY KEY,
	app_id          INTEGER NOT NULL REFERENCES client_apps(id) ON DELETE CASCADE,
	redirect_uri    TEXT    NOT NULL,
	scopes          TEXT    NOT NULL,
	code_challenge  TEXT    NOT NULL DEFAULT '', -- PKCE S256, base64url
	created_at      INTEGER NOT NULL,
	expires_at      INTEGER NOT NULL,
	used_at         INTEGER,
	token_hash      TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);

-- What a client says about an upload before (or after) it is attached:
-- its description and focal point. The description is copied into the
-- post's attachment when the post is written.
CREATE TABLE media_notes (
	media_id     TEXT    PRIMARY KEY REFERENCES media(id) ON DELETE CASCADE,
	description  TEXT    NOT NULL DEFAULT '',
	focus_x      REAL    NOT NULL DEFAULT 0,
	focus_y      REAL    NOT NULL DEFAULT 0
) WITHOUT ROWID;
