-- The followers of the owner's old accounts (aliases), as the old server
-- listed them in the account's followers collection: read when the alias
-- is added, before any Move (a follower's server unfollows the old account
-- once it has followed the new one, so the list shrinks as the move goes),
-- and read again after a verified Move. For MoveInWindow after the Move, a
-- Follow from one of them is accepted on a locked account; anyone else's
-- waits for approval. Keyed by actor first: the lookup is per Follow.
CREATE TABLE IF NOT EXISTS alias_followers (
	actor  TEXT NOT NULL, -- a follower's actor IRI
	origin TEXT NOT NULL, -- the old account's actor IRI
	PRIMARY KEY (actor, origin)
) WITHOUT ROWID;

-- When each old account's followers were read, and how many were listed
-- (-1: the collection hides its items, as Mastodon's "hide your social
-- graph" does). No row: still to read.
CREATE TABLE IF NOT EXISTS alias_reads (
	origin  TEXT    PRIMARY KEY,
	read_at INTEGER NOT NULL,
	listed  INTEGER NOT NULL
);
