-- Write a queued job record (and reserve its idempotency key) in one step.
-- KEYS[1] job, KEYS[2] recent jobs zset, KEYS[3] idempotency key ("" if none),
-- KEYS[4] pending list ("" if none)
-- ARGV: ttl, created_at, job id, then field/value pairs
-- Returns the job id: the earlier job's when the idempotency key is taken.
if KEYS[3] ~= '' then
  local existing = redis.call('GET', KEYS[3])
  if existing then return existing end
  redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[1])
end
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[1]))
if KEYS[4] ~= '' then
  redis.call('RPUSH', KEYS[4], ARGV[3])
  redis.call('EXPIRE', KEYS[4], ARGV[1])
end
return ARGV[3]
