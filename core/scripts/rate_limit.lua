-- Take one request from an API key's token bucket (GCRA: the generic cell rate algorithm).
-- KEYS[1] the key's bucket; ARGV: interval (microseconds one request refills), capacity
-- (requests the full bucket holds).
-- The key holds the time at which the bucket is full again, in microseconds of Redis's
-- clock (one clock for every web host); an absent key is a full bucket.
-- Returns {allowed (1/0), remaining requests, microseconds until full, microseconds until
-- the next request is allowed (0 when this one was)}. A refused request changes nothing.
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local full_at = tonumber(redis.call('GET', KEYS[1]) or '0')
if full_at < now then full_at = now end
local after = full_at + interval
if after - tolerance > now then
  return {0, 0, full_at - now, after - tolerance - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', math.ceil((after - now) / 1000))
return {1, math.floor((tolerance - (after - now)) / interval), after - now, 0}
