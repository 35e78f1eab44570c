-- What the settings pages show about each logged-in browser: where it last
-- came from and when, so the owner can tell a forgotten laptop from a
-- stranger.
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN address TEXT NOT NULL DEFAULT '';
UPDATE sessions SET last_seen_at = created_at;

-- Wrong passwords since the owner last logged in, told to them at their
-- next login. One row (id 1) at most.
CREATE TABLE login_failures (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	count         INTEGER NOT NULL,
	first_at      INTEGER NOT NULL,
	last_at       INTEGER NOT NULL,
	last_address  TEXT    NOT NULL
);

-- The one-time token of each compose form that was published, with the
-- post it made: a second submit of the same form (a double click on a slow
-- machine) answers with that post instead of publishing it twice.
CREATE TABLE publish_keys (
	key_hash    TEXT    PRIMARY KEY,
	post_id     TEXT    NOT NULL,
	created_at  INTEGER NOT NULL
);
CREATE INDEX publish_keys_created ON publish_keys (created_at);

-- When a follower was accepted (automatically, or approved by hand); the
-- followers page shows it. Followers accepted before this column existed
-- get the time of their request, the best guess there is.
ALTER TABLE followers ADD COLUMN accepted_at INTEGER NOT NULL DEFAULT 0;
UPDATE followers SET accepted_at = created_at WHERE state = 'accepted';
