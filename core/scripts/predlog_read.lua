-- A chunk of the prediction log, newest first, as one flat array.
-- KEYS[1] log; ARGV: max id, min id, count
-- Returns {newest id read, oldest id read, entry JSON, ...} ({} when none).
local entries = redis.call('XREVRANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', tonumber(ARGV[3]))
if #entries == 0 then return {} end
local out = {entries[1][1], entries[#entries][1]}
for _, e in ipairs(entries) do
  local fields = e[2]
  for j = 1, #fields, 2 do
    if fields[j] == 'entry' then out[#out + 1] = fields[j + 1] end
  end
end
return out
