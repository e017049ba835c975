// The chaos harness's supervisor (test/chaos/harness.ts): a `relayguard scorer` that exits on its own — a
// consumer crash that kafkajs will not restart — is restarted as systemd or docker-compose would restart it, and
// reported with its exit code and last lines; one killed on purpose stays down and is not reported; a crash loop
// is given up.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lastLines, mockKafka, ServiceProcess, startChaosStack } from '../chaos/harness.js';
import { cleanupStack, waitFor } from '../support/tether.js';

/** Kafka's JoinGroup API key, and a non-retriable error code for it (GROUP_AUTHORIZATION_FAILED). */
const JOIN_GROUP = 11;
const GROUP_AUTHORIZATION_FAILED = 30;

describe('chaos harness supervisor', () => {
  it('prints the last lines as messages, without tokens or mail addresses', () => {
    const output = [
      'relayguard scorer',
      JSON.stringify({ level: 50, msg: 'rejected mail from alice.smith+x@mail.t01.example' }),
      JSON.stringify({
        level: 60,
        msg: 'crashed',
        err: { message: 'token s3cr3t-0123456789abcdef refused' },
      }),
      '',
    ].join('\n');
    assert.deepEqual(lastLines(output, ['s3cr3t-0123456789abcdef']), [
      'relayguard scorer',
      'rejected mail from <address>',
      'crashed: token [redacted] refused',
    ]);
  });

  it('restarts a scorer that exited on its own, and not one killed on purpose', async (t) => {
    const defer = cleanupStack(t);
    const stack = await startChaosStack(['t00']);
    defer(() => stack.stop());
    // The scorer's first JoinGroup fails with an error kafkajs does not retry: its consumer crashes for good.
    await mockKafka(stack).pushRequestErrors(JOIN_GROUP, [GROUP_AUTHORIZATION_FAILED]);
    const scorer = new ServiceProcess('scorer', stack.env);
    defer(() => scorer.stop());
    await scorer.start();
    const crashedPid = scorer.pid;
    await waitFor(() => scorer.unplannedExits.length > 0, {
      timeoutMs: 60_000,
      description: 'the scorer to exit on its own',
    });
    await scorer.ready();

    assert.notEqual(scorer.pid, crashedPid, 'a new process');
    const [exit] = scorer.unplannedExits;
    assert.deepEqual(
      { code: exit?.code, signal: exit?.signal, restarted: exit?.restarted },
      { code: 1, signal: null, restarted: true },
    );
    assert.ok(
      exit?.lastLines.some((line) => line.startsWith('stopping after a failure that will not heal')),
      exit?.lastLines.join('\n'),
    );

    await scorer.kill();
    assert.deepEqual(
      { running: scorer.running, restarting: scorer.restarting, unplanned: scorer.unplannedExits.length },
      { running: false, restarting: false, unplanned: 1 },
      'killed on purpose: neither restarted nor reported',
    );
  });

  it("leaves a crash loop down after 5 restarts, as systemd's start limit does", async (t) => {
    // Invalid configuration: the process exits 3 at once, every time.
    const scorer = new ServiceProcess('scorer', { RELAYGUARD_PARTITIONS: 'many' });
    t.after(() => scorer.stop());
    await scorer.start();
    await assert.rejects(scorer.ready(120_000), /exited with code 3 on its own after 5 restarts/);
    assert.deepEqual(
      scorer.unplannedExits.map((exit) => [exit.code, exit.restarted]),
      [...Array(5).fill([3, true]), [3, false]],
    );
    assert.ok(
      scorer.unplannedExits.every((exit) => exit.lastLines.some((l) => l.includes('RELAYGUARD_PARTITIONS'))),
    );
    assert.deepEqual(
      { running: scorer.running, restarting: scorer.restarting },
      { running: false, restarting: false },
    );
  });
});
