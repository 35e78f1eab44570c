-- Remote posts that were deleted, remembered for a while: deliveries are
-- retried for days and arrive in any order, so a Create may come after
-- its Delete, and must not bring the post back.
CREATE TABLE tombstones (
	iri        TEXT    PRIMARY KEY,
	deleted_at INTEGER NOT NULL
);

CREATE INDEX tombstones_deleted_at ON tombstones (deleted_at);
