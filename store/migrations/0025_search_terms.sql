-- The search index's words in order, as FTS5 stores them: store.SearchPosts
-- turns the last word the owner typed into the few indexed words it begins
-- (one seek each) and asks for those words by name. FTS5's own prefix query
-- ("deliv"*) first merges the whole doclist of every word it covers,
-- positions included, whatever the rowid bounds: at 100,000 posts that was
-- most of a search's time, and bm25 merged it a second time. The
-- "instance" kind yields a word's first occurrence at once; "row" would
-- count all of them first. A virtual table of the index: nothing is stored.
CREATE VIRTUAL TABLE IF NOT EXISTS posts_fts_terms USING fts5vocab(posts_fts, instance);
