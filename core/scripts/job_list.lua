-- A page of an index of jobs (a sorted set of job ids by creation time), newest first,
-- reading only the summary fields of each job record, never its result or inputs.
-- Entries whose record has expired are skipped and removed from the index.
-- KEYS[1] the index
-- ARGV: job key prefix, cursor score ('+inf' for the first page), cursor id ('' none:
-- entries with the cursor's score and an id >= it were on an earlier page), limit,
-- most entries to look at (a filter may skip many), type ('' any), status ('' any),
-- then the summary field names, 'type' and 'status' first
-- Returns {next score, next id} ('' '' at the end of the index) followed by, per job,
-- its id then its field values (nil where absent).
local prefix, top, after = ARGV[1], ARGV[2], ARGV[3]
local top_score = tonumber(top)
local limit, cap = tonumber(ARGV[4]), tonumber(ARGV[5])
local want_type, want_status = ARGV[6], ARGV[7]
local fields = {}
for i = 8, #ARGV do fields[#fields + 1] = ARGV[i] end
local out, found, scanned, offset, gone = {'', ''}, 0, 0, 0, {}
local last_score, last_id, ended = nil, nil, false
while found < limit and scanned < cap do
  local want = math.min(cap - scanned, math.max(limit - found + 1, 16))
  local page = redis.call('ZRANGE', KEYS[1], top, '-inf', 'BYSCORE', 'REV',
    'LIMIT', offset, want, 'WITHSCORES')
  if #page == 0 then ended = true break end
  offset = offset + #page / 2
  local broke = false
  for i = 1, #page, 2 do
    local id, score = page[i], page[i + 1]
    if not (after ~= '' and tonumber(score) == top_score and id >= after) then
      scanned = scanned + 1
      last_score, last_id = score, id
      local row = redis.call('HMGET', prefix .. id, unpack(fields))
      if not row[1] then
        gone[#gone + 1] = id
      elseif (want_type == '' or row[1] == want_type)
          and (want_status == '' or row[2] == want_status) then
        out[#out + 1] = id
        for j = 1, #fields do out[#out + 1] = row[j] end
        found = found + 1
      end
      if found >= limit or scanned >= cap then
        broke = i < #page - 1
        break
      end
    end
  end
  if #page / 2 < want and not broke then
    ended = true
    break
  end
end
if #gone > 0 then redis.call('ZREM', KEYS[1], unpack(gone)) end
if last_id and not ended then out[1], out[2] = last_score, last_id end
return out
