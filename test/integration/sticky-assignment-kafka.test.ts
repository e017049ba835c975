// The sticky assigner through a real broker's group protocol (JoinGroup / SyncGroup on Apache Kafka): three
// consumers of a 12-partition topic, one of them restarted (it leaves, and a new process joins under a new member
// id). The two that stayed keep every partition they had; the restarted one gets its own back. Each consumer
// tells the assigner what it owns from its last GROUP_JOIN, as the KafkaEventLog adapter does.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import kafkajs, { type Consumer } from 'kafkajs';
import { stickyPartitionAssigner } from '../../services/platform/kafka/sticky-assigner.js';
import type { PartitionRef } from '../../services/platform/ports.js';
import { type KafkaBrokers, sharedKafka } from '../support/kafka-broker.js';
import { waitFor } from '../support/tether.js';

const PARTITIONS = 12;

describe('sticky partition assignment on Apache Kafka', () => {
  let kafka: KafkaBrokers;
  const consumers = new Set<Consumer>();

  before(async () => {
    kafka = await sharedKafka();
  });
  after(() => Promise.all([...consumers].map((consumer) => consumer.disconnect())));

  it('a restarted consumer moves only its own partitions, which come back to it, restart after restart', async () => {
    const topic = `sticky-${randomUUID()}`;
    const groupId = `sticky-${randomUUID()}`;
    await kafka.createTopic(topic, PARTITIONS);
    const client = new kafkajs.Kafka({
      clientId: 'sticky-test',
      brokers: [...kafka.bootstrapServers],
      logLevel: kafkajs.logLevel.NOTHING,
    });
    /** What each consumer owns, by name, after its latest join. */
    const owned = new Map<string, PartitionRef[]>();

    const join = async (name: string) => {
      owned.set(name, []);
      const consumer = client.consumer({
        groupId,
        sessionTimeout: 10_000,
        heartbeatInterval: 500,
        partitionAssigners: [stickyPartitionAssigner(() => owned.get(name) ?? [])],
      });
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        owned.set(
          name,
          (payload.memberAssignment[topic] ?? []).map((partition) => ({ topic, partition })),
        );
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic] });
      await consumer.run({ eachBatch: async () => {} });
      consumers.add(consumer);
      return consumer;
    };
    /** Waits until the members named own every partition once between them; partition -> owner. */
    const settled = async (names: readonly string[]) =>
      waitFor(
        () => {
          const owners = new Map<number, string>();
          for (const name of names) {
            for (const { partition } of owned.get(name) ?? []) {
              if (owners.has(partition)) return undefined;
              owners.set(partition, name);
            }
          }
          return owners.size === PARTITIONS ? owners : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 100, description: `the group of ${names.join(', ')} settled` },
      );

    const members = new Map<string, Consumer>();
    for (const name of ['a', 'b', 'c']) members.set(name, await join(name));
    let owners = await settled([...members.keys()]);
    for (const name of members.keys()) assert.equal(owned.get(name)!.length, 4, `${name} owns its share`);

    // Two restarts, of different members: kafkajs' round robin keeps the others' partitions only when the
    // broker's new member id happens to sort where the old one did.
    for (const [name, renamed] of [
      ['c', 'c2'],
      ['a', 'a2'],
    ] as const) {
      await members.get(name)!.disconnect(); // LeaveGroup: its partitions go to the others at once
      consumers.delete(members.get(name)!);
      members.delete(name);
      owned.delete(name);
      await settled([...members.keys()]);
      members.set(renamed, await join(renamed));
      const afterRestart = await settled([...members.keys()]);
      const moved = [...owners].filter(([partition, owner]) => afterRestart.get(partition) !== owner);
      assert.deepEqual(
        moved.map(([, owner]) => owner),
        Array(4).fill(name),
        `restarting ${name} moved only its partitions`,
      );
      for (const [partition] of moved) assert.equal(afterRestart.get(partition), renamed);
      owners = afterRestart;
    }
  });
});
