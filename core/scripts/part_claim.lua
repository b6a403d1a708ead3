-- Claim one part of a running batch job for an owner (a part task), unless a live owner
-- holds its lease, or it has been taken max attempts times (poison: the caller fails the
-- job). Each claim counts an attempt and leases the part until now + lease.
-- KEYS[1] job, KEYS[2] the batch's parts hash, KEYS[3] leases zset
-- ARGV: part, owner, now, lease (s), max attempts, lease member, ttl, node (the claiming
-- worker's name, kept as `<part>:node` after the part is done: which host scored it)
-- Returns {claimed}, {stopped} (the job is not running: its lease ends), {busy}, or
-- {poison, attempts, last failure}.
local part, owner, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then
  redis.call('ZREM', KEYS[3], ARGV[6])
  return {'stopped'}
end
local st = redis.call('HMGET', KEYS[2], part .. ':owner', part .. ':attempts', part .. ':error')
if st[1] and st[1] ~= owner and tonumber(redis.call('ZSCORE', KEYS[3], ARGV[6]) or '0') > now then
  return {'busy'}
end
local attempts = tonumber(st[2] or '0')
if attempts >= tonumber(ARGV[5]) then return {'poison', attempts, st[3] or ''} end
redis.call('HSET', KEYS[2], part .. ':owner', owner, part .. ':node', ARGV[8])
redis.call('HINCRBY', KEYS[2], part .. ':attempts', 1)
redis.call('EXPIRE', KEYS[2], ARGV[7])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[6])
return {'claimed'}
