// Where a group-less reader starts when it is given offsets (ConsumeOptions.startOffsets): a materializer that
// restored its state from a snapshot reads on from the offsets the snapshot reflects.
import { RelayguardError } from '../core/errors.js';
import type { PartitionOffset } from './ports.js';
import { partitionKey } from './write-behind.js';

/** The start offsets by partition key, each checked against its partition's end offset. */
export function checkedStartOffsets(
  starts: readonly PartitionOffset[] | undefined,
  ends: ReadonlyMap<string, bigint>,
): Map<string, bigint> {
  const offsets = new Map<string, bigint>();
  for (const { topic, partition, offset } of starts ?? []) {
    const key = partitionKey(topic, partition);
    const end = ends.get(key);
    const start = BigInt(offset);
    if (end === undefined || start > end || start < 0n) {
      throw new RelayguardError(
        'INVALID_FIELD',
        `startOffsets: ${key} at ${offset} is beyond the partition's end (${end ?? 'no such partition'}): the topic changed since the offset was read`,
        { field: 'startOffsets' },
      );
    }
    offsets.set(key, start);
  }
  return offsets;
}
