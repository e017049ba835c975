-- Saves one tenant's window atomically, only if the stored window is still the one the write was based on.
-- KEYS[1]: the window hash (version, meta, minute buckets); KEYS[2]: the tracked hash (domains, connectors).
-- Both carry the tenant's hash tag, so this script is atomic on Redis Cluster too.
-- ARGV: expected version, next version, ttl ms, #set pairs and #deletes for KEYS[1], then for KEYS[2],
-- followed by those fields.
local current = redis.call('HGET', KEYS[1], 'v') or '-'
if current ~= ARGV[1] then
  return 0
end
local at = 8
local function apply(key, pairs, deletes)
  if pairs > 0 then
    redis.call('HSET', key, unpack(ARGV, at, at + pairs * 2 - 1))
    at = at + pairs * 2
  end
  if deletes > 0 then
    redis.call('HDEL', key, unpack(ARGV, at, at + deletes - 1))
    at = at + deletes
  end
end
apply(KEYS[1], tonumber(ARGV[4]), tonumber(ARGV[5]))
apply(KEYS[2], tonumber(ARGV[6]), tonumber(ARGV[7]))
redis.call('HSET', KEYS[1], 'v', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return 1
