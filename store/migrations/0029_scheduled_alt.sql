-- The description written with each upload of a scheduled post (the
-- compose page's alt text). Without a row, the upload's own note (the
-- client API's description), read when the post is published, is used.
-- A table of its own rather than a column: tests run the migrations after
-- a rollback again, and only CREATE … IF NOT EXISTS can run twice.
CREATE TABLE IF NOT EXISTS scheduled_media_alts (
	scheduled_id TEXT    NOT NULL,
	position     INTEGER NOT NULL,
	description  TEXT    NOT NULL,
	PRIMARY KEY (scheduled_id, position),
	FOREIGN KEY (scheduled_id, position) REFERENCES scheduled_media (scheduled_id, position) ON DELETE CASCADE
) WITHOUT ROWID;
