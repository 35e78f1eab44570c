-- Moving in and out of kith.
--
-- moves_in records each verified Move of one of the owner's old accounts
-- (an alias) to this one: for a while after it, the followers who come
-- over with a Follow are accepted even when the account is locked, as
-- they followed the owner already.
CREATE TABLE IF NOT EXISTS moves_in (
	origin   TEXT    PRIMARY KEY, -- the old account's actor IRI
	moved_at INTEGER NOT NULL
);

-- moved_out holds the account the owner moved to, shown as movedTo on the
-- actor document and on the profile. A table of its own rather than a
-- column of account, so the schema stays easy to roll back in tests.
CREATE TABLE IF NOT EXISTS moved_out (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	target   TEXT    NOT NULL, -- the new account's actor IRI
	moved_at INTEGER NOT NULL
);

-- Posts brought from another server's archive (kith import): the post
-- keeps the date it had there and is never delivered. origin_iri is its id
-- on the old server, so a second import of the same archive adds nothing.
CREATE TABLE IF NOT EXISTS imported_posts (
	post_id     INTEGER PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
	origin_iri  TEXT    NOT NULL UNIQUE,
	imported_at INTEGER NOT NULL
);
