-- Progress only moves while the job runs.
-- KEYS[1] job; ARGV: done, total
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'progress_done', ARGV[1], 'progress_total', ARGV[2])
return 1
