-- Claim one job for an owner unless it has finished, a live owner holds its lease, or it
-- has been taken max attempts times already (poison: the caller fails it).
-- KEYS[1] job, KEYS[2] leases zset; ARGV: owner, now, lease (s), max attempts, job id,
-- node (the claiming worker's name, kept in `node`: which host ran it)
-- Returns claimed, busy, terminal, missing or poison.
local st = redis.call('HMGET', KEYS[1], 'status', 'owner', 'attempts')
if not st[1] then return 'missing' end
local status, now = st[1], tonumber(ARGV[2])
if status == 'succeeded' or status == 'failed' or status == 'cancelled' then return 'terminal' end
if status == 'running' and st[2] ~= ARGV[1]
    and tonumber(redis.call('ZSCORE', KEYS[2], ARGV[5]) or '0') > now then
  return 'busy'
end
if tonumber(st[3] or '0') >= tonumber(ARGV[4]) then return 'poison' end
redis.call('HSETNX', KEYS[1], 'started_at', ARGV[2])
redis.call('HSET', KEYS[1], 'status', 'running', 'owner', ARGV[1], 'claimed_at', ARGV[2],
  'node', ARGV[6])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[5])
return 'claimed'
