#!lua
-- The shebang flags the script (with no allow-oom): Redis refuses it whole while over maxmemory, before any write.
-- Unflagged, Redis checks memory only at a script's first write, and a first write that frees memory (the DEL of a
-- whole write) would let the writes after it through past maxmemory.
-- Saves one tenant's window atomically, only if the stored window is still the one the write was based on.
-- KEYS[1]: the window hash (version, meta, minute buckets); KEYS[2]: the tracked hash (domains, connectors);
-- KEYS[3]: the string of event fingerprints. All carry the tenant's hash tag, so this script is atomic on Redis
-- Cluster too.
-- ARGV: expected version, next version, ttl ms, #set pairs and #deletes for KEYS[1], then for KEYS[2]; the
-- fingerprints' change (keep, append or replace) and its bytes; 'whole' when the window is written whole (the
-- two hashes are emptied first) or 'changes'; then the fields.
local current = redis.call('HGET', KEYS[1], 'v') or '-'
if current ~= ARGV[1] then
  return 0
end
if ARGV[10] == 'whole' then
  redis.call('DEL', KEYS[1], KEYS[2])
end
local at = 11
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
if ARGV[8] == 'append' then
  redis.call('APPEND', KEYS[3], ARGV[9])
elseif ARGV[8] == 'replace' then
  if #ARGV[9] > 0 then
    redis.call('SET', KEYS[3], ARGV[9])
  else
    redis.call('DEL', KEYS[3])
  end
end
redis.call('HSET', KEYS[1], 'v', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
for key = 2, 3 do
  if redis.call('EXISTS', KEYS[key]) == 1 then
    redis.call('PEXPIRE', KEYS[key], ARGV[3])
  end
end
return 1
