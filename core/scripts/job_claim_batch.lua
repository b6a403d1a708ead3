-- Claim (1) the task's own jobs (again, if this is a redelivery), (2) jobs this owner
-- claimed before its process died, (3) queued neighbours from the pending list, within
-- the limits. Every claimed id is recorded under the owner, so a redelivered task finds
-- them all.
-- KEYS[1] pending list, KEYS[2] claims set of this owner
-- ARGV: owner, now, lease, max_jobs, max_rows, job key prefix, ttl, then the task's job ids
local owner, now, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local max_jobs, max_rows, prefix = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local taken, seen, n, rows = {}, {}, 0, 0
local function take(id, total)
  redis.call('HSET', prefix .. id, 'status', 'running', 'owner', owner, 'claimed_at', ARGV[2])
  redis.call('HINCRBY', prefix .. id, 'attempts', 1)
  redis.call('SADD', KEYS[2], id)
  n = n + 1
  taken[n] = id
  seen[id] = true
  rows = rows + tonumber(total or '0')
end
for i = 8, #ARGV do
  local id = ARGV[i]
  local st = redis.call('HMGET', prefix .. id, 'status', 'owner', 'claimed_at', 'progress_total')
  if not seen[id] and st[1] == 'queued' then
    redis.call('HSET', prefix .. id, 'started_at', ARGV[2])
    take(id, st[4])
  elseif not seen[id] and st[1] == 'running'
      and (st[2] == owner or tonumber(st[3] or '0') + lease <= now) then
    take(id, st[4])
  end
end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if not seen[id] then
    local st = redis.call('HMGET', prefix .. id, 'status', 'owner', 'progress_total')
    if st[1] == 'running' and st[2] == owner then take(id, st[3]) end
  end
end
while n < max_jobs and rows < max_rows do
  local id = redis.call('LPOP', KEYS[1])
  if not id then break end
  local st = redis.call('HMGET', prefix .. id, 'status', 'progress_total')
  if st[1] == 'queued' and not seen[id] then
    if n > 0 and rows + tonumber(st[2] or '0') > max_rows then
      redis.call('LPUSH', KEYS[1], id)
      break
    end
    redis.call('HSET', prefix .. id, 'started_at', ARGV[2])
    take(id, st[2])
  end
end
if n > 0 then redis.call('EXPIRE', KEYS[2], ARGV[7]) end
return taken
