-- The blocks page lists blocks and mutes newest first, a bounded number at
-- a time: a domain blocklist import may add thousands of rows.
CREATE INDEX IF NOT EXISTS blocks_created ON blocks (created_at);
CREATE INDEX IF NOT EXISTS mutes_created ON mutes (created_at);
