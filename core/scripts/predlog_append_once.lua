-- Append a task's entries to the prediction log once: only the call that sets the task's
-- marker (SET NX, expiring after `ttl` seconds) appends (append_entries, joined before this).
-- KEYS[1] log, KEYS[2] log row counter, KEYS[3] the task's marker
-- ARGV: maxlen (rows), ttl (seconds), then the entries as (rows, entry JSON) pairs
-- Returns 1 if it appended, 0 if the marker was set already (a redelivery)
if not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[2]) then return 0 end
append_entries(KEYS[1], KEYS[2], tonumber(ARGV[1]), argv_from(3))
return 1
