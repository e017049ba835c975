// The partition a keyed record lands in, as relayguard's producer chooses it (kafkajs' Java-compatible murmur2
// partitioner) for a topic of `partitions` partitions: the scorer tells a tenant moved by the partition change an
// operator configured (RELAYGUARD_PARTITIONS, deploy/RUNBOOK.md "Adding partitions") from one made under it.
import { Partitioners } from 'kafkajs';

export function keyPartition(partitions: number): (key: string) => number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
  }));
  return (key) => partitioner({ topic: '', partitionMetadata, message: { key, value: null } });
}
