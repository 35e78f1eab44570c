-- Votes cast by remote accounts in the owner's polls: one row per voter
-- and option, so that a replayed or repeated vote is counted once.
CREATE TABLE IF NOT EXISTS poll_votes (
	post_id    INTEGER NOT NULL REFERENCES polls(post_id) ON DELETE CASCADE,
	voter_iri  TEXT    NOT NULL,
	position   INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (post_id, voter_iri, position)
) WITHOUT ROWID;
