-- 0006: pinned storage is charged per GiB-day (see pin.go in the root).
-- pin_since is where an active pin accrues from (NULL unless the object is
-- ready, pinned and not suspended); pins that exist already accrue from now.
ALTER TABLE objects ADD COLUMN pin_since INTEGER;
ALTER TABLE objects ADD COLUMN pin_suspended_at INTEGER;
UPDATE objects SET pin_since = CAST(unixepoch('subsec') * 1000000 AS INTEGER) WHERE pinned = 1 AND state = 'ready';
CREATE INDEX objects_pins ON objects (account_id, pin_since) WHERE pin_since IS NOT NULL;

-- What ended pins accrued and is not charged yet (mediagate.PinUsage), and
-- the time the account was last charged up to.
CREATE TABLE pin_meters (
	account_id TEXT PRIMARY KEY REFERENCES accounts (id),
	gib_us     INTEGER NOT NULL DEFAULT 0,
	byte_us    INTEGER NOT NULL DEFAULT 0 CHECK (byte_us >= 0),
	charged_to INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
