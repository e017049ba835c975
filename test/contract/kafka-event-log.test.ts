// The EventLog contract against the Kafka adapter on the real Apache Kafka broker (test/support/kafka-broker.ts:
// the run's shared broker, topics and groups named per test). One test stays on librdkafka's mock cluster: a
// partition leader moving between two brokers in the middle of one send, which a real cluster cannot be made
// to do on cue.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaEventLog } from '../../services/platform/kafka/kafka-event-log.js';
import { createLogger } from '../../services/platform/logger.js';
import type { LogRecord, RecordBatch } from '../../services/platform/ports.js';
import { readRecords } from '../support/enforcement.js';
import { type KafkaBrokers, sharedKafka, testKafkaVersion, withKafkaAdmin } from '../support/kafka-broker.js';
import { ApiKey, KafkaError, type KafkaMock, startKafkaMock } from '../support/kafka-mock.js';
import { kafkaEnv, kafkaLogOn, mockClusterEnv } from '../support/production-stack.js';
import { waitFor } from '../support/tether.js';
import { eventLogContract } from './event-log.contract.js';

let kafka: KafkaBrokers;
before(async () => {
  kafka = await sharedKafka();
});

const connect = () => kafkaLogOn(kafkaEnv(kafka.bootstrapServers));
/** A handler that adds each record's value, as text, to `seen`. */
const valuesInto = (seen: string[]) => async (batch: RecordBatch) => {
  seen.push(...batch.records.map((r) => r.value!.toString()));
};

eventLogContract(`kafka (Apache Kafka ${testKafkaVersion()})`, async () => {
  const log = connect();
  const others: KafkaEventLog[] = [];
  return {
    log,
    createTopic: (name, partitions) => kafka.createTopic(name, partitions),
    connectAnother: async () => {
      const other = connect();
      others.push(other);
      return other;
    },
    cleanup: async () => {
      await Promise.all(others.map((other) => other.close()));
      await log.close();
    },
  };
});

/** A log whose kafkajs lines are kept, to count how often its consumers joined their group. */
function countingJoins(env: Record<string, string>): { log: KafkaEventLog; joins: () => number } {
  const lines: string[] = [];
  const log = kafkaLogOn(
    env,
    createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line).msg) }),
  );
  return { log, joins: () => lines.filter((message) => message === 'Consumer has joined the group').length };
}

/** Two clients of the log, on a new topic of two partitions and a new group name, closed however `body` ends. */
async function withTwoClients(
  body: (one: KafkaEventLog, two: KafkaEventLog, names: { topic: string; groupId: string }) => Promise<void>,
): Promise<void> {
  const [one, two] = [connect(), connect()];
  try {
    const names = { topic: `contract-${randomUUID()}`, groupId: `g-${randomUUID()}` };
    await kafka.createTopic(names.topic, 2);
    await body(one, two, names);
  } finally {
    await Promise.all([one.close(), two.close()]);
  }
}

// Rebalancing is Kafka's alone (the memory log has one member per group).
describe('KafkaEventLog: write-behind across a rebalance', () => {
  it('names the partitions a rebalance took away, after flushing what was handled', () =>
    withTwoClients(async (one, two, { topic, groupId }) => {
      const records = (from: number) =>
        Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(`m${from + i}`) }));
      await one.publish(topic, records(0));
      const seen: string[] = [];
      const revoked: number[] = [];
      // What happened, in order: the flush that must come between the second member joining and the revocation.
      const history: string[] = [];
      let flushFails = false;
      const first = await one.subscribe({
        groupId,
        topics: [topic],
        commitIntervalMs: 60_000,
        handleBatch: valuesInto(seen),
        flush: async () => {
          if (flushFails) {
            history.push('flush failed');
            throw new Error('store unavailable');
          }
          history.push('flushed');
          return { redeliver: [] };
        },
        onRevoked: async (partitions) => {
          history.push('revoked');
          revoked.push(...partitions.map(({ partition }) => partition));
        },
      });
      await waitFor(() => seen.length >= 20, { timeoutMs: 30_000, description: 'all 20 records handled' });
      await waitFor(() => history.includes('flushed'), {
        timeoutMs: 30_000,
        description: 'the caught-up flush',
      });

      // Handled but not flushed when the rebalance comes: the flushes after catching up fail until then.
      flushFails = true;
      await one.publish(topic, records(20));
      await waitFor(() => seen.length >= 40 && history.at(-1) === 'flush failed', {
        timeoutMs: 30_000,
        description: '20 more records handled, their flush failed',
      });
      flushFails = false;

      // A second member joins: the first flushes what it handled, then is told which partition it lost.
      history.push('second joins');
      const second = await two.subscribe({ groupId, topics: [topic], handleBatch: async () => {} });
      await waitFor(() => revoked.length === 1, {
        timeoutMs: 60_000,
        description: 'one partition revoked from the first member',
      });
      assert.ok(revoked[0] === 0 || revoked[0] === 1);
      const afterJoin = history.slice(history.lastIndexOf('second joins'));
      assert.ok(
        afterJoin.indexOf('flushed') > 0 && afterJoin.indexOf('flushed') < afterJoin.indexOf('revoked'),
        `flushed before the partition went: ${afterJoin.join(' → ')}`,
      );
      await second.stop();
      await first.stop();
    }));

  it('announces the partitions a rebalance gives a member, after those it took away', () =>
    withTwoClients(async (one, two, { topic, groupId }) => {
      const history: string[] = [];
      /** A member that writes down its assignments and revocations, each as `<name> <what> <partitions>`. */
      const member = (log: KafkaEventLog, name: string) =>
        log.subscribe({
          groupId,
          topics: [topic],
          handleBatch: async () => {},
          onAssigned: (partitions) => {
            history.push(`${name} assigned ${partitions.map(({ partition }) => partition).sort()}`);
          },
          onRevoked: async (partitions) => {
            history.push(`${name} revoked ${partitions.map(({ partition }) => partition).sort()}`);
          },
        });
      const first = await member(one, 'one');
      await waitFor(() => history.length === 1, { timeoutMs: 30_000, description: 'the first assignment' });
      assert.deepEqual(history, ['one assigned 0,1']);
      const second = await member(two, 'two');
      await waitFor(() => history.length === 3, { timeoutMs: 60_000, description: 'the second member in' });
      const moved = history.find((line) => line.startsWith('two assigned'))!.slice(-1);
      assert.deepEqual(history.slice(1).sort(), [`one revoked ${moved}`, `two assigned ${moved}`]);
      await second.stop();
      await waitFor(() => history.length === 4, { timeoutMs: 60_000, description: 'the second member out' });
      assert.equal(history[3], `one assigned ${moved}`, 'the partition left behind, and only it');
      await first.stop();
    }));

  it('a group-less reader held past its session timeout (the directory feed paused for a slice load) is expelled, loses nothing and goes on', async () => {
    // The directory feed is a group-less reader (a group of its own); while a scorer loads a slice the feed's
    // handler waits (app/slice-loader.ts, whilePaused), and kafkajs heartbeats only between batches.
    const { log, joins } = countingJoins(kafkaEnv(kafka.bootstrapServers));
    try {
      const topic = `contract-${randomUUID()}`;
      await kafka.createTopic(topic, 2);
      const records = (tag: string, count: number) =>
        Array.from({ length: count }, (_, i) => ({ key: `k${i % 5}`, value: Buffer.from(`${tag}${i}`) }));
      await log.publish(topic, records('a', 10));
      const seen: LogRecord[] = [];
      let pause: Promise<void> | undefined;
      let paused = false;
      const subscription = await log.subscribe({
        groupId: null,
        topics: [topic],
        handleBatch: async (batch) => {
          if (pause) {
            paused = true;
            await pause;
          }
          seen.push(...batch.records);
        },
      });
      await subscription.caughtUp;
      let resume: () => void = () => {};
      pause = new Promise((resolve) => {
        resume = resolve;
      });
      await log.publish(topic, records('b', 10));
      await waitFor(() => paused, { timeoutMs: 30_000, description: 'a batch held' });
      const joinsBefore = joins();
      // Past the session timeout (KAFKA_SESSION_TIMEOUT_MS, 6 s here): the group expels the member meanwhile.
      await sleep(9_000);
      await log.publish(topic, records('c', 10));
      pause = undefined;
      resume();
      await waitFor(() => seen.length >= 30 && joins() > joinsBefore, {
        timeoutMs: 60_000,
        description: 'every record handled, after the member joined again',
      });
      await log.publish(topic, records('d', 10));
      await waitFor(() => seen.length >= 40, { timeoutMs: 30_000, description: 'records after the pause' });
      await subscription.stop();
      const values = seen.map((record) => record.value!.toString());
      const published = ['a', 'b', 'c', 'd'].flatMap((tag) =>
        records(tag, 10).map((r) => r.value.toString()),
      );
      assert.deepEqual([...values].sort(), [...published].sort(), 'every record once: none lost, none again');
      for (const partition of [0, 1]) {
        const offsets = seen.filter((r) => r.partition === partition).map((r) => Number(r.offset));
        assert.deepEqual(
          offsets,
          [...offsets].sort((x, y) => x - y),
          `partition ${partition} in order`,
        );
      }
    } finally {
      await log.close();
    }
  });

  it('a member expelled while frozen between its flush and its commit never commits what it handled before', async () => {
    // A scorer stopped (SIGSTOP, a long pause) after its store write and before its offset commit loses its
    // membership; another member takes the partition and commits further. When the frozen member wakes and joins
    // again as a new member, even with the same partition back, what it handled under its old membership is the
    // other member's history now: committing it would move the group's offset back.
    const { log: one, joins } = countingJoins(kafkaEnv(kafka.bootstrapServers));
    const two = connect();
    try {
      const topic = `contract-${randomUUID()}`;
      const groupId = `g-${randomUUID()}`;
      await kafka.createTopic(topic, 1);
      const records = (tag: string, count: number) =>
        Array.from({ length: count }, (_, i) => ({ key: 'k', value: Buffer.from(`${tag}${i}`) }));
      const committed = () =>
        withKafkaAdmin(kafka, async (admin) => {
          const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
          return Number(offsets!.partitions[0]!.offset);
        });

      await one.publish(topic, records('a', 5));
      const seenByOne: string[] = [];
      let release: (() => void) | undefined;
      const frozen = new Promise<void>((resolve) => {
        release = resolve;
      });
      let freeze = false;
      await one.subscribe({
        groupId,
        topics: [topic],
        commitIntervalMs: 500,
        handleBatch: valuesInto(seenByOne),
        flush: async () => {
          if (freeze) await frozen;
          return { redeliver: [] };
        },
      });
      await waitFor(async () => (await committed()) === 5, {
        timeoutMs: 30_000,
        description: 'a0-a4 committed',
      });

      // The next flush freezes the member: no heartbeat until it is released, so the group expels it.
      freeze = true;
      await one.publish(topic, records('m', 10));
      await waitFor(() => seenByOne.length === 15, { timeoutMs: 30_000, description: 'm0-m9 handled' });

      const seenByTwo: string[] = [];
      const second = await two.subscribe({
        groupId,
        topics: [topic],
        handleBatch: valuesInto(seenByTwo),
        flush: async () => ({ redeliver: [] }),
      });
      await two.publish(topic, records('n', 5));
      await waitFor(async () => (await committed()) === 20, {
        timeoutMs: 60_000,
        description: 'the second member handled m0-n4 and committed after them',
      });
      assert.deepEqual(
        seenByTwo.slice(0, 10),
        records('m', 10).map((r) => r.value.toString()),
      );
      await second.stop();

      // The frozen member wakes: its commit is refused, it joins again as a new member and gets the partition back.
      const joinsBefore = joins();
      release!();
      await waitFor(() => joins() > joinsBefore, {
        timeoutMs: 60_000,
        description: 'the woken member joined again',
      });
      await one.close();
      assert.equal(await committed(), 20, 'the group resumes after n4, not at m0 again');
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});

// Kafka's alone too, on the mock cluster, which injects these on cue: retriable answers while leaders and group
// coordinators load, and leadership moving while a send is in flight.
describe('KafkaEventLog: faults injected by librdkafka mock cluster', () => {
  let mock: KafkaMock;
  before(async () => {
    mock = await startKafkaMock({ brokers: 3 });
  });
  after(() => mock.stop());

  it('subscribes while the group coordinator is loading and a partition leader is not yet serving', async () => {
    const log = kafkaLogOn(mockClusterEnv(mock.bootstrapServers));
    try {
      const topic = `contract-${randomUUID()}`;
      await mock.createTopic(topic, 2);
      await log.publish(topic, [{ key: 'k', value: Buffer.from('m') }]);
      // What a real cluster answers for a moment after a broker restart or a coordinator failover: retriable
      // errors, each a few times in a row (more than kafkajs' admin retries on its own).
      await mock.pushRequestErrors(ApiKey.ListOffsets, Array(4).fill(KafkaError.NOT_LEADER));
      await mock.pushRequestErrors(ApiKey.OffsetFetch, Array(4).fill(KafkaError.NOT_COORDINATOR));
      const seen: string[] = [];
      const subscription = await log.subscribe({
        groupId: `g-${randomUUID()}`,
        topics: [topic],
        handleBatch: async (batch) => {
          seen.push(...batch.records.map((record) => record.value!.toString()));
        },
      });
      await waitFor(() => seen.length === 1, { timeoutMs: 30_000, description: 'the record' });
      await subscription.stop();
    } finally {
      await log.close();
    }
  });

  it('a group-less reader goes on from the record it reached after its group rebalances, not from the beginning', async () => {
    // kafkajs forgets the offsets it resolved when its member joins the group again, and a group-less reader
    // commits none: without its own positions, the rejoin would hand it the whole topic again.
    const { log, joins } = countingJoins(mockClusterEnv(mock.bootstrapServers));
    try {
      const topic = `contract-${randomUUID()}`;
      await mock.createTopic(topic, 1);
      await log.publish(
        topic,
        ['a0', 'a1', 'a2'].map((value) => ({ key: 'k', value: Buffer.from(value) })),
      );
      const seen: string[] = [];
      const subscription = await log.subscribe({
        groupId: null,
        topics: [topic],
        handleBatch: async (batch) => {
          seen.push(...batch.records.map((record) => record.value!.toString()));
        },
      });
      await waitFor(() => seen.length === 3, { timeoutMs: 30_000, description: 'the first three records' });

      // The group coordinator answers a heartbeat with a rebalance (as after a session timeout): the member joins again.
      await mock.pushRequestErrors(ApiKey.Heartbeat, [KafkaError.REBALANCE_IN_PROGRESS]);
      await waitFor(() => joins() >= 2, {
        timeoutMs: 30_000,
        description: 'the reader joined its group again',
      });
      await log.publish(topic, [{ key: 'k', value: Buffer.from('b0') }]);
      await waitFor(() => seen.includes('b0'), {
        timeoutMs: 30_000,
        description: 'the record after the rejoin',
      });
      await log.settled();
      assert.deepEqual(seen, ['a0', 'a1', 'a2', 'b0']);
      await subscription.stop();
    } finally {
      await log.close();
    }
  });

  it('writes every record when a partition moves to a broker that already acknowledged its part of the send', async () => {
    const log = kafkaLogOn(mockClusterEnv(mock.bootstrapServers));
    try {
      const topic = `contract-${randomUUID()}`;
      await mock.createTopic(topic, 4);
      for (let partition = 0; partition < 4; partition++)
        await mock.setLeader(topic, partition, partition < 2 ? 1 : 2);
      const batch = (tag: string) =>
        Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(`${tag}${i}`) }));
      await log.publish(topic, batch('before-'));

      // The producer still believes broker 1 leads partitions 0 and 1: broker 1 answers NOT_LEADER for them,
      // broker 2 acknowledges its own two, and the retry must still reach broker 2 with partitions 0 and 1.
      await mock.setLeader(topic, 0, 2);
      await mock.setLeader(topic, 1, 2);
      await log.publish(topic, batch('after-'));

      const values = (await readRecords(log, topic)).map((record) => record.value!.toString());
      assert.equal(values.length, 80);
      assert.deepEqual(
        values.filter((value) => value.startsWith('after-')).sort(),
        batch('after-')
          .map((record) => record.value.toString())
          .sort(),
      );
    } finally {
      await log.close();
    }
  });
});
