// Bad input is never silently dropped: every poison event reaches the dead-letter topic with its original bytes
// and a reason, is counted, and the consumer moves on.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Topics } from '../../../services/core/topics.js';
import { DlqHeaders } from '../../../services/scorer/dead-letter.js';
import { skippedFieldCases } from '../../support/avro-bytes.js';
import { messageSubmitted } from '../../support/builders.js';
import { OPERATOR, type PipelineDriver, startPipeline } from '../../support/pipeline-driver.js';

describe('scorer: bad input', () => {
  let driver: PipelineDriver;
  const start = Date.UTC(2026, 10, 28, 9);

  before(async () => {
    driver = await startPipeline({}, start);
    await driver.runtime.admin!.putAcceptedDomain(OPERATOR, 'acme', 'acme.example', false);
  });
  after(() => driver.stop());

  it('dead-letters each kind of poison event with its reason and original bytes, and counts the good ones', async () => {
    const { codec } = driver.runtime.adapters;
    const encode = (overrides: Parameters<typeof messageSubmitted>[0]) =>
      codec.encode(Topics.messageSubmitted, messageSubmitted(overrides));
    const good = await encode({ tenantId: 'acme', occurredAt: start });
    const unknownSchema = Buffer.from(good);
    unknownSchema.writeInt32BE(424242, 1);
    const poison: [string, string, Buffer][] = [
      ['UNDECODABLE', 'acme', Buffer.from('not avro at all')],
      ['UNKNOWN_SCHEMA_ID', 'acme', unknownSchema],
      ['SCHEMA_MISMATCH', 'acme', good.subarray(0, good.length - 4)],
      [
        'INVALID_DOMAIN',
        'acme',
        await encode({ tenantId: 'acme', occurredAt: start, envelopeSenderDomain: 'bad_domain..example' }),
      ],
      ['MISSING_FIELD', '', await encode({ tenantId: '', occurredAt: start })],
      ['UNKNOWN_TENANT', 'nobody', await encode({ tenantId: 'nobody', occurredAt: start })],
      ['FUTURE_EVENT', 'acme', await encode({ tenantId: 'acme', occurredAt: start + 3_600_000 })],
    ];
    await driver.log.publish(Topics.messageSubmitted, [
      { key: 'acme', value: good },
      ...poison.map(([, key, value]) => ({ key, value })),
      { key: 'acme', value: await encode({ tenantId: 'acme', occurredAt: start + 1000 }) },
    ]);
    await driver.settle();

    const dlq = driver.log.records(Topics.messageSubmittedDlq);
    assert.deepEqual(
      dlq.map((r) => r.headers[DlqHeaders.errorCode]).sort(),
      poison.map(([code]) => code).sort(),
    );
    for (const [code, , bytes] of poison) {
      const record = dlq.find((r) => r.headers[DlqHeaders.errorCode] === code)!;
      assert.deepEqual(record.value, bytes, `${code}: original bytes kept`);
      assert.equal(record.headers[DlqHeaders.sourceTopic], Topics.messageSubmitted);
      assert.match(record.headers[DlqHeaders.sourceOffset]!, /^\d+$/);
      assert.ok(
        record.headers[DlqHeaders.errorMessage]!.length > 10,
        `${code}: a reason a person can act on`,
      );
    }
    const invalidDomain = dlq.find((r) => r.headers[DlqHeaders.errorCode] === 'INVALID_DOMAIN')!;
    assert.equal(invalidDomain.headers[DlqHeaders.errorField], 'envelopeSenderDomain');

    const status = await driver.runtime.admin!.status('acme');
    assert.equal(status.counters.total, 2, 'both good events counted around the poison');
    const metrics = await driver.runtime.metrics.registry.getSingleMetricAsString(
      'relayguard_events_dead_lettered_total',
    );
    for (const [code] of poison) assert.match(metrics, new RegExp(`reason="${code}"} 1`));
  });

  it('scores an event whose unread field holds a value outside its type; dead-letters one whose bytes do not frame', async () => {
    // The scorer decodes only the fields it reads (SCORED_FIELDS): the others are skipped, so a recipient count
    // beyond an int's range is not its concern, while a field that cannot be skipped is still SCHEMA_MISMATCH.
    const { codec } = driver.runtime.adapters;
    const event = messageSubmitted({ tenantId: 'acme', occurredAt: start + 2000 });
    const framed = await codec.encode(Topics.messageSubmitted, event);
    const counted = (await driver.runtime.admin!.status('acme')).counters.total;
    const { outOfRange, thirdBranch } = skippedFieldCases(framed, event);
    await driver.log.publish(Topics.messageSubmitted, [
      { key: 'acme', value: outOfRange },
      { key: 'acme', value: thirdBranch },
    ]);
    await driver.settle();

    assert.equal((await driver.runtime.admin!.status('acme')).counters.total, counted + 1);
    const dlq = driver.log
      .records(Topics.messageSubmittedDlq)
      .filter((r) => r.value?.equals(outOfRange) || r.value?.equals(thirdBranch));
    assert.deepEqual(
      dlq.map((r) => r.headers[DlqHeaders.errorCode]),
      ['SCHEMA_MISMATCH'],
    );
    assert.deepEqual(dlq[0]!.value, thirdBranch);
  });
});
