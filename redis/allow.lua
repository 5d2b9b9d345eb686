-- Exact GCRA for one key (see limit.go and doc.go). Lua numbers are doubles,
-- so every time is kept as a pair (seconds, nanoseconds 0..999999999): both
-- parts stay far below 2^53, and the pair arithmetic below is exact for any
-- time this limiter can meet.
--
-- KEYS[1]  the key; its value is the TAT in Unix nanoseconds, in decimal
-- ARGV     cost_s cost_ns slack_s slack_ns [now_s now_ns]
--          cost = n*T, slack = window - n*T; without now, Redis TIME is used
-- returns  {allowed (1 or 0), d_s, d_ns} where d = max(TAT, now) - now after
--          the decision
local B = 1000000000

local cost_s, cost_ns = tonumber(ARGV[1]), tonumber(ARGV[2])
local slack_s, slack_ns = tonumber(ARGV[3]), tonumber(ARGV[4])
local now_s, now_ns
if ARGV[5] then
  now_s, now_ns = tonumber(ARGV[5]), tonumber(ARGV[6])
else
  local t = redis.call('TIME')
  now_s, now_ns = tonumber(t[1]), tonumber(t[2]) * 1000
end

-- d = max(TAT, now) - now: split the stored decimal into its last nine
-- digits and the rest, so no string longer than ten digits is converted.
local d_s, d_ns = 0, 0
local v = redis.call('GET', KEYS[1])
if v then
  if not string.match(v, '^%d+$') or #v > 20 then
    return redis.error_reply('stored TAT is not a decimal: ' .. v)
  end
  local tat_s, tat_ns = 0, tonumber(string.sub(v, -9))
  if #v > 9 then
    tat_s = tonumber(string.sub(v, 1, -10))
  end
  d_s, d_ns = tat_s - now_s, tat_ns - now_ns
  if d_ns < 0 then
    d_s, d_ns = d_s - 1, d_ns + B
  end
  if d_s < 0 then
    d_s, d_ns = 0, 0
  end
end

-- Admit iff d + cost <= window, that is d <= slack.
if d_s > slack_s or (d_s == slack_s and d_ns > slack_ns) then
  return {0, d_s, d_ns}
end

d_s, d_ns = d_s + cost_s, d_ns + cost_ns
if d_ns >= B then
  d_s, d_ns = d_s + 1, d_ns - B
end
local tat_s, tat_ns = now_s + d_s, now_ns + d_ns
if tat_ns >= B then
  tat_s, tat_ns = tat_s + 1, tat_ns - B
end
local tat
if tat_s > 0 then
  tat = string.format('%.0f%09.0f', tat_s, tat_ns)
else
  tat = string.format('%.0f', tat_ns)
end
-- The key lives until its bucket is full again, rounded up to the
-- millisecond so it never vanishes early; d >= 1ns here, so ttl >= 1.
local ttl = d_s * 1000 + math.floor((d_ns + 999999) / 1000000)
redis.call('SET', KEYS[1], tat, 'PX', ttl)
return {1, d_s, d_ns}
