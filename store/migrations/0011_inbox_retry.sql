-- A received activity whose processing failed for a passing reason (the
-- database busy, a remote fetch that timed out) is tried again later:
-- next_attempt_at says when, in milliseconds; 0 means at once.
ALTER TABLE inbox ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
