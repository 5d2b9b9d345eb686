-- 0004: pinned storage is charged per GiB-day (see pin.go in the root).
-- pin_since is where an active pin accrues from (NULL unless the object is
-- ready, pinned and not suspended); pins that exist already accrue from now.
ALTER TABLE objects ADD COLUMN pin_since timestamptz;
ALTER TABLE objects ADD COLUMN pin_suspended_at timestamptz;
UPDATE objects SET pin_since = date_trunc('microseconds', now()) WHERE pinned AND state = 'ready';
CREATE INDEX objects_pins ON objects (account_id, pin_since) WHERE pin_since IS NOT NULL;

-- What ended pins accrued and is not charged yet (mediagate.PinUsage), and
-- the time the account was last charged up to (NULL: never). The row is
-- also the lock of the account's meter: whoever adds to it or empties it
-- holds it FOR UPDATE, after the object rows it meters.
CREATE TABLE pin_meters (
	account_id text COLLATE "C" PRIMARY KEY REFERENCES accounts (id),
	gib_us     bigint NOT NULL DEFAULT 0,
	byte_us    bigint NOT NULL DEFAULT 0 CHECK (byte_us >= 0),
	charged_to timestamptz
);
