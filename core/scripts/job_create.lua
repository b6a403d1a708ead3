-- Write a queued job record (and reserve its idempotency key) in one step, taking the
-- tenant's quota shares (quota.lua, joined before this): refused, nothing is written.
-- KEYS[1] job, KEYS[2] recent jobs zset, KEYS[3] idempotency key ("" if none),
-- KEYS[4] pending list ("" if none), KEYS[5] the tenant's recent jobs zset ("" if no
-- tenant), KEYS[6..9] the tenant's quota keys, KEYS[10] the leases zset
-- ARGV: ttl, created_at, job id, 1 if a batch else 0, stored bytes, max active jobs,
-- max active batches, max stored bytes, seconds the recent-jobs indexes keep an entry (the
-- longest any job type may live: not this job's ttl), the queued lease (s: a job not
-- taken by a worker by then is published again by the sweeper), the number n of field and
-- value arguments, those n, then the job's task message as Redis commands (command, key or
-- channel, payload; LPUSH and PUBLISH only: core.broker.captured_publishes), run once the
-- record is written, so the message is queued in the same step or not at all
-- Returns {'created', job id}, {'exists', the earlier job's id} when the idempotency key
-- is taken, or {'quota', limit name, limit, in use}.
local ttl, now, id = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local keep, lease, nfields = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local message_from = 12 + nfields
for i = message_from, #ARGV, 3 do  -- checked before anything is written
  if ARGV[i] ~= 'lpush' and ARGV[i] ~= 'publish' then
    return redis.error_reply('job_create: a task message cannot ' .. ARGV[i])
  end
end
if KEYS[3] ~= '' then
  local existing = redis.call('GET', KEYS[3])
  if existing then return {'exists', existing} end
end
if KEYS[5] ~= '' then
  local q = {KEYS[6], KEYS[7], KEYS[8], KEYS[9]}
  local limits = {tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])}
  local refused = quota_take(q, id, ARGV[4] == '1', tonumber(ARGV[5]), limits, now, ttl)
  if refused then return {'quota', refused[1], refused[2], refused[3]} end
  redis.call('ZADD', KEYS[5], now, id)
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - keep)
  redis.call('EXPIRE', KEYS[5], keep)
end
if KEYS[3] ~= '' then redis.call('SET', KEYS[3], id, 'EX', ttl) end
redis.call('HSET', KEYS[1], unpack(ARGV, 12, 11 + nfields))
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], now, id)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - keep)
if KEYS[4] ~= '' then
  redis.call('RPUSH', KEYS[4], id)
  redis.call('EXPIRE', KEYS[4], ttl)
end
redis.call('ZADD', KEYS[10], now + lease, id)
for i = message_from, #ARGV, 3 do redis.call(ARGV[i], ARGV[i + 1], ARGV[i + 2]) end
return {'created', id}
