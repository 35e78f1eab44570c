-- Threads: when the conversation around a post was last fetched from the
-- servers that hold it, so that a page shows the cached thread and fetches
-- it again only when it is stale.
CREATE TABLE thread_fetches (
	iri         TEXT    PRIMARY KEY, -- the post the thread was opened at
	fetched_at  INTEGER NOT NULL,
	posts       INTEGER NOT NULL DEFAULT 0 -- how many posts that fetch stored
) WITHOUT ROWID;
