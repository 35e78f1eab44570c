-- kith schema, version 1. Never edit this file once released: add 0002_….sql.
-- Timestamps are integer Unix milliseconds, UTC. IRIs of remote things are
-- their natural keys (UNIQUE); local rows use integer keys.

-- The one local account, and the instance actor's key beside it.
CREATE TABLE account (
	id                   INTEGER PRIMARY KEY CHECK (id = 1),
	domain               TEXT    NOT NULL, -- fixed at first start: every IRI we ever sent contains it
	username             TEXT    NOT NULL,
	display_name         TEXT    NOT NULL DEFAULT '',
	bio_source           TEXT    NOT NULL DEFAULT '', -- Markdown, as written
	bio_html             TEXT    NOT NULL DEFAULT '', -- rendered once, at save
	fields               TEXT    NOT NULL DEFAULT '[]', -- JSON [{name, value, value_html}]
	avatar_media_id      TEXT    REFERENCES media(id) ON DELETE SET NULL,
	header_media_id      TEXT    REFERENCES media(id) ON DELETE SET NULL,
	locked               INTEGER NOT NULL DEFAULT 0,
	private_key_pem      TEXT    NOT NULL,
	public_key_pem       TEXT    NOT NULL,
	instance_private_key_pem TEXT NOT NULL,
	instance_public_key_pem  TEXT NOT NULL,
	password_hash        TEXT    NOT NULL DEFAULT '',
	also_known_as        TEXT    NOT NULL DEFAULT '[]', -- JSON array of actor IRIs
	created_at           INTEGER NOT NULL,
	updated_at           INTEGER NOT NULL
);

-- Remote actors we have fetched, with their key, and the raw document so a
-- parser fix can re-read old data.
CREATE TABLE actors (
	id            INTEGER PRIMARY KEY,
	iri           TEXT    NOT NULL UNIQUE,
	type          TEXT    NOT NULL,
	username      TEXT    NOT NULL DEFAULT '', -- preferredUsername
	host          TEXT    NOT NULL,
	name          TEXT    NOT NULL DEFAULT '',
	summary_html  TEXT    NOT NULL DEFAULT '', -- sanitised
	url           TEXT    NOT NULL DEFAULT '',
	icon_url      TEXT    NOT NULL DEFAULT '',
	image_url     TEXT    NOT NULL DEFAULT '',
	inbox         TEXT    NOT NULL,
	shared_inbox  TEXT    NOT NULL DEFAULT '',
	outbox        TEXT    NOT NULL DEFAULT '',
	followers     TEXT    NOT NULL DEFAULT '',
	following     TEXT    NOT NULL DEFAULT '',
	featured      TEXT    NOT NULL DEFAULT '',
	locked        INTEGER NOT NULL DEFAULT 0,
	key_id        TEXT    NOT NULL DEFAULT '',
	public_key_pem TEXT   NOT NULL DEFAULT '',
	raw           TEXT    NOT NULL,
	fetched_at    INTEGER NOT NULL
);
CREATE INDEX actors_key_id ON actors (key_id) WHERE key_id != '';
CREATE INDEX actors_host ON actors (host);

-- Remote actors following us. A Follow from a locked account's point of view
-- stays pending until the owner accepts it.
CREATE TABLE followers (
	actor_id    INTEGER PRIMARY KEY REFERENCES actors(id) ON DELETE CASCADE,
	follow_iri  TEXT    NOT NULL,
	state       TEXT    NOT NULL CHECK (state IN ('pending', 'accepted')),
	created_at  INTEGER NOT NULL
);
CREATE INDEX followers_follow_iri ON followers (follow_iri);
CREATE INDEX followers_state ON followers (state, created_at);

-- Remote actors we follow; a Reject or an Undo removes the row.
CREATE TABLE following (
	actor_id    INTEGER PRIMARY KEY REFERENCES actors(id) ON DELETE CASCADE,
	follow_iri  TEXT    NOT NULL UNIQUE,
	state       TEXT    NOT NULL CHECK (state IN ('pending', 'accepted')),
	created_at  INTEGER NOT NULL
);
CREATE INDEX following_state ON following (state, created_at);

-- Blocked actors (by IRI) and domains; their activities are dropped on arrival.
CREATE TABLE blocks (
	target      TEXT    PRIMARY KEY, -- an actor IRI, or a bare host name
	created_at  INTEGER NOT NULL
);

-- Every verified activity received, stored before the 202 and processed by a
-- worker. dedup_key is the activity id (or a hash of the body when a sender
-- leaves the id out), so a redelivery is a no-op.
CREATE TABLE inbox (
	id            INTEGER PRIMARY KEY,
	dedup_key     TEXT    NOT NULL UNIQUE,
	type          TEXT    NOT NULL,
	actor_iri     TEXT    NOT NULL, -- the verified signer
	body          TEXT    NOT NULL,
	received_at   INTEGER NOT NULL,
	processed_at  INTEGER,
	attempts      INTEGER NOT NULL DEFAULT 0,
	last_error    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX inbox_pending ON inbox (id) WHERE processed_at IS NULL;
CREATE INDEX inbox_received ON inbox (received_at);

-- Activities we send, stored once however many inboxes they go to.
CREATE TABLE activities (
	id          INTEGER PRIMARY KEY,
	iri         TEXT    NOT NULL UNIQUE,
	type        TEXT    NOT NULL,
	object_iri  TEXT    NOT NULL DEFAULT '',
	body        TEXT    NOT NULL,
	created_at  INTEGER NOT NULL
);
CREATE INDEX activities_object ON activities (object_iri);

-- The delivery queue: one row per activity and distinct target inbox.
CREATE TABLE deliveries (
	id           INTEGER PRIMARY KEY,
	activity_id  INTEGER NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
	inbox        TEXT    NOT NULL,
	host         TEXT    NOT NULL,
	tries        INTEGER NOT NULL DEFAULT 0,
	next_at      INTEGER NOT NULL,
	last_error   TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	UNIQUE (activity_id, inbox)
);
CREATE INDEX deliveries_due ON deliveries (next_at);
CREATE INDEX deliveries_host ON deliveries (host);

-- Deliveries that were given up, kept for the owner's delivery page.
CREATE TABLE delivery_failures (
	id            INTEGER PRIMARY KEY,
	activity_iri  TEXT    NOT NULL,
	activity_type TEXT    NOT NULL,
	inbox         TEXT    NOT NULL,
	host          TEXT    NOT NULL,
	tries         INTEGER NOT NULL,
	error         TEXT    NOT NULL,
	failed_at     INTEGER NOT NULL
);
CREATE INDEX delivery_failures_at ON delivery_failures (failed_at);

-- Failure streaks per remote host. A host that keeps failing for days is
-- marked unavailable and skipped until it talks to us or the owner resets it.
CREATE TABLE hosts (
	host              TEXT    PRIMARY KEY,
	failing_since     INTEGER, -- first failure of the current streak
	failures          INTEGER NOT NULL DEFAULT 0,
	last_failure_at   INTEGER,
	last_error        TEXT    NOT NULL DEFAULT '',
	last_success_at   INTEGER,
	unavailable_since INTEGER
);

-- Posts: ours (local_id set, Markdown source kept) and remote ones (raw JSON
-- kept). content_html is rendered once when written, never at view time.
-- Local ids sort by time, so the UNIQUE index on local_id orders our posts.
CREATE TABLE posts (
	id            INTEGER PRIMARY KEY,
	iri           TEXT    NOT NULL UNIQUE,
	local_id      TEXT    UNIQUE,
	author_iri    TEXT    NOT NULL,
	type          TEXT    NOT NULL, -- Note, Article, ...
	title         TEXT    NOT NULL DEFAULT '', -- AS2 name
	summary       TEXT    NOT NULL DEFAULT '', -- content warning, plain text
	sensitive     INTEGER NOT NULL DEFAULT 0,
	content_html  TEXT    NOT NULL DEFAULT '',
	source        TEXT    NOT NULL DEFAULT '',
	language      TEXT    NOT NULL DEFAULT '',
	visibility    TEXT    NOT NULL CHECK (visibility IN ('public', 'unlisted', 'followers', 'direct')),
	in_reply_to   TEXT    NOT NULL DEFAULT '',
	url           TEXT    NOT NULL DEFAULT '',
	published     INTEGER NOT NULL,
	updated       INTEGER,
	deleted_at    INTEGER, -- our posts leave a Tombstone behind
	pinned_at     INTEGER,
	raw           TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX posts_author_published ON posts (author_iri, published DESC);
CREATE INDEX posts_in_reply_to ON posts (in_reply_to) WHERE in_reply_to != '';
CREATE INDEX posts_pinned ON posts (pinned_at) WHERE pinned_at IS NOT NULL;

-- Uploaded images, kept in the database so that one file (and one backup)
-- holds everything. data has its metadata stripped.
CREATE TABLE media (
	id            TEXT    PRIMARY KEY,
	media_type    TEXT    NOT NULL,
	data          BLOB    NOT NULL,
	width         INTEGER NOT NULL,
	height        INTEGER NOT NULL,
	blurhash      TEXT    NOT NULL DEFAULT '',
	preview_type  TEXT    NOT NULL DEFAULT '',
	preview       BLOB,
	preview_width  INTEGER NOT NULL DEFAULT 0,
	preview_height INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL
);

-- Attachments of posts: local media or a remote URL.
CREATE TABLE attachments (
	id           INTEGER PRIMARY KEY,
	post_id      INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
	position     INTEGER NOT NULL,
	media_id     TEXT    REFERENCES media(id) ON DELETE SET NULL,
	url          TEXT    NOT NULL DEFAULT '',
	media_type   TEXT    NOT NULL DEFAULT '',
	description  TEXT    NOT NULL DEFAULT '', -- alt text
	width        INTEGER NOT NULL DEFAULT 0,
	height       INTEGER NOT NULL DEFAULT 0,
	blurhash     TEXT    NOT NULL DEFAULT '',
	UNIQUE (post_id, position)
);
CREATE INDEX attachments_media ON attachments (media_id) WHERE media_id IS NOT NULL;

-- Hashtags (lower-cased, without '#') and mentions of each post.
CREATE TABLE post_tags (
	post_id  INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
	tag      TEXT    NOT NULL,
	PRIMARY KEY (post_id, tag)
);
CREATE INDEX post_tags_tag ON post_tags (tag, post_id);

CREATE TABLE mentions (
	post_id    INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
	actor_iri  TEXT    NOT NULL,
	name       TEXT    NOT NULL, -- @user@host as written
	url        TEXT    NOT NULL DEFAULT '', -- profile page
	PRIMARY KEY (post_id, actor_iri)
);
CREATE INDEX mentions_actor ON mentions (actor_iri);

-- Owner sessions. Only a hash of the cookie value is stored.
CREATE TABLE sessions (
	token_hash  TEXT    PRIMARY KEY,
	csrf_token  TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	user_agent  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_expires ON sessions (expires_at);
