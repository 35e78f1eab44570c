-- Which HTTP signature scheme each host accepts, learnt by the deliverer's
-- "double knock": 'rfc9421' or 'cavage'; no row while not known.
CREATE TABLE IF NOT EXISTS host_signatures (
	host   TEXT PRIMARY KEY,
	scheme TEXT NOT NULL
) WITHOUT ROWID;
