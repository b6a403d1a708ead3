-- Finish a job once: only a job that has not finished can finish. Its prediction-log
-- entries are appended by append_predictions (core.prediction_log, joined before this);
-- its tenant's quota shares end (quota.lua, joined too): its files keep `stored bytes`.
-- KEYS[1] job, KEYS[2] done channel, KEYS[3] prediction log, KEYS[4] log row counter,
-- KEYS[5] leases zset (a finished job holds no lease), KEYS[6] the result's own key ("":
-- the result goes into the job record; else the record says so in its field result_in_key)
-- Publishes the done message (see below) on KEYS[2].
-- Returns 0 if it had finished already, 2 if it finished and has a webhook to deliver, else 1
-- ARGV: status, now, result json ("" none), error json ("" none), ttl, log maxlen (rows),
-- job id, stored bytes, the tenant key prefix, the 4 quota key suffixes, then the log
-- entries as (rows, entry JSON) pairs
local st = redis.call('HMGET', KEYS[1], 'status', 'progress_total', 'tenant', 'callback_url', 'type')
local status = st[1]
if not status then return 0 end
if status == 'succeeded' or status == 'failed' or status == 'cancelled' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'finished_at', ARGV[2])
if ARGV[3] ~= '' and KEYS[6] ~= '' then
  redis.call('SET', KEYS[6], ARGV[3], 'EX', ARGV[5])
  redis.call('HSET', KEYS[1], 'result_in_key', '1')
elseif ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'result', ARGV[3])
end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[4]) end
if ARGV[1] == 'succeeded' then
  redis.call('HSET', KEYS[1], 'progress_done', st[2] or '0')
end
redis.call('HDEL', KEYS[1], 'params')
redis.call('ZREM', KEYS[5], ARGV[7])
redis.call('EXPIRE', KEYS[1], ARGV[5])
local tenant = st[3]
if tenant and tenant ~= '' then
  local stored = 0
  if ARGV[1] == 'succeeded' then stored = tonumber(ARGV[8]) end
  quota_end(quota_keys(tenant, 9), ARGV[7], stored, tonumber(ARGV[2]), tonumber(ARGV[5]),
    st[5] == 'batch')
end
append_predictions(KEYS[3], KEYS[4], tonumber(ARGV[6]), 14)
-- the done message: the job id, then (its result inline, so the whole record is small)
-- the finished record as a JSON array of fields and values: a long-poll answers from it
if KEYS[6] == '' then
  redis.call('PUBLISH', KEYS[2], ARGV[7] .. ' ' .. cjson.encode(redis.call('HGETALL', KEYS[1])))
else
  redis.call('PUBLISH', KEYS[2], ARGV[7])
end
if st[4] and st[4] ~= '' then return 2 end
return 1
