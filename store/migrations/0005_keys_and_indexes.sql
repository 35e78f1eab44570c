-- Keys belong to their actor's host, one key to one actor; and indexes that
-- the hot queries can use (TestHotPathQueryPlans checks them).
--
-- A partial index serves only a query whose WHERE repeats the index's
-- condition (SQLite cannot know that a bound ? is not ''): queries on
-- key_id and in_reply_to say "AND key_id != ''" and "AND in_reply_to != ''".

-- A key stored with an actor on another host was a claim that should never
-- have been taken, and a key held by two actors cannot tell which one
-- signed. Forget such keys: the actor is fetched again, from the key's own
-- host, the next time its key is needed.
UPDATE actors SET key_id = '', public_key_pem = ''
WHERE key_id != '' AND NOT (
	substr(lower(key_id), 1, length(host) + 9) IN ('https://' || host || '/', 'https://' || host || '#')
	OR substr(lower(key_id), 1, length(host) + 8) IN ('http://' || host || '/', 'http://' || host || '#'));

UPDATE actors SET key_id = '', public_key_pem = ''
WHERE key_id IN (SELECT key_id FROM actors WHERE key_id != '' GROUP BY key_id HAVING count(*) > 1);

DROP INDEX actors_key_id;
CREATE UNIQUE INDEX actors_key_id ON actors (key_id) WHERE key_id != '';

-- Handles: hosts are stored lower-case, user names compared as WebFinger
-- does, ignoring case.
DROP INDEX actors_host;
CREATE INDEX actors_handle ON actors (host, username COLLATE NOCASE);

-- A 410 from an inbox removes the followers behind it.
CREATE INDEX actors_inbox ON actors (inbox);

-- Replies to a post, oldest first, for its page.
DROP INDEX posts_in_reply_to;
CREATE INDEX posts_in_reply_to ON posts (in_reply_to, published) WHERE in_reply_to != '';

-- The delivery queue leaves out unavailable hosts, a handful at most.
CREATE INDEX hosts_unavailable ON hosts (host) WHERE unavailable_since IS NOT NULL;
