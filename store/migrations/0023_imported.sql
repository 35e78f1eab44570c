-- What an import from another server's archive keeps beyond the post.
--
-- posts.imported_from is the old account a post was imported from
-- (@old@mastodon.social), '' for every other post: pages label imported
-- posts with it, and it is read with the post, without a join.
ALTER TABLE posts ADD COLUMN imported_from TEXT NOT NULL DEFAULT '';

-- Posts imported before this column existed name the old server.
UPDATE posts SET imported_from = (
	SELECT substr(rest, 1, instr(rest || '/', '/') - 1)
	FROM (SELECT substr(i.origin_iri, instr(i.origin_iri, '://') + 3) AS rest
		FROM imported_posts i WHERE i.post_id = posts.id))
WHERE id IN (SELECT post_id FROM imported_posts);

-- The focal point of an image (Mastodon's focalPoint: x and y from -1 to
-- 1, the centre 0, 0), which an imported post brings along and kith sends
-- on again; 0, 0 when none was given.
ALTER TABLE attachments ADD COLUMN focus_x REAL NOT NULL DEFAULT 0;
ALTER TABLE attachments ADD COLUMN focus_y REAL NOT NULL DEFAULT 0;
