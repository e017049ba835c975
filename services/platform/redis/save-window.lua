#!lua
-- The shebang flags the script (with no allow-oom): Redis refuses it whole while over maxmemory, before any write.
-- Unflagged, Redis checks memory only at a script's first write, and a first write that frees memory (the DEL of a
-- whole write) would let the writes after it through past maxmemory.
-- Saves one tenant's window atomically, only if the stored window is still the one the write was based on.
-- KEYS[1]: the window hash (version, meta, minute buckets); KEYS[2]: the tracked hash (domains, connectors);
-- KEYS[3]: the string of event fingerprints. All carry the tenant's hash tag, so this script is atomic on Redis
-- Cluster too.
-- ARGV: expected version, next version, ttl ms, then the write packed in one string (window-encoding.ts,
-- packWrite): 1 when the window is written whole (the two hashes are emptied first), the fingerprints' change
-- (0 keep, 1 append, 2 replace), #set pairs and #deletes for KEYS[1], then for KEYS[2], the fingerprint bytes,
-- then the fields, each after its length.
local current = redis.call('HGET', KEYS[1], 'v') or '-'
if current ~= ARGV[1] then
  return 0
end
local write = ARGV[4]
local whole, seenMode, mainSets, mainDels, trackedSets, trackedDels, seen, at =
  struct.unpack('>BBI4I4I4I4I4c0', write)
if whole == 1 then
  redis.call('DEL', KEYS[1], KEYS[2])
end
-- The next `count` fields: struct.unpack returns them, then the position after them.
local function take(count)
  local fields = { struct.unpack('>' .. string.rep('I4c0', count), write, at) }
  at = table.remove(fields)
  return fields
end
-- The window's fields with its new version, in one HSET.
local mainFields = take(mainSets * 2)
mainFields[#mainFields + 1] = 'v'
mainFields[#mainFields + 1] = ARGV[2]
redis.call('HSET', KEYS[1], unpack(mainFields))
if mainDels > 0 then
  redis.call('HDEL', KEYS[1], unpack(take(mainDels)))
end
if trackedSets > 0 then
  redis.call('HSET', KEYS[2], unpack(take(trackedSets * 2)))
end
if trackedDels > 0 then
  redis.call('HDEL', KEYS[2], unpack(take(trackedDels)))
end
if seenMode == 1 then
  redis.call('APPEND', KEYS[3], seen)
elseif seenMode == 2 then
  if #seen > 0 then
    redis.call('SET', KEYS[3], seen)
  else
    redis.call('DEL', KEYS[3])
  end
end
-- PEXPIRE leaves a key that does not exist alone.
for key = 1, 3 do
  redis.call('PEXPIRE', KEYS[key], ARGV[3])
end
return 1
