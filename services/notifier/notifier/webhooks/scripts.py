"""The Redis scripts that change webhook records atomically: the delivery log's (``deliveries``) and the
sequence both logs keep (``subscriptions``)."""

__all__ = ["AT_LEAST", "FAN_OUT", "MOVE"]

# A sequence that never goes back: set it to ARGV[1] unless it is past that already.
AT_LEAST = """
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"""

# KEYS: due, the sequence, the unpublished set, then per delivery its record and four indexes.
FAN_OUT = """
for i = 0, (#KEYS - 3) / 5 - 1 do
  local k = 3 + 5 * i
  local id, body = ARGV[4 + 2 * i], ARGV[5 + 2 * i]
  if redis.call('HSETNX', KEYS[k + 1], 'body', body) == 1 then
    local seq = redis.call('INCR', KEYS[2])
    redis.call('HSET', KEYS[k + 1], 'payload', ARGV[3], 'seq', seq, 'status', 'pending', 'attempts', 0,
               'failures', 0, 'created_at', ARGV[2], 'next_attempt_at', ARGV[2], 'rev', 1)
    for j = 2, 5 do redis.call('ZADD', KEYS[k + j], seq, id) end
    redis.call('ZADD', KEYS[1], ARGV[1], 'delivery:' .. id)
    redis.call('SADD', KEYS[3], 'delivery:' .. id)
  end
end
"""

# KEYS: record, attempts list, due, then the four status indexes of the subscription, then of all,
# then the job's lease, then the unpublished set. ARGV: id, new status, statuses it may move from (comma
# separated), due score or '', attempt or '', the lease token the move needs ('' for none), then
# field/value pairs to set.
MOVE = """
local order = {pending = 0, succeeded = 1, failed = 2, cancelled = 3}
local old = redis.call('HGET', KEYS[1], 'status')
if not old then return false end
if ARGV[6] ~= '' and redis.call('GET', KEYS[12]) ~= ARGV[6] then return 'stale' end
if not string.find(',' .. ARGV[3] .. ',', ',' .. old .. ',', 1, true) then return old end
local seq = redis.call('HGET', KEYS[1], 'seq')
if old ~= ARGV[2] then
  redis.call('ZREM', KEYS[4 + order[old]], ARGV[1])
  redis.call('ZREM', KEYS[8 + order[old]], ARGV[1])
  redis.call('ZADD', KEYS[4 + order[ARGV[2]]], seq, ARGV[1])
  redis.call('ZADD', KEYS[8 + order[ARGV[2]]], seq, ARGV[1])
end
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[3], ARGV[4], 'delivery:' .. ARGV[1])
else
  redis.call('ZREM', KEYS[3], 'delivery:' .. ARGV[1])
end
if ARGV[5] ~= '' then
  redis.call('RPUSH', KEYS[2], ARGV[5])
  redis.call('HINCRBY', KEYS[1], 'attempts', 1)
end
redis.call('DEL', KEYS[12])
redis.call('HSET', KEYS[1], 'status', ARGV[2], unpack(ARGV, 7))
redis.call('HINCRBY', KEYS[1], 'rev', 1)
redis.call('SADD', KEYS[13], 'delivery:' .. ARGV[1])
return 'ok'
"""
