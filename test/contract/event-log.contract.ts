// The EventLog contract: the memory log and the Kafka log must pass it unchanged. Each test owns random topic
// and group names.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ConsumeOptions, EventLog, LogRecord, RecordBatch } from '../../services/platform/ports.js';
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
/** A record per key, its value `${prefix}-${key}`. */
const perKey = (prefix: string, keys: readonly string[]) =>
  keys.map((key) => ({ key, value: value(`${prefix}-${key}`) }));
/** Records m1 … m{count}, all under the key k. */
const oneKey = (count: number) =>
  Array.from({ length: count }, (_, i) => ({ key: 'k', value: value(`m${i + 1}`) }));

/** What a new member of the group, on another client, reads up to the log end: where the group's commits stand. */
async function readAsNewMember(fixture: EventLogFixture, groupId: string, topic: string): Promise<string[]> {
  const other = await fixture.connectAnother();
  const collected = collector();
  const subscription = await other.subscribe({
    groupId,
    topics: [topic],
    handleBatch: collected.handleBatch,
  });
  await subscription.caughtUp;
  await subscription.stop();
  await other.close();
  return collected.records.map((r) => r.value!.toString());
}

function collector() {
  const records: LogRecord[] = [];
  return {
    records,
    handleBatch: async (batch: RecordBatch) => {
      records.push(...batch.records);
    },
  };
}

/** A member of the group whose handled records become durable only through `flush` (write-behind), tried every 50 ms. */
function writeBehindMember(
  log: EventLog,
  { groupId, topic }: { groupId: string; topic: string },
  collected: ReturnType<typeof collector>,
  flush: NonNullable<ConsumeOptions['flush']>,
) {
  return log.subscribe({
    groupId,
    topics: [topic],
    handleBatch: collected.handleBatch,
    commitIntervalMs: 50,
    flush,
  });
}

export function eventLogContract(name: string, setup: () => Promise<EventLogFixture>) {
  /** A test on a fresh fixture with a topic and a consumer group of its own, cleaned up however the test ends. */
  const onTopic =
    (partitions: number, test: (fixture: EventLogFixture, topic: string, groupId: string) => Promise<void>) =>
    async () => {
      const fixture = await setup();
      try {
        const topic = `contract-${randomUUID()}`;
        await fixture.createTopic(topic, partitions);
        await test(fixture, topic, `g-${randomUUID()}`);
      } finally {
        await fixture.cleanup();
      }
    };

  describe(`EventLog contract: ${name}`, () => {
    it(
      'delivers every record once, in order per partition, a key always to the same partition',
      onTopic(3, async (fixture, topic, groupId) => {
        const published = Array.from({ length: 60 }, (_, i) => ({
          key: `tenant-${i % 7}`,
          value: value(`m${i}`),
          headers: { n: String(i) },
        }));
        await fixture.log.publish(topic, published);
        const { records, handleBatch } = collector();
        const subscription = await fixture.log.subscribe({
          groupId,
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
      }),
    );

    it(
      "delivers a tombstone as a record with its key and no value, in order with the key's other records",
      onTopic(1, async (fixture, topic) => {
        await fixture.log.publish(topic, [
          { key: 'acme/a.example', value: value('added') },
          { key: 'acme/a.example', value: value('removed') },
          { key: 'acme/a.example', value: null },
        ]);
        const { records, handleBatch } = collector();
        const subscription = await fixture.log.subscribe({ groupId: null, topics: [topic], handleBatch });
        await subscription.caughtUp;
        await subscription.stop();
        assert.deepEqual(
          records.map((record) => [record.key, record.value?.toString() ?? null]),
          [
            ['acme/a.example', 'added'],
            ['acme/a.example', 'removed'],
            ['acme/a.example', null],
          ],
        );
      }),
    );

    it(
      'redelivers a batch whose handler failed, and commits nothing past it',
      onTopic(1, async (fixture, topic, groupId) => {
        await fixture.log.publish(topic, oneKey(3));
        const seen: string[] = [];
        let failures = 0;
        const subscription = await fixture.log.subscribe({
          groupId,
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
      }),
    );

    it(
      "announces a member's partitions when they are assigned, before any of their records is handled",
      onTopic(3, async (fixture, topic, groupId) => {
        await fixture.log.publish(topic, perKey('m', ['a', 'b', 'c', 'd', 'e', 'f']));
        const happened: string[] = [];
        const subscription = await fixture.log.subscribe({
          groupId,
          topics: [topic],
          handleBatch: async (batch) => {
            happened.push(`batch ${batch.partition}`);
          },
          onAssigned: (partitions) => {
            assert.ok(partitions.every((ref) => ref.topic === topic));
            const numbers = partitions.map(({ partition }) => partition).sort();
            happened.push(`assigned ${numbers.join(',')}`);
          },
        });
        await subscription.caughtUp;
        await subscription.stop();
        assert.equal(happened[0], 'assigned 0,1,2', 'the only member is given every partition, first');
        assert.equal(happened.filter((event) => event.startsWith('assigned')).length, 1, 'once');
        assert.ok(happened.length > 1, 'then its records are handled');
      }),
    );

    it(
      'resumes a group from its committed offsets, on another client too',
      onTopic(2, async (fixture, topic, groupId) => {
        await fixture.log.publish(topic, perKey('first', ['a', 'b', 'c', 'd']));
        const first = collector();
        const one = await fixture.log.subscribe({ groupId, topics: [topic], handleBatch: first.handleBatch });
        await waitFor(() => first.records.length >= 4, { timeoutMs: 20_000, description: 'first pass' });
        await one.stop();

        await fixture.log.publish(topic, perKey('second', ['a', 'b']));
        const other = await fixture.connectAnother();
        const second = collector();
        const two = await other.subscribe({ groupId, topics: [topic], handleBatch: second.handleBatch });
        await waitFor(() => second.records.length >= 2, { timeoutMs: 30_000, description: 'second pass' });
        await two.caughtUp;
        await two.stop();
        await other.close();
        assert.deepEqual(second.records.map((r) => r.value!.toString()).sort(), ['second-a', 'second-b']);
      }),
    );

    it(
      'write-behind: commits only what a flush covered; a failing flush commits nothing',
      onTopic(2, async (fixture, topic, groupId) => {
        await fixture.log.publish(topic, perKey('first', ['a', 'b', 'c', 'd']));
        // A handler whose state never becomes durable: its batches are never committed, even on stop.
        const lost = collector();
        let failedFlushes = 0;
        const one = await writeBehindMember(fixture.log, { groupId, topic }, lost, async () => {
          failedFlushes++;
          throw new Error('injected flush failure');
        });
        await waitFor(() => lost.records.length >= 4 && failedFlushes >= 2, {
          timeoutMs: 20_000,
          description: 'records handled and flushes attempted',
        });
        await one.stop();

        // Everything again, then flushed and committed at the interval (no stop needed).
        const kept = collector();
        let flushedAfter = -1;
        const two = await writeBehindMember(fixture.log, { groupId, topic }, kept, async () => {
          flushedAfter = kept.records.length;
          return { redeliver: [] };
        });
        await two.caughtUp;
        assert.equal(kept.records.length, 4, 'the uncommitted records delivered again');
        assert.equal(flushedAfter, 4, 'caught up only once a flush covered every record');
        await two.stop();

        await fixture.log.publish(topic, [{ key: 'a', value: value('second-a') }]);
        assert.deepEqual(await readAsNewMember(fixture, groupId, topic), ['second-a']);
      }),
    );

    it(
      'write-behind: a failed batch is redelivered from the last commit, not from itself',
      onTopic(1, async (fixture, topic, groupId) => {
        await fixture.log.publish(topic, oneKey(3));
        const seen: string[] = [];
        let failed = false;
        const subscription = await fixture.log.subscribe({
          groupId,
          topics: [topic],
          maxBatchSize: 1,
          commitIntervalMs: 60_000,
          handleBatch: async (batch) => {
            const text = batch.records.map((r) => r.value!.toString());
            if (text.includes('m3') && !failed) {
              failed = true;
              throw new Error('injected failure');
            }
            seen.push(...text);
          },
          flush: async () => ({ redeliver: [] }),
        });
        await waitFor(() => seen.length >= 5, { timeoutMs: 20_000, description: 'm1 m2, then m1 m2 m3' });
        await subscription.stop();
        assert.deepEqual(seen, ['m1', 'm2', 'm1', 'm2', 'm3']);

        await fixture.log.publish(topic, [{ key: 'k', value: value('m4') }]);
        assert.deepEqual(
          await readAsNewMember(fixture, groupId, topic),
          ['m4'],
          'the flush on stop committed everything',
        );
      }),
    );

    it(
      'write-behind: a partition the flush names is redelivered from the last commit, not committed',
      onTopic(1, async (fixture, topic, groupId) => {
        await fixture.log.publish(topic, oneKey(3));
        const { records, handleBatch } = collector();
        let redelivered = false;
        const subscription = await fixture.log.subscribe({
          groupId,
          topics: [topic],
          maxBatchSize: 1,
          commitIntervalMs: 50,
          handleBatch,
          flush: async () => {
            // Until all three are handled nothing may be committed; then the partition's state is lost once.
            if (records.length < 3) throw new Error('not yet');
            if (redelivered) return { redeliver: [] };
            redelivered = true;
            return { redeliver: [{ topic, partition: records[0]!.partition }] };
          },
        });
        await subscription.caughtUp;
        await subscription.stop();
        assert.deepEqual(
          records.map((r) => r.value!.toString()),
          ['m1', 'm2', 'm3', 'm1', 'm2', 'm3'],
        );
      }),
    );

    it(
      'settled: resolves once every subscription handled everything, what its handlers published too',
      onTopic(2, async (fixture, topic, groupId) => {
        const downstream = `${topic}-downstream`;
        await fixture.createTopic(downstream, 1);
        const { log } = fixture;
        const forwarded = collector();
        const flushedAt: number[] = [];
        const relay = await log.subscribe({
          groupId,
          topics: [topic],
          // Write-behind whose interval never comes in this test: only being caught up or settled() flushes.
          commitIntervalMs: 600_000,
          handleBatch: async (batch) => {
            const records = batch.records.map((r) => ({ key: r.key!, value: r.value! }));
            await log.publish(downstream, records);
          },
          flush: async () => {
            flushedAt.push(forwarded.records.length);
            return { redeliver: [] };
          },
        });
        const sink = await log.subscribe({
          groupId: null,
          topics: [downstream],
          handleBatch: forwarded.handleBatch,
        });
        await Promise.all([relay.caughtUp, sink.caughtUp]);
        await log.publish(
          topic,
          Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: value(`m${i}`) })),
        );
        await log.settled();
        assert.equal(forwarded.records.length, 10, 'the records the handler published were handled too');
        assert.ok(flushedAt.length > 0, 'the write-behind subscription flushed');
        await Promise.all([relay.stop(), sink.stop()]);
      }),
    );

    it(
      'without a group, reads every partition from the beginning and reports when it caught up',
      onTopic(3, async (fixture, topic) => {
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
      }),
    );

    it(
      'without a group, starts a partition given an offset there and the others from the beginning; refuses an offset beyond its end',
      onTopic(2, async (fixture, topic) => {
        await fixture.log.publish(
          topic,
          Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: value(`v${i}`) })),
        );
        const all = collector();
        const everything = await fixture.log.subscribe({ groupId: null, topics: [topic], ...all });
        await everything.caughtUp;
        await everything.stop();
        const inZero = all.records.filter((record) => record.partition === 0);
        assert.ok(inZero.length >= 3, 'partition 0 holds a few records');
        const from = inZero[2]!.offset;
        const { records, handleBatch } = collector();
        const subscription = await fixture.log.subscribe({
          groupId: null,
          topics: [topic],
          startOffsets: [{ topic, partition: 0, offset: from }],
          handleBatch,
        });
        await subscription.caughtUp;
        await subscription.stop();
        const seen = (partition: number) =>
          records.filter((record) => record.partition === partition).map((record) => record.offset);
        assert.deepEqual(
          seen(0),
          inZero.slice(2).map((record) => record.offset),
        );
        assert.deepEqual(
          seen(1),
          all.records.filter((record) => record.partition === 1).map((record) => record.offset),
        );
        const beyond = String(Number(inZero.at(-1)!.offset) + 2);
        await assert.rejects(
          fixture.log.subscribe({
            groupId: null,
            topics: [topic],
            startOffsets: [{ topic, partition: 0, offset: beyond }],
            handleBatch,
          }),
          (error: Error & { field?: string }) => error.field === 'startOffsets',
        );
      }),
    );

    it(
      'reports caught up at once on an empty topic, then keeps delivering new records',
      onTopic(2, async (fixture, topic) => {
        const { records, handleBatch } = collector();
        const subscription = await fixture.log.subscribe({ groupId: null, topics: [topic], handleBatch });
        await subscription.caughtUp;
        await fixture.log.publish(topic, [{ key: 'k', value: value('late') }]);
        await waitFor(() => records.length === 1, {
          timeoutMs: 20_000,
          description: 'record published after subscribing',
        });
        await subscription.stop();
      }),
    );
  });
}
