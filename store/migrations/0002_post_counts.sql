-- Counts of our own posts per visibility, kept by triggers, so that the
-- profile page, the outbox and NodeInfo do not count the posts table on
-- every view (at 100,000 posts that scan dominated the page's cost).
CREATE TABLE local_post_counts (
	visibility TEXT    PRIMARY KEY,
	n          INTEGER NOT NULL
);

INSERT INTO local_post_counts (visibility, n)
	SELECT visibility, count(*) FROM posts
	WHERE local_id IS NOT NULL AND deleted_at IS NULL GROUP BY visibility;

-- A post counts when it is ours and not deleted.
CREATE TRIGGER local_post_counts_insert AFTER INSERT ON posts
WHEN NEW.local_id IS NOT NULL AND NEW.deleted_at IS NULL
BEGIN
	INSERT INTO local_post_counts (visibility, n) VALUES (NEW.visibility, 1)
	ON CONFLICT (visibility) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER local_post_counts_delete AFTER DELETE ON posts
WHEN OLD.local_id IS NOT NULL AND OLD.deleted_at IS NULL
BEGIN
	UPDATE local_post_counts SET n = n - 1 WHERE visibility = OLD.visibility;
END;

-- An update (including the update arm of an upsert) may change whether
-- and how a post counts: take the old row out, put the new one in.
CREATE TRIGGER local_post_counts_update_old AFTER UPDATE OF local_id, deleted_at, visibility ON posts
WHEN OLD.local_id IS NOT NULL AND OLD.deleted_at IS NULL
BEGIN
	UPDATE local_post_counts SET n = n - 1 WHERE visibility = OLD.visibility;
END;

CREATE TRIGGER local_post_counts_update_new AFTER UPDATE OF local_id, deleted_at, visibility ON posts
WHEN NEW.local_id IS NOT NULL AND NEW.deleted_at IS NULL
BEGIN
	INSERT INTO local_post_counts (visibility, n) VALUES (NEW.visibility, 1)
	ON CONFLICT (visibility) DO UPDATE SET n = n + 1;
END;
