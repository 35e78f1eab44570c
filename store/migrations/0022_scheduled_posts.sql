-- Posts the owner wrote to be published later (Mastodon's scheduled
-- statuses). A row is the draft as written; publishing it deletes it in
-- the transaction that stores the post, so it goes out once.
CREATE TABLE IF NOT EXISTS scheduled_posts (
	id               TEXT    PRIMARY KEY, -- NewID when scheduled: the client API's id, in creation order
	scheduled_at     INTEGER NOT NULL,
	created_at       INTEGER NOT NULL,
	title            TEXT    NOT NULL DEFAULT '',
	source           TEXT    NOT NULL DEFAULT '',
	summary          TEXT    NOT NULL DEFAULT '',
	sensitive        INTEGER NOT NULL DEFAULT 0,
	visibility       TEXT    NOT NULL DEFAULT 'public',
	language         TEXT    NOT NULL DEFAULT '',
	in_reply_to      TEXT    NOT NULL DEFAULT '', -- the IRI answered
	poll_options     TEXT,                        -- a JSON array of titles; NULL without a poll
	poll_seconds     INTEGER NOT NULL DEFAULT 0,
	poll_multiple    INTEGER NOT NULL DEFAULT 0,
	poll_hide_totals INTEGER NOT NULL DEFAULT 0,
	key_hash         TEXT UNIQUE                  -- the client's Idempotency-Key, hashed
);
-- The scheduler asks for the next one due.
CREATE INDEX IF NOT EXISTS scheduled_posts_due ON scheduled_posts (scheduled_at);

-- The uploads a scheduled post will carry, in order. Housekeeping keeps
-- them while the post waits.
CREATE TABLE IF NOT EXISTS scheduled_media (
	scheduled_id TEXT    NOT NULL REFERENCES scheduled_posts(id) ON DELETE CASCADE,
	position     INTEGER NOT NULL,
	media_id     TEXT    NOT NULL,
	PRIMARY KEY (scheduled_id, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS scheduled_media_media ON scheduled_media (media_id);
