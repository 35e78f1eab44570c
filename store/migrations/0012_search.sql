-- Search: a full-text index of every stored post, ours and remote, kept by
-- triggers, so that the owner's search box finds a word in any of them.
--
-- The index reads the posts table itself (external content): it keeps only
-- the index, not a second copy of the text. It indexes the stored HTML,
-- whose markup tokens (p, a, href) are words nobody searches for; the
-- page builds its highlighted excerpt from the text, not from the index.
-- (IF NOT EXISTS throughout: reading_test.go rolls the schema back to
-- version 5 and migrates again, over the objects of later migrations.)
CREATE VIRTUAL TABLE IF NOT EXISTS posts_fts USING fts5(
	title, summary, content_html,
	content = 'posts', content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER IF NOT EXISTS posts_fts_insert AFTER INSERT ON posts BEGIN
	INSERT INTO posts_fts (rowid, title, summary, content_html)
	VALUES (NEW.id, NEW.title, NEW.summary, NEW.content_html);
END;

CREATE TRIGGER IF NOT EXISTS posts_fts_delete AFTER DELETE ON posts BEGIN
	INSERT INTO posts_fts (posts_fts, rowid, title, summary, content_html)
	VALUES ('delete', OLD.id, OLD.title, OLD.summary, OLD.content_html);
END;

CREATE TRIGGER IF NOT EXISTS posts_fts_update AFTER UPDATE OF title, summary, content_html ON posts BEGIN
	INSERT INTO posts_fts (posts_fts, rowid, title, summary, content_html)
	VALUES ('delete', OLD.id, OLD.title, OLD.summary, OLD.content_html);
	INSERT INTO posts_fts (rowid, title, summary, content_html)
	VALUES (NEW.id, NEW.title, NEW.summary, NEW.content_html);
END;

-- Posts stored before this migration.
INSERT INTO posts_fts (posts_fts) VALUES ('rebuild');

-- Known accounts found by the start of their user name.
CREATE INDEX IF NOT EXISTS actors_username ON actors (username COLLATE NOCASE);
