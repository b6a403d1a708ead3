-- Read an API key's record by the hash of its secret and note when it was last used
-- (a revoked key's record is left as it is).
-- KEYS[1] the key's record; ARGV: now
-- Returns the record's field/value list (empty when there is no such key).
local raw = redis.call('HGETALL', KEYS[1])
if #raw == 0 then return raw end
if redis.call('HGET', KEYS[1], 'revoked') ~= '1' then
  redis.call('HSET', KEYS[1], 'last_used_at', ARGV[1])
end
return raw
