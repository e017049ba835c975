// The embedded event log holds a bounded window, as brokers do: topics with a retention drop their oldest
// records (by count and by age), compacted topics keep the latest record per key, and readers go on from what
// is left. Without it a long-running `relayguard all` grew with every event.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMBEDDED_MAX_RECORDS_PER_TOPIC, embeddedAdapters } from '../../../services/app/adapters.js';
import { Topics } from '../../../services/core/topics.js';
import { ManualClock } from '../../../services/platform/clock.js';
import { loadConfig } from '../../../services/platform/config.js';
import { MemoryEventLog } from '../../../services/platform/memory/memory-event-log.js';
import type { CleanupPolicy } from '../../../services/platform/memory/partition-log.js';
import type { EventLog, LogRecord } from '../../../services/platform/ports.js';

const HOUR_MS = 3_600_000;

function logWith(policy: CleanupPolicy, clock = new ManualClock(0)) {
  return new MemoryEventLog({ clock, partitions: 1, cleanup: () => policy });
}

async function publishEach(log: EventLog, topic: string, count: number, key = (_i: number) => 'k') {
  for (let i = 0; i < count; i++) {
    await log.publish(topic, [{ key: key(i), value: Buffer.from(String(i)) }]);
  }
}

/** What a reader gets until caught up: every record left, in order (with a group: those after its commit). */
async function readAll(log: EventLog, topic: string, groupId: string | null = null): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  const reader = await log.subscribe({
    groupId,
    topics: [topic],
    handleBatch: async (batch) => void records.push(...batch.records),
  });
  await reader.caughtUp;
  await reader.stop();
  return records;
}

describe('embedded event log cleanup', () => {
  it('keeps at most maxRecords of a topic with a retention, and readers start from the oldest one left', async () => {
    const log = logWith({ kind: 'delete', maxAgeMs: Number.POSITIVE_INFINITY, maxRecords: 100 });
    await publishEach(log, 'events', 10_000);
    assert.equal(log.records('events').length, 100);
    const read = await readAll(log, 'events');
    assert.deepEqual(
      read.map((record) => [record.offset, String(record.value)]),
      Array.from({ length: 100 }, (_, i) => [String(9_900 + i), String(9_900 + i)]),
      'offsets keep their numbers',
    );
  });

  it('drops records older than maxAgeMs', async () => {
    const clock = new ManualClock(0);
    const log = logWith({ kind: 'delete', maxAgeMs: HOUR_MS, maxRecords: 1_000_000 }, clock);
    await publishEach(log, 'events', 50);
    clock.advance(HOUR_MS + 1);
    await publishEach(log, 'events', 3);
    assert.deepEqual(
      log.records('events').map((record) => record.offset),
      ['50', '51', '52'],
    );
  });

  it('keeps the latest record per key of a compacted topic, and what is younger than its compaction lag', async () => {
    const clock = new ManualClock(0);
    const log = logWith({ kind: 'compact', minCompactionLagMs: 0 }, clock);
    await publishEach(log, 'state', 10_000, (i) => `key-${i % 10}`);
    assert.ok(log.records('state').length <= 200, `${log.records('state').length} records held`);
    const latest = new Map((await readAll(log, 'state')).map((record) => [record.key, String(record.value)]));
    assert.deepEqual(
      [...latest].sort(),
      Array.from({ length: 10 }, (_, i) => [`key-${i}`, String(9_990 + i)]).sort(),
    );
    // Within the lag nothing superseded goes: the block history the self-service rule reads.
    const young = logWith({ kind: 'compact', minCompactionLagMs: HOUR_MS }, clock);
    await publishEach(young, 'state', 1_000);
    assert.equal(young.records('state').length, 1_000);
  });

  it('gives a group that fell behind the records left, and then what follows', async () => {
    const log = logWith({ kind: 'delete', maxAgeMs: Number.POSITIVE_INFINITY, maxRecords: 10 });
    await publishEach(log, 'events', 5);
    const seen = await readAll(log, 'events', 'g');
    await publishEach(log, 'events', 100);
    seen.push(...(await readAll(log, 'events', 'g')));
    assert.deepEqual(
      seen.map((record) => record.offset),
      [...'01234'.split(''), ...Array.from({ length: 10 }, (_, i) => String(95 + i))],
    );
  });

  it('bounds the embedded mode: relayguard all keeps a window of MessageSubmitted and the latest state per key', async () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 7));
    // One partition: the fewest records to publish past the bound (it is per topic, whatever the partitions).
    const { log } = embeddedAdapters(loadConfig({ RELAYGUARD_PARTITIONS: '1' }), clock);
    const events = EMBEDDED_MAX_RECORDS_PER_TOPIC + 20_000;
    const value = Buffer.alloc(8);
    for (let i = 0; i < events; i += 1_000) {
      const chunk = Array.from({ length: 1_000 }, (_, j) => ({ key: `tenant-${(i + j) % 5_000}`, value }));
      await log.publish(Topics.messageSubmitted, chunk);
    }
    const held = (log as MemoryEventLog).records(Topics.messageSubmitted).length;
    assert.ok(held <= EMBEDDED_MAX_RECORDS_PER_TOPIC, `${held} of ${events} events held`);
    for (let i = 0; i < 20_000; i++) {
      await log.publish(Topics.connectors, [{ key: `tenant-${i % 100}/connector`, value }]);
    }
    const connectors = (log as MemoryEventLog).records(Topics.connectors).length;
    assert.ok(connectors <= 1_000, `${connectors} connector records held for 100 connectors`);
  });

  it('keeps each topic as long as the brokers do: the audit trail for good, dead letters for days, events a day', async () => {
    const clock = new ManualClock(Date.UTC(2026, 9, 1));
    const { log } = embeddedAdapters(loadConfig({}), clock);
    const one = [{ key: 'acme', value: Buffer.from('x') }];
    for (const topic of [Topics.audit, Topics.messageSubmittedDlq, Topics.messageSubmitted])
      await log.publish(topic, one);
    // Two days on, the next record of each topic is what cleans it up.
    clock.advance(2 * 24 * HOUR_MS);
    for (const topic of [Topics.audit, Topics.messageSubmittedDlq, Topics.messageSubmitted])
      await log.publish(topic, one);
    const held = (topic: string) => (log as MemoryEventLog).records(topic).length;
    assert.equal(held(Topics.audit), 2, 'the audit trail keeps the onboarding of two days ago');
    assert.equal(held(Topics.messageSubmittedDlq), 2, 'dead letters wait two weeks for an operator');
    assert.equal(held(Topics.messageSubmitted), 1, 'events are kept a day');
    clock.advance(100 * 24 * HOUR_MS);
    await log.publish(Topics.audit, one);
    assert.equal(held(Topics.audit), 3, 'and a hundred days on');
  });
});
