-- The remote image cache (/proxy) is capped in size: housekeeping evicts
-- the least recently used images first. used_at is when an image was last
-- served (to the hour: see store.TouchRemoteMedia), size its length, kept
-- beside it so that the total and the eviction order are read from one
-- small covering index rather than from rows holding megabytes of blobs.
ALTER TABLE remote_media ADD COLUMN used_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE remote_media ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
UPDATE remote_media SET used_at = fetched_at, size = length(data);
CREATE INDEX remote_media_used ON remote_media (used_at, size);
-- Nothing reads the images by fetch date.
DROP INDEX remote_media_fetched;
