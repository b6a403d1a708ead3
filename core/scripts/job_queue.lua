-- Queue one task message for jobs just written by job_create.lua, only if every one of
-- them was: run after a round's job_create.lua calls, in the same pipeline
-- (web.publishing), so that a round costs one round trip.
-- KEYS: the jobs' record keys. ARGV: the message as Redis commands (command, key or
-- channel, payload; LPUSH and PUBLISH only: core.broker.captured_publishes).
-- Returns 1 when the message is queued, or 0 when a record is missing (a job refused or
-- replayed: its round then queues a message for the jobs written) and nothing was done.
for i = 1, #ARGV, 3 do
  if ARGV[i] ~= 'lpush' and ARGV[i] ~= 'publish' then
    return redis.error_reply('job_queue: a task message cannot ' .. ARGV[i])
  end
end
if redis.call('EXISTS', unpack(KEYS)) ~= #KEYS then return 0 end
for i = 1, #ARGV, 3 do redis.call(ARGV[i], ARGV[i + 1], ARGV[i + 2]) end
return 1
