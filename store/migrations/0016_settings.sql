-- Owner settings that are single switches, by name: 'authorized_fetch'
-- ('1' when ActivityPub documents need a signed GET).
CREATE TABLE IF NOT EXISTS settings (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;
