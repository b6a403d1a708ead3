-- Record one webhook delivery attempt on a finished job's record (never re-creating an
-- expired one: its TTL stays as finishing set it).
-- KEYS[1] job
-- ARGV: the answer's HTTP status ("" when none came), delivered at ("" unless delivered)
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local attempts = redis.call('HINCRBY', KEYS[1], 'webhook_attempts', 1)
redis.call('HSET', KEYS[1], 'webhook_last_status', ARGV[1])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'webhook_delivered_at', ARGV[2]) end
return attempts
