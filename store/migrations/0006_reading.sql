-- Reading: the home timeline, boosts, likes, bookmarks, notifications,
-- mutes, polls, edit history, reports, and replies held for approval.
--
-- Every post and every boost has a string id (sid) in store.NewID's layout
-- that sorts by time: the page id, the timeline cursor and the client API's
-- status id. For our posts it is their local_id; for remote posts it is
-- made from their published time (never later than when they arrived).

ALTER TABLE posts ADD COLUMN sid TEXT;
-- quote_iri: the post this one quotes (FEP-044f quote, quoteUri, _misskey_quote).
ALTER TABLE posts ADD COLUMN quote_iri TEXT NOT NULL DEFAULT '';
-- approval: whether a remote reply to one of our posts is shown under it.
-- 'pending' waits for the owner, 'hidden' was hidden by the owner.
ALTER TABLE posts ADD COLUMN approval TEXT NOT NULL DEFAULT 'shown'
	CHECK (approval IN ('shown', 'pending', 'hidden'));

UPDATE posts SET sid = local_id WHERE local_id IS NOT NULL;
-- Remote posts already stored: the time part of the id (10 base-32 digits
-- of the published milliseconds, as store.NewID writes them) followed by
-- 16 hexadecimal digits, which are base-32 digits too.
UPDATE posts SET sid =
	substr('0123456789abcdefghjkmnpqrstvwxyz', ((published >> 45) & 7) + 1, 1) ||
	substr('0123456789abcdefghjkmnpqrstvwxyz', ((published >> 40) & 31) + 1, 1) ||
	substr('0123456789abcdefghjkmnpqrstvwxyz', ((published >> 35) & 31) + 1, 1) ||
	substr('0123456789abcdefghjkmnpqrstvwxyz', ((published >> 30) & 31) + 1, 1) ||
	substr('0123456789abcdefghjkmnpqrstvwxyz', ((published >> 25) & 31) + 1, 1) ||
	substr('0123456789abcdefghjkmnpqrstvwxyz', ((published >> 20) & 31) + 1, 1) ||
	substr('0123456789abcdefghjkmnpqrstvwxyz', ((published >> 15) & 31) + 1, 1) ||
	substr('0123456789abcdefghjkmnpqrstvwxyz', ((published >> 10) & 31) + 1, 1) ||
	substr('0123456789abcdefghjkmnpqrstvwxyz', ((published >> 5) & 31) + 1, 1) ||
	substr('0123456789abcdefghjkmnpqrstvwxyz', (published & 31) + 1, 1) ||
	lower(hex(randomblob(8)))
WHERE local_id IS NULL;

CREATE UNIQUE INDEX posts_sid ON posts (sid);
CREATE INDEX posts_author_sid ON posts (author_iri, sid);
CREATE INDEX posts_pending_replies ON posts (approval, sid) WHERE approval != 'shown';

-- Boosts (Announce), ours and those of accounts we follow or of our posts.
-- Each is a timeline entry of its own, like Mastodon's reblog statuses.
CREATE TABLE boosts (
	id          INTEGER PRIMARY KEY,
	sid         TEXT    NOT NULL UNIQUE,
	iri         TEXT    NOT NULL UNIQUE, -- the Announce
	actor_iri   TEXT    NOT NULL,        -- the booster
	post_id     INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
	visibility  TEXT    NOT NULL CHECK (visibility IN ('public', 'unlisted', 'followers', 'direct')),
	published   INTEGER NOT NULL,
	UNIQUE (post_id, actor_iri)
);
CREATE INDEX boosts_actor ON boosts (actor_iri, sid);

-- The owner's home timeline, newest first: posts and boosts of accounts
-- they follow, and their own. Rows are added when a post arrives, so that
-- reading a page is one index range whatever else is stored.
CREATE TABLE home (
	sid        TEXT    PRIMARY KEY, -- the post's or the boost's sid
	post_id    INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
	boost_id   INTEGER REFERENCES boosts(id) ON DELETE CASCADE,
	actor_iri  TEXT    NOT NULL -- who put it there: the author or the booster
) WITHOUT ROWID;
CREATE INDEX home_post ON home (post_id);
CREATE INDEX home_boost ON home (boost_id) WHERE boost_id IS NOT NULL;
CREATE INDEX home_actor ON home (actor_iri);

INSERT INTO home (sid, post_id, actor_iri)
	SELECT sid, id, author_iri FROM posts WHERE local_id IS NOT NULL AND deleted_at IS NULL;
INSERT INTO home (sid, post_id, actor_iri)
	SELECT p.sid, p.id, p.author_iri FROM posts p
	JOIN actors a ON a.iri = p.author_iri
	JOIN following f ON f.actor_id = a.id AND f.state = 'accepted'
	WHERE p.local_id IS NULL;

-- Our own posts join the home timeline when written and leave it when
-- deleted, whichever path wrote them.
CREATE TRIGGER home_local_insert AFTER INSERT ON posts
WHEN NEW.local_id IS NOT NULL AND NEW.deleted_at IS NULL
BEGIN
	INSERT INTO home (sid, post_id, actor_iri) VALUES (NEW.sid, NEW.id, NEW.author_iri)
	ON CONFLICT (sid) DO NOTHING;
END;

CREATE TRIGGER home_local_delete AFTER UPDATE OF deleted_at ON posts
WHEN NEW.local_id IS NOT NULL AND NEW.deleted_at IS NOT NULL
BEGIN
	DELETE FROM home WHERE post_id = NEW.id;
END;

-- Likes, ours and others' (Like, and Misskey's EmojiReact with its emoji).
CREATE TABLE likes (
	id          INTEGER PRIMARY KEY,
	sid         TEXT    NOT NULL UNIQUE, -- sorts by time: the favourites list's cursor
	iri         TEXT    NOT NULL UNIQUE, -- the Like
	actor_iri   TEXT    NOT NULL,
	post_id     INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
	emoji       TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	UNIQUE (post_id, actor_iri)
);
CREATE INDEX likes_actor ON likes (actor_iri, sid);

-- The owner's bookmarks.
CREATE TABLE bookmarks (
	sid         TEXT    PRIMARY KEY, -- sorts by time of bookmarking
	post_id     INTEGER NOT NULL UNIQUE REFERENCES posts(id) ON DELETE CASCADE,
	created_at  INTEGER NOT NULL
);

-- Muted accounts: hidden from the owner's timeline and notifications,
-- nothing is sent to them.
CREATE TABLE mutes (
	actor_iri     TEXT    PRIMARY KEY,
	notifications INTEGER NOT NULL DEFAULT 1, -- also hide their notifications
	expires_at    INTEGER, -- NULL: until lifted
	created_at    INTEGER NOT NULL
);

-- Why a block was made (a domain blocklist import keeps its comment).
ALTER TABLE blocks ADD COLUMN comment TEXT NOT NULL DEFAULT '';

-- Notifications for the owner, with Mastodon's type names where one exists
-- (mention, status, reblog, favourite, follow, follow_request, poll,
-- update, admin.report, quote; 'move' as Pleroma names it).
CREATE TABLE notifications (
	id          TEXT    PRIMARY KEY, -- store.NewID: sorts by time
	type        TEXT    NOT NULL,
	actor_iri   TEXT    NOT NULL,
	post_id     INTEGER REFERENCES posts(id) ON DELETE CASCADE,
	emoji       TEXT    NOT NULL DEFAULT '', -- a favourite's reaction
	target      TEXT    NOT NULL DEFAULT '', -- a move's new account, a report's id
	created_at  INTEGER NOT NULL
);
CREATE INDEX notifications_post ON notifications (post_id) WHERE post_id IS NOT NULL;
CREATE INDEX notifications_actor ON notifications (actor_iri);

-- How far the owner has read a timeline ('home', 'notifications'), as
-- Mastodon's markers keep it.
CREATE TABLE markers (
	timeline      TEXT    PRIMARY KEY,
	last_read_id  TEXT    NOT NULL,
	updated_at    INTEGER NOT NULL
);

-- Earlier versions of edited remote posts, oldest first.
CREATE TABLE post_edits (
	id           INTEGER PRIMARY KEY,
	post_id      INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
	title        TEXT    NOT NULL,
	summary      TEXT    NOT NULL,
	sensitive    INTEGER NOT NULL,
	content_html TEXT    NOT NULL,
	attachments  TEXT    NOT NULL DEFAULT '[]', -- JSON of the version's attachments
	poll_options TEXT    NOT NULL DEFAULT '[]', -- JSON array of option titles
	created_at   INTEGER NOT NULL -- when this version was written (published or updated)
);
CREATE INDEX post_edits_post ON post_edits (post_id, id);

-- Polls (Question) and their options; own_vote marks the owner's choices.
CREATE TABLE polls (
	post_id      INTEGER PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
	multiple     INTEGER NOT NULL DEFAULT 0,
	expires_at   INTEGER,
	closed_at    INTEGER,
	voters_count INTEGER, -- NULL when the server does not say
	voted_at     INTEGER, -- when the owner voted
	updated_at   INTEGER NOT NULL
);

CREATE TABLE poll_options (
	post_id   INTEGER NOT NULL REFERENCES polls(post_id) ON DELETE CASCADE,
	position  INTEGER NOT NULL,
	title     TEXT    NOT NULL,
	votes     INTEGER NOT NULL DEFAULT 0,
	own_vote  INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (post_id, position)
) WITHOUT ROWID;

-- Reports (Flag) received from other servers.
CREATE TABLE reports (
	id          TEXT    PRIMARY KEY, -- store.NewID
	iri         TEXT    NOT NULL UNIQUE,
	actor_iri   TEXT    NOT NULL, -- who reported (often an instance actor)
	content     TEXT    NOT NULL DEFAULT '', -- plain text
	objects     TEXT    NOT NULL DEFAULT '[]', -- JSON array of the reported IRIs
	created_at  INTEGER NOT NULL
);

-- What the owner knows of a remote account beyond its actor document:
-- the counts its collections announce, read when the profile is shown.
CREATE TABLE actor_stats (
	actor_id        INTEGER PRIMARY KEY REFERENCES actors(id) ON DELETE CASCADE,
	followers_count INTEGER,
	following_count INTEGER,
	statuses_count  INTEGER,
	fetched_at      INTEGER NOT NULL
);

-- Who may appear under the owner's posts: 'everyone', 'known' (accounts
-- the owner follows or that follow the owner; others wait for approval),
-- 'following' (accounts the owner follows; others wait), 'nobody'.
ALTER TABLE account ADD COLUMN reply_policy TEXT NOT NULL DEFAULT 'known'
	CHECK (reply_policy IN ('everyone', 'known', 'following', 'nobody'));

-- Remote images shown on public pages, fetched once and served from here
-- so that visitors' addresses never reach other servers.
CREATE TABLE remote_media (
	url         TEXT    PRIMARY KEY,
	media_type  TEXT    NOT NULL,
	data        BLOB    NOT NULL,
	fetched_at  INTEGER NOT NULL
);
CREATE INDEX remote_media_fetched ON remote_media (fetched_at);
