-- Index the prediction log by prediction id, from a cursor (the last entry indexed):
-- every prediction of an entry gets prediction_id -> [model_version, prediction,
-- probabilities, ts, tenant] in the hash of the entry's UTC day, which expires `retention`
-- after that day ends. Stops after the entry that reaches the row budget.
-- KEYS[1] log, KEYS[2] cursor; ARGV: row budget, index key prefix, retention seconds
-- Returns {entries read, 1 if entries are left to index else 0}.
local budget, prefix, retention = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local cursor = redis.call('GET', KEYS[2])
local start = '-'
if cursor then start = '(' .. cursor end
local read, rows, last, more = 0, 0, nil, 0
while rows < budget do
  local entries = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', 32)
  for _, e in ipairs(entries) do
    if rows >= budget then
      more = 1
      break
    end
    local fields, raw = e[2], nil
    for j = 1, #fields, 2 do
      if fields[j] == 'entry' then raw = fields[j + 1] end
    end
    local ok, obj = pcall(cjson.decode, raw or '')
    if ok and type(obj) == 'table' and obj.shadow == true then
      -- a shadow version's outputs: feedback joins the primary prediction of the same id
    elseif ok and type(obj) == 'table' and type(obj.job_id) == 'string'
        and type(obj.numbers) == 'table' then
      local day = math.floor(tonumber(string.match(e[1], '^(%d+)')) / 1000 / 86400)
      local key = prefix .. day
      local labels = {}
      for label, _ in pairs(obj.probabilities) do labels[#labels + 1] = label end
      local pairs_ = {}
      for i, n in ipairs(obj.numbers) do
        local p = {}
        for _, label in ipairs(labels) do p[label] = obj.probabilities[label][i] end
        pairs_[#pairs_ + 1] = obj.job_id .. '-' .. n
        pairs_[#pairs_ + 1] = cjson.encode(
          {obj.model_version, obj.prediction[i], p, obj.ts, obj.tenant or ''})
        if #pairs_ >= 1000 then
          redis.call('HSET', key, unpack(pairs_))
          pairs_ = {}
        end
      end
      if #pairs_ > 0 then redis.call('HSET', key, unpack(pairs_)) end
      redis.call('EXPIREAT', key, (day + 1) * 86400 + retention)
      rows = rows + #obj.numbers
    elseif ok and type(obj) == 'table' and type(obj.prediction_id) == 'string' then
      -- an entry of one prediction, as logged before entries held several (and before
      -- tenants: no tenant can give it feedback)
      local day = math.floor(tonumber(string.match(e[1], '^(%d+)')) / 1000 / 86400)
      local key = prefix .. day
      local value = cjson.encode(
        {obj.model_version, obj.prediction, obj.probabilities, obj.ts, obj.tenant or ''})
      redis.call('HSET', key, obj.prediction_id, value)
      redis.call('EXPIREAT', key, (day + 1) * 86400 + retention)
      rows = rows + 1
    end
    read = read + 1
    last = e[1]
  end
  if #entries < 32 or more == 1 then break end
  start = '(' .. entries[#entries][1]
end
if last then redis.call('SET', KEYS[2], last) end
if rows >= budget then more = 1 end
return {read, more}
