// The EventLog contract: the memory log and the Kafka log must pass it unchanged. Each test owns random topic
// and group names.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { EventLog, LogRecord, RecordBatch } from '../../services/platform/ports.js';
import { waitFor } from '../support/tether.js';

export interface EventLogFixture {
  readonly log: EventLog;
  /** Creates a topic with this many partitions (Kafka: through the broker's tooling; memory: implicit). */
  createTopic(name: string, partitions: number): Promise<void>;
  /** A second, independent client of the same log (another process, in production). */
  connectAnother(): Promise<EventLog>;
  cleanup(): Promise<void>;
}

const value = (text: string) => Buffer.from(text);

function collector() {
  const records: LogRecord[] = [];
  return {
    records,
    handleBatch: async (batch: RecordBatch) => {
      records.push(...batch.records);
    },
  };
}

export function eventLogContract(name: string, setup: () => Promise<EventLogFixture>) {
  describe(`EventLog contract: ${name}`, () => {
    it('delivers every record once, in order per partition, a key always to the same partition', async () => {
      const fixture = await setup();
      try {
        const topic = `contract-${randomUUID()}`;
        await fixture.createTopic(topic, 3);
        const published = Array.from({ length: 60 }, (_, i) => ({
          key: `tenant-${i % 7}`,
          value: value(`m${i}`),
          headers: { n: String(i) },
        }));
        await fixture.log.publish(topic, published);
        const { records, handleBatch } = collector();
        const subscription = await fixture.log.subscribe({
          groupId: `g-${randomUUID()}`,
          topics: [topic],
          handleBatch,
        });
        await waitFor(() => records.length >= 60, {
          timeoutMs: 20_000,
          description: 'all 60 records consumed',
        });
        await subscription.stop();
        assert.equal(records.length, 60);
        const partitionOfKey = new Map<string, number>();
        for (const record of records) {
          const previous = partitionOfKey.get(record.key!);
          assert.ok(
            previous === undefined || previous === record.partition,
            `key ${record.key} stays in one partition`,
          );
          partitionOfKey.set(record.key!, record.partition);
        }
        for (const key of partitionOfKey.keys()) {
          const sent = published.filter((r) => r.key === key).map((r) => r.value.toString());
          const got = records.filter((r) => r.key === key).map((r) => r.value!.toString());
          assert.deepEqual(got, sent, `order of ${key}`);
        }
        assert.deepEqual(
          records.map((r) => r.headers.n).sort((a, b) => Number(a) - Number(b)),
          published.map((r) => r.headers.n),
        );
      } finally {
        await fixture.cleanup();
      }
    });

    it('redelivers a batch whose handler failed, and commits nothing past it', async () => {
      const fixture = await setup();
      try {
        const topic = `contract-${randomUUID()}`;
        await fixture.createTopic(topic, 1);
        await fixture.log.publish(
          topic,
          [1, 2, 3].map((i) => ({ key: 'k', value: value(`m${i}`) })),
        );
        const seen: string[] = [];
        let failures = 0;
        const subscription = await fixture.log.subscribe({
          groupId: `g-${randomUUID()}`,
          topics: [topic],
          handleBatch: async (batch) => {
            if (failures < 2) {
              failures++;
              throw new Error('injected failure');
            }
            seen.push(...batch.records.map((r) => r.value!.toString()));
          },
        });
        await waitFor(() => seen.length >= 3, {
          timeoutMs: 20_000,
          description: 'records redelivered after failures',
        });
        await subscription.stop();
        assert.equal(failures, 2);
        assert.deepEqual(seen, ['m1', 'm2', 'm3']);
      } finally {
        await fixture.cleanup();
      }
    });

    it('resumes a group from its committed offsets, on another client too', async () => {
      const fixture = await setup();
      try {
        const topic = `contract-${randomUUID()}`;
        const groupId = `g-${randomUUID()}`;
        await fixture.createTopic(topic, 2);
        await fixture.log.publish(
          topic,
          ['a', 'b', 'c', 'd'].map((k) => ({ key: k, value: value(`first-${k}`) })),
        );
        const first = collector();
        const one = await fixture.log.subscribe({ groupId, topics: [topic], handleBatch: first.handleBatch });
        await waitFor(() => first.records.length >= 4, { timeoutMs: 20_000, description: 'first pass' });
        await one.stop();

        await fixture.log.publish(
          topic,
          ['a', 'b'].map((k) => ({ key: k, value: value(`second-${k}`) })),
        );
        const other = await fixture.connectAnother();
        const second = collector();
        const two = await other.subscribe({ groupId, topics: [topic], handleBatch: second.handleBatch });
        await waitFor(() => second.records.length >= 2, { timeoutMs: 30_000, description: 'second pass' });
        await two.caughtUp;
        await two.stop();
        await other.close();
        assert.deepEqual(second.records.map((r) => r.value!.toString()).sort(), ['second-a', 'second-b']);
      } finally {
        await fixture.cleanup();
      }
    });

    it('without a group, reads every partition from the beginning and reports when it caught up', async () => {
      const fixture = await setup();
      try {
        const topic = `contract-${randomUUID()}`;
        await fixture.createTopic(topic, 3);
        await fixture.log.publish(
          topic,
          Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: value(`v${i}`) })),
        );
        for (let pass = 0; pass < 2; pass++) {
          const { records, handleBatch } = collector();
          const subscription = await fixture.log.subscribe({ groupId: null, topics: [topic], handleBatch });
          await subscription.caughtUp;
          assert.equal(
            records.length,
            30,
            `pass ${pass}: caught up means everything published before was handled`,
          );
          await subscription.stop();
        }
      } finally {
        await fixture.cleanup();
      }
    });

    it('reports caught up at once on an empty topic, then keeps delivering new records', async () => {
      const fixture = await setup();
      try {
        const topic = `contract-${randomUUID()}`;
        await fixture.createTopic(topic, 2);
        const { records, handleBatch } = collector();
        const subscription = await fixture.log.subscribe({ groupId: null, topics: [topic], handleBatch });
        await subscription.caughtUp;
        await fixture.log.publish(topic, [{ key: 'k', value: value('late') }]);
        await waitFor(() => records.length === 1, {
          timeoutMs: 20_000,
          description: 'record published after subscribing',
        });
        await subscription.stop();
      } finally {
        await fixture.cleanup();
      }
    });
  });
}
