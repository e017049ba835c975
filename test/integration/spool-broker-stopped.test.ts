// The stalled-leader fault on a real Apache Kafka broker: the partition leader is frozen (SIGSTOP: its sockets
// stay open and nothing answers, as during a long GC pause or a stuck disk) while relays keep sending
// END-OF-MESSAGE. With the spool every relay is answered at local-disk speed throughout; once the broker is
// resumed, every answered event is on the topic, none lost.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ProductionStack, startProductionStack } from '../support/production-stack.js';
import { startRelayFleet } from '../support/relay-fleet.js';
import { cleanupStack } from '../support/tether.js';

const STOPPED_MS = 5_000;

describe('END-OF-MESSAGE while the Kafka partition leader is stopped (SIGSTOP)', () => {
  const defer = cleanupStack({ after });
  let stack: ProductionStack;
  let fleet: Awaited<ReturnType<typeof startRelayFleet>>;

  before(async () => {
    stack = await startProductionStack();
    defer(() => stack.stop());
    const directory = await mkdtemp(join(tmpdir(), 'relayguard-spool-'));
    defer(() => rm(directory, { recursive: true, force: true }));
    fleet = await startRelayFleet(stack.env, directory, defer);
  });

  it('answers every relay throughout, and loses no event', async () => {
    const answered: number[] = [];
    await fleet.round(500, answered); // the producer connected, the schema registered
    const broker = stack.kafka.nodes[0]!;
    const duringStop: number[] = [];
    process.kill(broker.pid, 'SIGSTOP');
    try {
      await fleet.round(STOPPED_MS, duringStop);
    } finally {
      process.kill(broker.pid, 'SIGCONT');
    }
    answered.push(...duringStop);
    // Without the spool no answer comes while the leader is stopped (each waits for acks=all): here hundreds do,
    // none of them waiting for the broker.
    assert.ok(duringStop.length >= 100, `${duringStop.length} answers while the broker was stopped`);
    const slowest = Math.max(...duringStop);
    assert.ok(slowest < STOPPED_MS / 2, `the slowest answer took ${slowest.toFixed(0)} ms`);

    const { ids: published } = await fleet.published(answered.length);
    assert.equal(published.size, answered.length, 'each answered message is one event on the topic');
  });
});
