-- Take back the expired leases, at most `limit` of them: the sweeper's whole read. Reads
-- only members past their deadline (ZRANGEBYSCORE), so its cost grows with the expired
-- leases, never with the jobs. For each:
-- - its job has finished or expired: the member goes;
-- - a queued job or part (its message was lost, or is late): published again;
-- - a running job or part (its worker stopped renewing the lease: killed, lost): queued
--   again (the failure recorded for the poison message), and published again.
-- Each one re-published is leased again until now + queued lease x 2^n (n: times it was
-- re-published, the factor at most `max factor`), so a long queue is not flooded.
-- KEYS[1] leases zset
-- ARGV: now, limit, job key prefix, batch key prefix, parts hash suffix, queued lease,
-- max factor, the failure recorded for a lease that expired while running
-- Returns {kind, job id, part ("" for a job), was running (1/0)} per job or part to publish.
local now, queued = tonumber(ARGV[1]), tonumber(ARGV[6])
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local out = {}
local function rearm(key, field, member)
  local n = redis.call('HINCRBY', key, field, 1) - 1
  redis.call('ZADD', KEYS[1], now + queued * math.min(2 ^ n, tonumber(ARGV[7])), member)
end
for _, member in ipairs(expired) do
  local id, part = string.match(member, '^(.+)/(%d+)$')
  if not id then id = member end
  local job = ARGV[3] .. id
  local st = redis.call('HMGET', job, 'type', 'status')
  if part and st[2] == 'running' then
    local parts = ARGV[4] .. id .. ARGV[5]
    local was = redis.call('HGET', parts, part .. ':owner')
    if was then
      redis.call('HDEL', parts, part .. ':owner')
      redis.call('HSET', parts, part .. ':error', ARGV[8])
    end
    rearm(parts, part .. ':republished', member)
    table.insert(out, {'part', id, part, was and 1 or 0})
  elseif not part and (st[2] == 'queued' or st[2] == 'running') then
    if st[2] == 'running' then
      redis.call('HSET', job, 'status', 'queued', 'last_error', ARGV[8])
      redis.call('HDEL', job, 'owner')
    end
    rearm(job, 'republished', member)
    table.insert(out, {st[1], id, '', st[2] == 'running' and 1 or 0})
  else
    redis.call('ZREM', KEYS[1], member)
  end
end
return out
