-- 0005: an optional rate limit per API key, overriding the server's
-- per-credential defaults. rate_limit_rate = 0 means none.
ALTER TABLE api_keys ADD COLUMN rate_limit_rate INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN rate_limit_period INTEGER NOT NULL DEFAULT 0; -- nanoseconds
ALTER TABLE api_keys ADD COLUMN rate_limit_burst INTEGER NOT NULL DEFAULT 0;
