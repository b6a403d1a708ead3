-- Remove a job whose task could not be published, and give back its tenant's quota
-- shares (quota.lua, joined before this): no half-made job is left (its id may stay in
-- the tenant's recent jobs, where a missing record is skipped).
-- KEYS[1] job, KEYS[2] recent jobs zset, KEYS[3] pending list, KEYS[4] idempotency key
-- ("" if none), KEYS[5] leases zset
-- ARGV: job id, now, the tenant key prefix, the 4 quota key suffixes
local tenant = redis.call('HGET', KEYS[1], 'tenant')
if tenant and tenant ~= '' then
  quota_end(quota_keys(tenant, 3), ARGV[1], 0, tonumber(ARGV[2]), 0, true)
end
redis.call('DEL', KEYS[1])
if KEYS[4] ~= '' then redis.call('DEL', KEYS[4]) end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('LREM', KEYS[3], 0, ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
return 1
