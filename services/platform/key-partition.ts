// The partition a keyed record lands in, for a topic of `partitions` partitions: the Java client's (and kafkajs')
// default partitioner, murmur2 of the key's UTF-8 bytes, made positive, modulo the partition count. Both event logs
// place records with it (the Kafka producer through kafkajs' own copy, checked equal in
// test/unit/platform/key-partition.test.ts), so a tenant's partition is the same in the embedded mode and on Kafka,
// and a scorer's slice (core/directory-slice.ts) knows it; the scorer also tells a tenant moved by the partition
// change an operator configured (RELAYGUARD_PARTITIONS, deploy/RUNBOOK.md "Adding partitions") from one made
// under it.
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * A key's UTF-8 bytes, reused from call to call: a scorer's slice asks for the partition of every state record
 * it reads, so a Buffer per call would be garbage at the feed's rate.
 */
let scratch = Buffer.allocUnsafe(64);

export function keyPartition(partitions: number): (key: string) => number {
  return (key) => (murmur2(scratch, utf8Into(key)) & 0x7fffffff) % partitions;
}

/** Writes `key` as UTF-8 at the start of `scratch`; its length in bytes. ASCII, the usual key, is copied in JS. */
function utf8Into(key: string): number {
  // Three bytes per UTF-16 unit is UTF-8's most (a surrogate pair: four bytes for two units).
  if (scratch.length < key.length * 3) scratch = Buffer.allocUnsafe(key.length * 3);
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code >= 0x80) return scratch.write(key, 0, 'utf8');
    scratch[i] = code;
  }
  return key.length;
}

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2) of `data`'s first `length` bytes, in 32-bit
 * integer arithmetic as in Java. */
function murmur2(data: Buffer, length: number): number {
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= data[whole + 2]! << 16;
    if (rest >= 2) h ^= data[whole + 1]! << 8;
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h;
}
