// Relays decoupled from the broker: with the spool, END-OF-MESSAGE answers keep coming while the event log is
// stalled (a leader election, an outage), and every answered event reaches the log once it resumes, each tenant
// in order. Without it the relay's session waits on the broker. A full spool answers as configured, counted.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { MessageSubmitted } from '../../services/core/contracts.generated.js';
import { Topics } from '../../services/core/topics.js';
import { SPOOL_FULL_DEFER } from '../../services/enforcer/postfix/handler.js';
import { systemClock } from '../../services/platform/clock.js';
import { EmbeddedCodec } from '../../services/platform/codec/embedded-codec.js';
import type { SpoolConfig } from '../../services/platform/config.js';
import { MemoryEventLog } from '../../services/platform/memory/memory-event-log.js';
import { endOfMessage } from '../support/enforcement.js';
import { Gate } from '../support/gate.js';
import { startSpoolingEnforcer } from '../support/relay-fleet.js';
import { cleanupStack, waitFor } from '../support/tether.js';

const TENANTS = [
  { tenantId: 't1', range: '192.0.2.0/24', client: '192.0.2.1' },
  { tenantId: 't2', range: '198.51.100.0/24', client: '198.51.100.1' },
] as const;

/** A memory event log whose publish can be held, as a broker electing a leader holds a produce request. */
class StallableLog extends MemoryEventLog {
  readonly gate = new Gate();
  stalledPublishes = 0;

  override async publish(...args: Parameters<MemoryEventLog['publish']>): Promise<void> {
    if (this.gate.stalled) this.stalledPublishes++;
    await this.gate.pass();
    return super.publish(...args);
  }
}

const directories: string[] = [];
after(() => Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true }))));

async function startEnforcer(spool: Partial<SpoolConfig> | undefined, defer: (fn: () => unknown) => void) {
  const log = new StallableLog({ clock: systemClock });
  const codec = new EmbeddedCodec();
  let directory: string | undefined;
  if (spool) {
    directory = await mkdtemp(join(tmpdir(), 'relayguard-spool-'));
    directories.push(directory);
  }
  const { metrics, clients } = await startSpoolingEnforcer(
    {
      log,
      codec,
      spool: directory ? { directory, maxBytes: 1 << 30, whenFull: 'accept', ...spool } : undefined,
      tenants: TENANTS,
      connections: 4,
    },
    defer,
  );
  // First of the cleanups: the enforcer's close waits for what it still publishes.
  defer(() => log.gate.resume());
  return {
    log,
    metrics,
    clients,
    async published(): Promise<MessageSubmitted[]> {
      return Promise.all(
        log.records(Topics.messageSubmitted).map((r) => codec.decode(Topics.messageSubmitted, r.value!)),
      );
    },
  };
}

describe('END-OF-MESSAGE with the event log stalled', () => {
  it('answers every relay from the spool, and publishes every answered event, in order, once the log resumes', async (t) => {
    const defer = cleanupStack(t);
    const spooled = await startEnforcer({}, defer);
    const waiting = await startEnforcer(undefined, defer);
    {
      spooled.log.gate.stall();
      waiting.log.gate.stall();
      // Without the spool the relay's session hangs on the broker: this answer does not come while it stalls.
      let waitingAnswered = false;
      const waitingAnswer = waiting.clients[0]!.request(endOfMessage('192.0.2.1', 'a@t1.example', 'W1')).then(
        (answer) => {
          waitingAnswered = true;
          return answer;
        },
      );
      await waitFor(() => waiting.log.stalledPublishes > 0, { description: 'the publish reached the log' });

      // 4 relays' sessions, 50 messages each, alternating tenants: every one answered while the log stalls.
      const answers = await Promise.all(
        spooled.clients.map(async (client, c) => {
          const mine: string[] = [];
          for (let n = 0; n < 50; n++) {
            const { tenantId, client: address } = TENANTS[n % 2]!;
            mine.push(await client.request(endOfMessage(address, `s@${tenantId}.example`, `Q${c}x${n}`)));
          }
          return mine;
        }),
      );
      assert.deepEqual(new Set(answers.flat()), new Set(['DUNNO']));
      assert.equal(answers.flat().length, 200);
      assert.equal(waitingAnswered, false, 'the relay without a spool still waits for the broker');
      assert.equal((await spooled.published()).length, 0, 'nothing reached the stalled log');
      assert.equal((await spooled.metrics.spoolEvents.get()).values[0]?.value, 200);

      spooled.log.gate.resume();
      waiting.log.gate.resume();
      assert.equal(await waitingAnswer, 'DUNNO');
      await waitFor(async () => (await spooled.published()).length >= 200, { description: 'spool drained' });
      const events = await spooled.published();
      assert.equal(new Set(events.map((event) => event.eventId)).size, 200, 'no event lost or doubled');
      // Each tenant's messages from each relay session reach the log (its partition) in the order they were sent.
      for (let c = 0; c < 4; c++) {
        for (const [t, { tenantId }] of TENANTS.entries()) {
          const order = events
            .filter((event) => event.tenantId === tenantId && event.queueId?.startsWith(`Q${c}x`))
            .map((event) => Number(event.queueId!.slice(`Q${c}x`.length)));
          assert.deepEqual(
            order,
            Array.from({ length: 25 }, (_, n) => 2 * n + t),
          );
        }
      }
      await waitFor(async () => (await spooled.metrics.spoolEvents.get()).values[0]?.value === 0);
    }
  });

  for (const [whenFull, expected] of [
    ['defer', SPOOL_FULL_DEFER],
    ['accept', 'DUNNO'],
  ] as const) {
    it(`answers a full spool with the configured action (${whenFull}), counted, never a dropped connection`, async (t) => {
      const enforcement = await startEnforcer({ maxBytes: 2_000, whenFull }, cleanupStack(t));
      {
        enforcement.log.gate.stall();
        const client = enforcement.clients[0]!;
        const answers: string[] = [];
        for (let n = 0; n < 20; n++)
          answers.push(await client.request(endOfMessage('192.0.2.1', 's@t1.example', `F${n}`)));
        const full = answers.filter((answer) => answer === expected && answer !== 'DUNNO').length;
        const counted = (await enforcement.metrics.spoolFull.get()).values.find(
          (v) => v.labels.action === whenFull,
        );
        assert.ok(counted && counted.value > 0, 'the full spool is counted');
        if (whenFull === 'defer') assert.equal(full, counted.value);
        assert.equal(answers.length, 20, 'every request answered on the same connection');
        const errors = (await enforcement.metrics.policyProtocolErrors.get()).values;
        assert.equal(
          errors.reduce((sum, v) => sum + v.value, 0),
          0,
          'no connection dropped',
        );
        enforcement.log.gate.resume();
        await waitFor(async () => (await enforcement.published()).length === 20 - counted.value);
      }
    });
  }
});
