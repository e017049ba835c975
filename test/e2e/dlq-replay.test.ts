// `relayguard dlq replay` on Kafka + Schema Registry + Redis: mail of a tenant onboarded after the scorer's retry
// window is dead-lettered as UNKNOWN_TENANT; once the tenant exists, the command (the real executable) publishes
// the selected dead letters again and the scorer counts them — once, however often the replay runs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Topics } from '../../services/core/topics.js';
import { DlqHeaders } from '../../services/scorer/dead-letter.js';
import type { DlqReplaySummary } from '../../services/scorer/dlq-replay.js';
import { messageSubmitted } from '../support/builders.js';
import { runCli } from '../support/cli.js';
import { readRecords } from '../support/enforcement.js';
import { OPERATOR, productionPipelineSuite } from '../support/pipeline-driver.js';
import { waitFor } from '../support/tether.js';

const START = Date.UTC(2026, 10, 28, 9);
const LATE = 'dlq-late-onboarded';
const NEVER = 'dlq-never-onboarded';

describe('relayguard dlq replay on Kafka + Schema Registry + Redis', () => {
  const suite = productionPipelineSuite({ partitions: 3 }, START);
  const deadLetters = () => readRecords(suite.driver.log, Topics.messageSubmittedDlq);
  const replay = async (...args: string[]): Promise<DlqReplaySummary> => {
    const run = await runCli(['dlq', 'replay', ...args, '--json'], suite.stack.env);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as DlqReplaySummary;
  };
  const counted = async (tenantId: string) =>
    (await suite.driver.runtime.admin!.status(tenantId)).counters.total;

  it('publishes the selected dead letters again; the scorer counts each event once, however often it runs', async () => {
    const { driver } = suite;
    // Mail of two tenants nobody onboarded yet: dead-lettered once the scorer's retries (about 16 s) run out.
    const mail = (tenantId: string, count: number) =>
      Array.from({ length: count }, (_, i) =>
        messageSubmitted({
          eventId: `${tenantId}-${i}`,
          tenantId,
          occurredAt: START + i * 1_000,
          envelopeSenderDomain: `${tenantId}.example`,
        }),
      );
    driver.clock.set(START + 5 * 60_000);
    await driver.publish([...mail(LATE, 30), ...mail(NEVER, 5)]);
    await waitFor(async () => (await deadLetters()).length === 35, {
      timeoutMs: 60_000,
      description: 'the 35 events dead-lettered',
    });
    const dlq = await deadLetters();
    assert.ok(dlq.every((record) => record.headers[DlqHeaders.errorCode] === 'UNKNOWN_TENANT'));

    // The tenant is onboarded after the retry window.
    await driver.runtime.admin!.putAcceptedDomain(OPERATOR, LATE, `${LATE}.example`, true);
    await driver.settle();

    const dryRun = await replay('--tenant', LATE, '--dry-run');
    assert.deepEqual(
      { read: dryRun.read, selected: dryRun.selected, republished: dryRun.republished },
      { read: 35, selected: 30, republished: 0 },
    );
    await driver.settle();
    assert.equal(await counted(LATE), 0, 'a dry run publishes nothing');

    const first = await replay('--tenant', LATE, '--reason', 'UNKNOWN_TENANT');
    assert.equal(first.republished, 30);
    assert.deepEqual(
      first.groups.map(({ reason, tenantId, events }) => ({ reason, tenantId, events })),
      [{ reason: 'UNKNOWN_TENANT', tenantId: LATE, events: 30 }],
    );
    await driver.settle();
    assert.equal(await counted(LATE), 30, 'every replayed event counted');

    // Again: the same event ids, counted once.
    const second = await replay('--tenant', LATE);
    assert.equal(second.republished, 30);
    await driver.settle();
    assert.equal(await counted(LATE), 30, 'a second replay counts nothing twice');

    // The tenant still unknown was not selected, so it was not dead-lettered again either.
    assert.equal((await deadLetters()).length, 35);
    const later = await replay('--from', new Date(Date.now() + 60_000).toISOString());
    assert.deepEqual({ read: later.read, selected: later.selected }, { read: 35, selected: 0 });
  });

  it('refuses a reason that is not an error code, naming the flag', async () => {
    const run = await runCli(['dlq', 'replay', '--reason', 'UNKNOWN_TENANTS'], suite.stack.env);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--reason.*UNKNOWN_TENANTS is not an error code/);
  });
});
