-- Claim one job for an owner unless it has finished or a live owner holds it.
-- KEYS[1] job; ARGV: owner, now, lease
-- Returns claimed, busy, terminal or missing.
local st = redis.call('HMGET', KEYS[1], 'status', 'owner', 'claimed_at')
if not st[1] then return 'missing' end
local status, owner, claimed = st[1], st[2], tonumber(st[3] or '0')
if status == 'succeeded' or status == 'failed' or status == 'cancelled' then return 'terminal' end
if status == 'running' and owner ~= ARGV[1] and claimed + tonumber(ARGV[3]) > tonumber(ARGV[2]) then
  return 'busy'
end
if status == 'queued' then redis.call('HSET', KEYS[1], 'started_at', ARGV[2]) end
redis.call('HSET', KEYS[1], 'status', 'running', 'owner', ARGV[1], 'claimed_at', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return 'claimed'
