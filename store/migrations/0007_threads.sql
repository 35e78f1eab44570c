-- Threads: when the conversation around a post was last fetched from the
-- servers that hold it, so that a page shows the cached thread and fetches
-- it again only when it is stale.
-- (IF NOT EXISTS: reading_test.go rolls the schema back to version 5 and
-- migrates again, over the tables of later migrations.)
CREATE TABLE IF NOT EXISTS thread_fetches (
	iri         TEXT    PRIMARY KEY, -- the post the thread was opened at
	fetched_at  INTEGER NOT NULL,
	posts       INTEGER NOT NULL DEFAULT 0 -- how many posts that fetch stored
) WITHOUT ROWID;
