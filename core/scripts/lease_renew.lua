-- A heartbeat: push a running job's (or batch part's) lease to a new deadline, while its
-- job runs and the caller still owns it. A lease the sweeper has taken back (its owner
-- cleared) or that has ended (member removed) is left alone.
-- KEYS[1] leases zset, KEYS[2] job, KEYS[3] the batch's parts hash ("" for a job lease)
-- ARGV: member, deadline, owner, part ("" for a job lease)
-- Returns 1 if renewed, else 0.
if redis.call('HGET', KEYS[2], 'status') ~= 'running' then return 0 end
local owner
if ARGV[4] == '' then
  owner = redis.call('HGET', KEYS[2], 'owner')
else
  owner = redis.call('HGET', KEYS[3], ARGV[4] .. ':owner')
end
if owner ~= ARGV[3] then return 0 end
return redis.call('ZADD', KEYS[1], 'XX', 'CH', ARGV[2], ARGV[1])
