-- Take up to `want` requests from an API key's token bucket (GCRA: the generic cell rate
-- algorithm, a token bucket kept as one timestamp).
-- KEYS[1] the key's bucket; ARGV: interval (microseconds one request refills), capacity
-- (requests the full bucket holds), want (requests to take, at least 1).
-- The key holds the time at which the bucket is full again, in microseconds of Redis's
-- clock (one clock for every web host); an absent key is a full bucket.
-- Returns {requests taken (0: refused), requests left, microseconds until full,
-- microseconds until one request is allowed (0 unless refused)}. A refusal changes nothing.
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local full_at = tonumber(redis.call('GET', KEYS[1]) or '0')
if full_at < now then full_at = now end
local held = math.floor((tolerance - (full_at - now)) / interval)
if held < 1 then
  return {0, 0, full_at - now, full_at + interval - tolerance - now}
end
local taken = math.min(tonumber(ARGV[3]), held)
local after = full_at + taken * interval
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', math.ceil((after - now) / 1000))
return {taken, held - taken, after - now, 0}
