-- The ACME account key and the certificates kith gets for itself (--acme),
-- kept in the database so that a backup holds them and a restored server
-- does not ask the CA again (Let's Encrypt limits how often it may).
-- (IF NOT EXISTS: reading_test.go rolls the schema back to version 5 and
-- migrates again, over the objects of later migrations.)
CREATE TABLE IF NOT EXISTS autocert (
	name       TEXT PRIMARY KEY, -- autocert's key: the domain, or the account's
	data       BLOB NOT NULL,
	updated_at INTEGER NOT NULL
);
