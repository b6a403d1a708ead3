-- Claim (1) the task's own jobs (again, if this is a redelivery), (2) jobs this owner
-- claimed before its process died, (3) queued neighbours from the pending list, within
-- the limits. Every claimed id is recorded under the owner, so a redelivered task finds
-- them all, and leased until now + lease. A job already taken max attempts times is not
-- claimed but returned as poison (the caller fails it).
-- KEYS[1] pending list, KEYS[2] claims set of this owner, KEYS[3] leases zset
-- ARGV: owner, now, lease, max_jobs, max_rows, job key prefix, ttl, max attempts, node (the
-- claiming worker's name, kept in each job's `node`: which host ran it), then the task's job ids
-- Returns {claimed ids, poisoned ids, each claimed job's record as HGETALL gives it (in
-- the order of the ids)}: the task reads no record after claiming.
local owner, now, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local max_jobs, max_rows, prefix = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local max_attempts, node = tonumber(ARGV[8]), ARGV[9]
local taken, poisoned, seen, n, rows = {}, {}, {}, 0, 0
local function take(id, total, attempts)
  seen[id] = true
  if tonumber(attempts or '0') >= max_attempts then
    table.insert(poisoned, id)
    return
  end
  redis.call('HSETNX', prefix .. id, 'started_at', ARGV[2])
  redis.call('HSET', prefix .. id, 'status', 'running', 'owner', owner, 'claimed_at', ARGV[2],
    'node', node)
  redis.call('HINCRBY', prefix .. id, 'attempts', 1)
  redis.call('SADD', KEYS[2], id)
  redis.call('ZADD', KEYS[3], now + lease, id)
  n = n + 1
  taken[n] = id
  rows = rows + tonumber(total or '0')
end
local fields = {'status', 'owner', 'progress_total', 'attempts'}
for i = 10, #ARGV do
  local id = ARGV[i]
  local st = redis.call('HMGET', prefix .. id, unpack(fields))
  if not seen[id] and (st[1] == 'queued' or (st[1] == 'running' and (st[2] == owner
      or tonumber(redis.call('ZSCORE', KEYS[3], id) or '0') <= now))) then
    take(id, st[3], st[4])
  end
end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if not seen[id] then
    local st = redis.call('HMGET', prefix .. id, unpack(fields))
    if st[1] == 'running' and st[2] == owner then take(id, st[3], st[4]) end
  end
end
while n < max_jobs and rows < max_rows do
  local id = redis.call('LPOP', KEYS[1])
  if not id then break end
  local st = redis.call('HMGET', prefix .. id, unpack(fields))
  if st[1] == 'queued' and not seen[id] then
    if n > 0 and rows + tonumber(st[3] or '0') > max_rows then
      redis.call('LPUSH', KEYS[1], id)
      break
    end
    take(id, st[3], st[4])
  end
end
if n > 0 then redis.call('EXPIRE', KEYS[2], ARGV[7]) end
local records = {}
for i, id in ipairs(taken) do records[i] = redis.call('HGETALL', prefix .. id) end
return {taken, poisoned, records}
