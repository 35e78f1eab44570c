-- Following from the web and moderation.
--
-- A Reject of our Follow is kept as the state 'rejected', so the owner sees
-- that the account said no instead of the follow silently vanishing. SQLite
-- cannot change a CHECK constraint, so the table is rebuilt.
CREATE TABLE following_new (
	actor_id    INTEGER PRIMARY KEY REFERENCES actors(id) ON DELETE CASCADE,
	follow_iri  TEXT    NOT NULL UNIQUE,
	state       TEXT    NOT NULL CHECK (state IN ('pending', 'accepted', 'rejected')),
	created_at  INTEGER NOT NULL
);
INSERT INTO following_new (actor_id, follow_iri, state, created_at)
	SELECT actor_id, follow_iri, state, created_at FROM following;
DROP TABLE following;
ALTER TABLE following_new RENAME TO following;
CREATE INDEX following_state ON following (state, created_at);

-- The id of the Block activity sent for an account block, so that the
-- Undo sent when it is lifted names the same Block (Mastodon matches on it).
ALTER TABLE blocks ADD COLUMN activity_iri TEXT NOT NULL DEFAULT '';
