-- 0011: an account's active holds, newest first (Ledger.ActiveHolds). Only
-- active holds are in it, like holds_expiry: settling or releasing a hold
-- takes it out, and a charge, which has no holds row, costs it nothing.
CREATE INDEX holds_account ON holds (account_id, created_at DESC, id DESC) WHERE state = 'active';
