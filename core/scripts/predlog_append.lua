-- append_entries(log, counter, maxlen, pairs): append the (rows, entry JSON) pairs of the
-- table `pairs` (flat) to the prediction log, one stream entry each, and count the rows in
-- `counter`; then drop the oldest entries while the log keeps at least `maxlen` rows
-- (so it holds from maxlen to maxlen + one entry's rows). Only the `rows` field of an
-- old entry is looked at, never its JSON.
-- append_predictions(log, counter, maxlen, first): the same for ARGV[first..]
-- (argv_from(first): ARGV[first..] as a table).
local function append_entries(log, counter, maxlen, pairs)
  if #pairs == 0 then return end
  if redis.call('EXISTS', log) == 0 then redis.call('DEL', counter) end
  local added = 0
  for i = 1, #pairs, 2 do
    redis.call('XADD', log, '*', 'rows', pairs[i], 'entry', pairs[i + 1])
    added = added + tonumber(pairs[i])
  end
  local excess = redis.call('INCRBY', counter, added) - maxlen
  if excess <= 0 then return end
  local dropped, cut, start = 0, nil, '-'
  while not cut do
    local oldest = redis.call('XRANGE', log, start, '+', 'COUNT', 4)
    if #oldest == 0 then break end
    for _, e in ipairs(oldest) do
      local n = tonumber(e[2][2]) or 0
      if dropped + n > excess then
        cut = e[1]
        break
      end
      dropped = dropped + n
    end
    start = '(' .. oldest[#oldest][1]
  end
  if cut and dropped > 0 then
    redis.call('XTRIM', log, 'MINID', cut)
    redis.call('DECRBY', counter, dropped)
  end
end

local function argv_from(first)
  local out = {}
  for i = first, #ARGV do out[#out + 1] = ARGV[i] end
  return out
end

local function append_predictions(log, counter, maxlen, first)
  append_entries(log, counter, maxlen, argv_from(first))
end
