-- Web Push (RFC 8030): the client API's push subscriptions, one per access
-- token as in Mastodon, what is waiting to be pushed, and the server's
-- VAPID key (RFC 8292), made once.
CREATE TABLE push_subscriptions (
	token_hash  TEXT    PRIMARY KEY REFERENCES access_tokens(token_hash) ON DELETE CASCADE,
	id          INTEGER NOT NULL UNIQUE,
	endpoint    TEXT    NOT NULL,
	p256dh      TEXT    NOT NULL, -- the subscriber's public key, base64url
	auth        TEXT    NOT NULL, -- its authentication secret, base64url
	alerts      TEXT    NOT NULL, -- JSON object: notification type -> bool
	policy      TEXT    NOT NULL, -- all, followed, follower or none
	created_at  INTEGER NOT NULL
);

-- A notification to push to a subscription; Notify adds one per
-- subscription in its own transaction, so none is lost to a crash.
CREATE TABLE push_deliveries (
	id              INTEGER PRIMARY KEY,
	token_hash      TEXT    NOT NULL REFERENCES push_subscriptions(token_hash) ON DELETE CASCADE,
	notification_id TEXT    NOT NULL,
	tries           INTEGER NOT NULL DEFAULT 0,
	next_at         INTEGER NOT NULL,
	UNIQUE (token_hash, notification_id)
);
CREATE INDEX push_deliveries_due ON push_deliveries (next_at);

CREATE TABLE vapid_key (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	private_key BLOB    NOT NULL -- PKCS #8
);
