// Both event logs place a keyed record with keyPartition: it must be the partition kafkajs' producer (Java-compatible
// murmur2) gives the key, or a scorer's slice would hold other tenants than its partitions'.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Partitioners } from 'kafkajs';
import { seededRandom } from '../../../services/core/seeded-random.js';
import { keyPartition } from '../../../services/platform/key-partition.js';

/** The partition kafkajs' default partitioner gives `key` in a topic of `partitions` partitions. */
function kafkajsPartition(key: string, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
  }));
  return Partitioners.DefaultPartitioner()({ topic: 't', partitionMetadata, message: { key, value: null } });
}

describe('keyPartition', () => {
  it("gives every key the partition kafkajs' producer gives it, whatever its length and characters", () => {
    const random = seededRandom(23);
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-_./é€😀';
    // A lone surrogate too: both encode it as U+FFFD.
    const characters = [...alphabet, '\ud800'];
    for (let i = 0; i < 5_000; i++) {
      // Past 64 bytes too, beyond the first size of the reused encoding buffer.
      const length = Math.floor(random() * 100);
      const key = Array.from({ length }, () => characters[Math.floor(random() * characters.length)]).join('');
      for (const partitions of [1, 3, 6, 64, 1_000]) {
        assert.equal(
          keyPartition(partitions)(key),
          kafkajsPartition(key, partitions),
          `"${key}" of ${partitions}`,
        );
      }
    }
  });
});
