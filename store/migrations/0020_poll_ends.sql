-- Polls whose end the owner has been told of, so that housekeeping sends
-- each poll notification once.
CREATE TABLE IF NOT EXISTS poll_ends (
	post_id     INTEGER PRIMARY KEY REFERENCES polls(post_id) ON DELETE CASCADE,
	notified_at INTEGER NOT NULL
);
