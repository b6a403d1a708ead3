-- A part task lets go of its part, if it still owns it: `done` (its lease ends),
-- `retry` (it failed without finishing, e.g. killed at its hard time limit: queued again
-- with the failure recorded; the attempt counts) or `handback` (its worker is stopping:
-- queued again, the attempt does not count).
-- KEYS[1] leases zset, KEYS[2] the batch's parts hash
-- ARGV: lease member, part, owner, how, queued deadline, failure ("" none)
-- Returns 1 if released, 0 if another owner holds the part.
local part = ARGV[2]
if redis.call('HGET', KEYS[2], part .. ':owner') ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[2], part .. ':owner')
if ARGV[4] == 'done' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
if ARGV[4] == 'handback' then redis.call('HINCRBY', KEYS[2], part .. ':attempts', -1) end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[2], part .. ':error', ARGV[6]) end
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
return 1
