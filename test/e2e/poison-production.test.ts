// Poison events on the production adapters: 1% malformed events among 10,000 → every malformed one in the
// dead-letter topic with its original bytes and its reason, every good one counted, the consumer never stalls
// (the scorer group's committed offsets reach the end of every partition).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ErrorCode } from '../../services/core/errors.js';
import { Topics } from '../../services/core/topics.js';
import { frame } from '../../services/platform/codec/avro.js';
import { loadConfig } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka/kafka-client.js';
import { silentLogger } from '../../services/platform/logger.js';
import type { OutgoingRecord } from '../../services/platform/ports.js';
import { DlqHeaders } from '../../services/scorer/dead-letter.js';
import { SCORER_GROUP } from '../../services/scorer/scorer.js';
import { messageSubmitted, seededRandom } from '../support/builders.js';
import { exampleTenant, onboard, readRecords } from '../support/enforcement.js';
import { productionPipelineSuite } from '../support/pipeline-driver.js';

const EVENTS = 10_000;
const TENANTS = 20;
const START = Date.UTC(2026, 10, 28, 9);

describe('poison events on Kafka + Schema Registry + Redis', () => {
  const suite = productionPipelineSuite({ partitions: 3 }, START);

  it('dead-letters every malformed event with its reason, counts every good one, and never stalls', async () => {
    const { stack, driver } = suite;
    const admin = driver.runtime.admin!;
    const tenants = Array.from({ length: TENANTS }, (_, i) => `poison-${i}`);
    for (const [i, tenantId] of tenants.entries()) {
      await onboard(driver, exampleTenant(tenantId, `203.0.${i}.0/24`));
    }

    const { codec } = driver.runtime.adapters;
    const encode = (tenantId: string, overrides: Omit<Parameters<typeof messageSubmitted>[0], 'tenantId'>) =>
      codec.encode(Topics.messageSubmitted, messageSubmitted({ ...overrides, tenantId }));
    // One malformed event in a hundred, of each kind in turn; the rest registered mail spread over 30 minutes.
    const kinds: Array<[ErrorCode, (tenantId: string, at: number) => Promise<Buffer>]> = [
      ['UNDECODABLE', async () => Buffer.from('{"not":"avro"}')],
      [
        'UNKNOWN_SCHEMA_ID',
        async (t, at) => frame(987_654, (await encode(t, { occurredAt: at })).subarray(5)),
      ],
      ['SCHEMA_MISMATCH', async (t, at) => (await encode(t, { occurredAt: at })).subarray(0, 12)],
      ['INVALID_DOMAIN', (t, at) => encode(t, { occurredAt: at, envelopeSenderDomain: 'not a domain!' })],
      ['MISSING_FIELD', (_, at) => encode('', { occurredAt: at })],
      ['UNKNOWN_TENANT', (_, at) => encode('nobody', { occurredAt: at })],
    ];
    const random = seededRandom(42);
    const records: OutgoingRecord[] = [];
    const expectedReason = new Map<string, ErrorCode>();
    const goodPerTenant = new Map<string, number>();
    for (let i = 0; i < EVENTS; i++) {
      const tenantId = tenants[Math.floor(random() * TENANTS)]!;
      const at = START + Math.floor((i / EVENTS) * 30 * 60_000);
      if (i % 100 === 50) {
        const [reason, make] = kinds[((i / 100) % kinds.length) | 0]!;
        const value = await make(tenantId, at);
        // The key a relay would use; the tenant-less event has none to give.
        const key = reason === 'MISSING_FIELD' ? '' : reason === 'UNKNOWN_TENANT' ? 'nobody' : tenantId;
        records.push({ key, value, headers: { 'test.index': String(i) } });
        expectedReason.set(String(i), reason);
      } else {
        records.push({
          key: tenantId,
          value: await encode(tenantId, { occurredAt: at, envelopeSenderDomain: `mail.${tenantId}.example` }),
        });
        goodPerTenant.set(tenantId, (goodPerTenant.get(tenantId) ?? 0) + 1);
      }
    }
    assert.equal(expectedReason.size, EVENTS / 100);
    driver.clock.set(START + 30 * 60_000);
    for (let from = 0; from < records.length; from += 1_000) {
      await driver.log.publish(Topics.messageSubmitted, records.slice(from, from + 1_000));
    }
    await driver.settle();

    // Never stalls: the scorer group committed every offset of every partition.
    const config = loadConfig(stack.env);
    const kafkaAdmin = createKafka(config.kafka!, silentLogger).admin();
    await kafkaAdmin.connect();
    try {
      const ends = await kafkaAdmin.fetchTopicOffsets(Topics.messageSubmitted);
      const [committed] = await kafkaAdmin.fetchOffsets({
        groupId: SCORER_GROUP,
        topics: [Topics.messageSubmitted],
      });
      assert.deepEqual(
        committed!.partitions.map((p) => [p.partition, p.offset]).sort(),
        ends.map((p) => [p.partition, p.high]).sort(),
      );
      assert.equal(
        ends.reduce((sum, p) => sum + Number(p.high), 0),
        EVENTS,
      );
    } finally {
      await kafkaAdmin.disconnect();
    }

    // Every malformed event in the DLQ, once, with its original bytes, source and reason.
    const dlq = await readRecords(driver.log, Topics.messageSubmittedDlq);
    assert.equal(dlq.length, expectedReason.size, 'every malformed event dead-lettered once');
    for (const record of dlq) {
      const index = record.headers['test.index']!;
      const original = records[Number(index)]!;
      assert.equal(record.headers[DlqHeaders.errorCode], expectedReason.get(index), `event ${index}`);
      assert.equal(record.headers[DlqHeaders.sourceTopic], Topics.messageSubmitted);
      assert.match(record.headers[DlqHeaders.sourceOffset]!, /^\d+$/);
      assert.ok(record.headers[DlqHeaders.errorMessage]!.length > 0, 'the reason in words');
      assert.deepEqual(record.value, original.value, `event ${index}: the original bytes`);
    }

    // Every good event counted, none twice.
    for (const tenantId of tenants) {
      const { counters } = await admin.status(tenantId);
      assert.equal(counters.total, goodPerTenant.get(tenantId) ?? 0, tenantId);
      assert.equal(counters.unregistered, 0, tenantId);
    }
    assert.equal((await driver.blockEvents()).length, 0);
  });
});
