-- The search index holds posts' text, not their HTML. Indexing
-- content_html made every tag and attribute a word: a search for "target",
-- "tag", "mention", "blank" or "href" found every post with a link or a
-- hashtag, and markup was a third of the index. kith_search_text (a Go
-- function the store gives every connection: sanitize.Excerpt uncut, the text the
-- search page shows) gives the index what a reader sees. The index keeps
-- reading its rows from posts through the view posts_search, which only
-- 'rebuild' reads; the triggers pass the text themselves, the old text
-- for FTS5's 'delete', so what is removed is what was added.
--
-- Writing a post now needs that function: the sqlite3 shell can read
-- this database but cannot insert into posts.
--
-- (IF EXISTS / IF NOT EXISTS throughout: reading_test.go rolls the schema
-- back and migrates again; the drop and the rebuild then run again.)
DROP TRIGGER IF EXISTS posts_fts_insert;
DROP TRIGGER IF EXISTS posts_fts_delete;
DROP TRIGGER IF EXISTS posts_fts_update;
DROP TABLE IF EXISTS posts_fts;

CREATE VIEW IF NOT EXISTS posts_search AS
	SELECT id, title, summary, kith_search_text(content_html) AS content_html FROM posts;

CREATE VIRTUAL TABLE posts_fts USING fts5(
	title, summary, content_html,
	content = 'posts_search', content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
	INSERT INTO posts_fts (rowid, title, summary, content_html)
	VALUES (NEW.id, NEW.title, NEW.summary, kith_search_text(NEW.content_html));
END;

CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
	INSERT INTO posts_fts (posts_fts, rowid, title, summary, content_html)
	VALUES ('delete', OLD.id, OLD.title, OLD.summary, kith_search_text(OLD.content_html));
END;

CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, summary, content_html ON posts BEGIN
	INSERT INTO posts_fts (posts_fts, rowid, title, summary, content_html)
	VALUES ('delete', OLD.id, OLD.title, OLD.summary, kith_search_text(OLD.content_html));
	INSERT INTO posts_fts (rowid, title, summary, content_html)
	VALUES (NEW.id, NEW.title, NEW.summary, kith_search_text(NEW.content_html));
END;

-- Every stored post, as text (about 4 s at 100,000 posts).
INSERT INTO posts_fts (posts_fts) VALUES ('rebuild');
