-- Per-tenant quota shares: functions joined before the job scripts that take or release
-- them (core/jobs/base.py). A tenant's quota keys q (core.keys.TENANT_QUOTA_PARTS):
-- q[1] active jobs and q[2] active batches (sorted sets: job id -> when the share lapses,
-- the moment an unfinished job's record expires), q[3] jobs with stored files (job id ->
-- when they expire), q[4] their bytes (a hash: job id -> bytes, and the field '#total').
-- A share ends when its job finishes (or is discarded) or, failing that, when it lapses:
-- no share outlives its job.

-- quota_keys(tenant, at): q from ARGV[at] (the tenant key prefix) and ARGV[at+1..at+4]
-- (the suffixes)
local function quota_keys(tenant, at)
  local q = {}
  for i = 1, 4 do q[i] = ARGV[at] .. tenant .. ARGV[at + i] end
  return q
end

-- quota_count(key, limit, now): the shares in `key`, its lapsed ones dropped first if the
-- count reaches `limit` (only then can they matter; they stay fewer than the limit)
local function quota_count(key, limit, now)
  local n = redis.call('ZCARD', key)
  if n >= limit then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    n = redis.call('ZCARD', key)
  end
  return n
end

-- quota_prune_files(q, now): drop the stored bytes of files whose share has lapsed
local function quota_prune_files(q, now)
  local gone = redis.call('ZRANGEBYSCORE', q[3], '-inf', now)
  for _, id in ipairs(gone) do
    local b = tonumber(redis.call('HGET', q[4], id) or '0')
    redis.call('HDEL', q[4], id)
    redis.call('HINCRBY', q[4], '#total', -b)
  end
  if #gone > 0 then redis.call('ZREMRANGEBYSCORE', q[3], '-inf', now) end
end

-- quota_keep(key, ttl): a quota key lives as long as its latest share (now + ttl)
local function quota_keep(key, ttl)
  redis.call('EXPIRE', key, math.ceil(ttl) + 1)
end

-- quota_stored(q, id, bytes, now, ttl): the job's files now hold `bytes` until now + ttl
local function quota_stored(q, id, bytes, now, ttl)
  local before = tonumber(redis.call('HGET', q[4], id) or '0')
  if bytes == 0 and before == 0 then return end  -- no files then or now (every prediction)
  if bytes > 0 then
    redis.call('HSET', q[4], id, bytes)
    redis.call('ZADD', q[3], now + ttl, id)
  else
    redis.call('HDEL', q[4], id)
    redis.call('ZREM', q[3], id)
  end
  if bytes ~= before then redis.call('HINCRBY', q[4], '#total', bytes - before) end
  if bytes > 0 then
    quota_keep(q[3], ttl)
    quota_keep(q[4], ttl)
  end
end

-- quota_take(q, id, is_batch, bytes, limits, now, ttl): take the job's shares (until
-- now + ttl), or return {limit name, limit, in use} and take nothing; limits =
-- {max active jobs, max active batches, max stored bytes}
local function quota_take(q, id, is_batch, bytes, limits, now, ttl)
  quota_prune_files(q, now)
  local jobs = quota_count(q[1], limits[1], now)
  if jobs >= limits[1] then return {'active_jobs', limits[1], jobs} end
  if is_batch then
    local batches = quota_count(q[2], limits[2], now)
    if batches >= limits[2] then return {'active_batches', limits[2], batches} end
  end
  if bytes > 0 then
    local used = tonumber(redis.call('HGET', q[4], '#total') or '0')
    if used + bytes > limits[3] then return {'stored_bytes', limits[3], used} end
  end
  redis.call('ZADD', q[1], now + ttl, id)
  quota_keep(q[1], ttl)
  if is_batch then
    redis.call('ZADD', q[2], now + ttl, id)
    quota_keep(q[2], ttl)
  end
  quota_stored(q, id, bytes, now, ttl)
  return nil
end

-- quota_end(q, id, bytes, now, ttl, is_batch): the job has ended; its files (if any) keep
-- `bytes`; only a batch holds a share of active batches
local function quota_end(q, id, bytes, now, ttl, is_batch)
  redis.call('ZREM', q[1], id)
  if is_batch then redis.call('ZREM', q[2], id) end
  quota_stored(q, id, bytes, now, ttl)
end
