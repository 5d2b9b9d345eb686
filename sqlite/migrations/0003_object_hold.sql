-- 0003: the ledger hold that pays for a pending upload ('' for objects that
-- predate credits or were never charged).
ALTER TABLE objects ADD COLUMN hold_id TEXT NOT NULL DEFAULT '';
