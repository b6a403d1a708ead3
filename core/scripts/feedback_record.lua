-- Join each (prediction_id, actual) to its indexed prediction (newest day first), if it
-- is the tenant's own (another tenant's prediction counts as unknown), and record the label
-- once (HSETNX in the day's label hash); a new label's outcome goes
-- onto the model version's capped list.
-- KEYS[1] versions set
-- ARGV: index key prefix, label key prefix, outcomes key prefix, retention, max labelled,
-- received_at, tenant, number of day buckets, the days (oldest first), then
-- prediction_id / actual pairs.
-- Returns {accepted, duplicate, unknown ids, model versions touched}.
local index_prefix, label_prefix, outcomes_prefix = ARGV[1], ARGV[2], ARGV[3]
local retention = tonumber(ARGV[4])
local max_labelled = tonumber(ARGV[5])
local received = tonumber(ARGV[6])
local tenant = ARGV[7]
local nb = tonumber(ARGV[8])
local first_day, first_pair = 9, 9 + nb
local accepted, duplicate = 0, 0
local unknown = {}
local versions = {}
for i = first_pair, #ARGV, 2 do
  local pid, actual = ARGV[i], ARGV[i + 1]
  local found, day = nil, nil
  for b = first_pair - 1, first_day, -1 do
    local v = redis.call('HGET', index_prefix .. ARGV[b], pid)
    if v then
      if cjson.decode(v)[5] == tenant then
        found = v
        day = ARGV[b]
      end
      break
    end
  end
  if not found then
    unknown[#unknown + 1] = pid
  else
    local label_key = label_prefix .. day
    if redis.call('HSETNX', label_key, pid, actual) == 1 then
      redis.call('EXPIREAT', label_key, (tonumber(day) + 1) * 86400 + retention)
      local version = cjson.decode(found)[1]
      local outcome = cjson.encode({pid, actual, received}) .. '\n' .. found
      local list = outcomes_prefix .. version
      redis.call('LPUSH', list, outcome)
      redis.call('LTRIM', list, 0, max_labelled - 1)
      redis.call('SADD', KEYS[1], version)
      versions[version] = true
      accepted = accepted + 1
    else
      duplicate = duplicate + 1
    end
  end
end
local touched = {}
for v, _ in pairs(versions) do touched[#touched + 1] = v end
return {accepted, duplicate, unknown, touched}
