-- Bounded storage: old remote posts the owner never touched are pruned in
-- small batches. These indexes let a batch find them, and the cached media
-- only they used, without reading whole tables; prune_runs keeps what was
-- pruned and when, for the status page.
-- (IF NOT EXISTS: reading_test.go migrates again over later migrations.)
CREATE INDEX IF NOT EXISTS posts_remote_published ON posts (published) WHERE local_id IS NULL;
CREATE INDEX IF NOT EXISTS posts_quote ON posts (quote_iri) WHERE quote_iri != '';
CREATE INDEX IF NOT EXISTS attachments_url ON attachments (url) WHERE url != '';

CREATE TABLE IF NOT EXISTS prune_runs (
	id       INTEGER PRIMARY KEY,
	at       INTEGER NOT NULL,
	cutoff   INTEGER NOT NULL, -- posts published before it were candidates
	posts    INTEGER NOT NULL,
	media    INTEGER NOT NULL
);
