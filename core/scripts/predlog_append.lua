-- append_predictions(log, counter, maxlen, first): append ARGV[first..] to the prediction
-- log, as (rows, entry JSON) pairs, one stream entry each, and count the rows in
-- `counter`; then drop the oldest entries while the log keeps at least `maxlen` rows
-- (so it holds from maxlen to maxlen + one entry's rows). Only the `rows` field of an
-- old entry is looked at, never its JSON.
local function append_predictions(log, counter, maxlen, first)
  if first > #ARGV then return end
  if redis.call('EXISTS', log) == 0 then redis.call('DEL', counter) end
  local added = 0
  for i = first, #ARGV, 2 do
    redis.call('XADD', log, '*', 'rows', ARGV[i], 'entry', ARGV[i + 1])
    added = added + tonumber(ARGV[i])
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
