#!lua
-- The shebang flags the script (with no allow-oom): Redis refuses it whole while over maxmemory, before any write.
-- Unflagged, Redis checks memory only at a script's first write, and a first write that frees memory (the DEL of a
-- whole write) would let the writes after it through past maxmemory.
-- Saves tenants' windows, each only if its stored window is still the one its write was based on. Per window three
-- KEYS: the window hash (version, meta, minute buckets), the tracked hash (domains, connectors), the string of
-- event fingerprints. On Redis Cluster the client sends together only tenants of one slot (their keys carry the
-- tenant as hash tag), so every call is single-slot.
-- ARGV[1]: the ttl ms; ARGV[2]: the windows' writes packed in one string (packed-writes.ts): per window its byte
-- length, its expected and next versions, 1 when it is written whole (the two hashes are emptied first), the
-- fingerprints' change (0 keep, 1 append, 2 replace), #set pairs and #deletes for KEYS[1], then for KEYS[2], the
-- fingerprint bytes, the set pairs of KEYS[1], of KEYS[2], then the deletes of KEYS[1], of KEYS[2], each field
-- after its length.
-- Returns per window 1 (written), 0 (refused: the stored version differs), or the error a command of its write
-- met: the other windows are written as their own calls would have been.
local ttl = ARGV[1]
local write = ARGV[2]
local at = 1

-- The next `count` fields: struct.unpack returns them, then the position after them.
local function take(count)
  local fields = { struct.unpack('>' .. string.rep('I4c0', count), write, at) }
  at = table.remove(fields)
  return fields
end

-- The window's write, if the stored window is at `expected`: 1, else 0 (its fields left unread).
local function save(main, tracked, seenKey, expected, version)
  local current = redis.call('HGET', main, 'v') or '-'
  if current ~= expected then
    return 0
  end
  local whole, seenMode, mainSets, mainDels, trackedSets, trackedDels, seen
  whole, seenMode, mainSets, mainDels, trackedSets, trackedDels, seen, at =
    struct.unpack('>BBI4I4I4I4I4c0', write, at)
  if whole == 1 then
    redis.call('DEL', main, tracked)
  end
  -- The window's fields with its new version, in one HSET.
  local mainFields = take(mainSets * 2)
  mainFields[#mainFields + 1] = 'v'
  mainFields[#mainFields + 1] = version
  redis.call('HSET', main, unpack(mainFields))
  if trackedSets > 0 then
    redis.call('HSET', tracked, unpack(take(trackedSets * 2)))
  end
  if mainDels > 0 then
    redis.call('HDEL', main, unpack(take(mainDels)))
  end
  if trackedDels > 0 then
    redis.call('HDEL', tracked, unpack(take(trackedDels)))
  end
  if seenMode == 1 then
    redis.call('APPEND', seenKey, seen)
  elseif seenMode == 2 then
    if #seen > 0 then
      redis.call('SET', seenKey, seen)
    else
      redis.call('DEL', seenKey)
    end
  end
  -- PEXPIRE leaves a key that does not exist alone.
  redis.call('PEXPIRE', main, ttl)
  redis.call('PEXPIRE', tracked, ttl)
  redis.call('PEXPIRE', seenKey, ttl)
  return 1
end

local results = {}
for key = 1, #KEYS, 3 do
  local size, expected, version
  size, at = struct.unpack('>I4', write, at)
  local after = at + size
  expected, version, at = struct.unpack('>I4c0I4c0', write, at)
  local ok, result = pcall(save, KEYS[key], KEYS[key + 1], KEYS[key + 2], expected, version)
  if ok then
    results[#results + 1] = result
  else
    results[#results + 1] = type(result) == 'table' and result.err or tostring(result)
  end
  at = after
end
return results
