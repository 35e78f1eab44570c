-- Polls of the owner's that hide their counts until they end (Mastodon's
-- poll[hide_totals]).
ALTER TABLE polls ADD COLUMN hide_totals INTEGER NOT NULL DEFAULT 0;
