// The partition a keyed record lands in, for a topic of `partitions` partitions: the Java client's (and kafkajs')
// default partitioner, murmur2 of the key's UTF-8 bytes, made positive, modulo the partition count. Both event logs
// place records with it (the Kafka producer through kafkajs' own copy, checked equal in
// test/unit/platform/key-partition.test.ts), so a tenant's partition is the same in the embedded mode and on Kafka,
// and a scorer's slice (core/directory-slice.ts) knows it; the scorer also tells a tenant moved by the partition
// change an operator configured (RELAYGUARD_PARTITIONS, deploy/RUNBOOK.md "Adding partitions") from one made
// under it.
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

export function keyPartition(partitions: number): (key: string) => number {
  return (key) => (murmur2(Buffer.from(key)) & 0x7fffffff) % partitions;
}

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), in 32-bit integer arithmetic as in Java. */
function murmur2(data: Buffer): number {
  const { length } = data;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data.readInt32LE(i);
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
