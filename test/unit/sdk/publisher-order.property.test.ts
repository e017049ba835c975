// The relay SDK's publisher sends at once when nothing is in flight and batches while a send is outstanding:
// for any sequence of messages, pauses between them, batch limits, send latencies and failed sends (refused
// before the write, or written with the acknowledgement lost), no delivered event is lost and each tenant's
// events reach the log in the order they were published.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import fc from 'fast-check';
import { Topics } from '../../../services/core/topics.js';
import { ManualClock } from '../../../services/platform/clock.js';
import { EmbeddedCodec } from '../../../services/platform/codec/embedded-codec.js';
import { MemoryEventLog } from '../../../services/platform/memory/memory-event-log.js';
import type { OutgoingRecord } from '../../../services/platform/ports.js';
import { MessagePublisher, type SubmittedMessage } from '../../../services/sdk/index.js';
import { assertNoLossNoReorder, type PublishCall } from '../../support/publish-order.js';

const clock = new ManualClock(Date.UTC(2026, 10, 28, 9));

/** 0: no wait, 1: a microtask, 2: a turn of the event loop. */
type Wait = 0 | 1 | 2;
const wait = async (turns: Wait) => {
  if (turns === 1) await Promise.resolve();
  else if (turns === 2) await nextTurn();
};
const waits = fc.constantFrom<Wait>(0, 1, 2);

type SendOutcome = 'written' | 'refused' | 'ack-lost';

function message(i: number, tenant: number): SubmittedMessage {
  return {
    tenantId: `t${tenant}`,
    connectorId: `t${tenant}-onprem`,
    relayPath: 'ONPREM',
    sender: `user@t${tenant}.example`,
    queueId: `Q${i}`,
    relayHost: 'relay-1',
    recipientCount: 1,
    sizeBytes: 1000,
  };
}

describe('relay SDK: MessagePublisher order and loss (property)', () => {
  it('loses no delivered event and keeps each tenant in order, whatever the timing and failed sends', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ tenant: fc.integer({ min: 0, max: 3 }), pause: waits }), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.array(
          fc.record({
            latency: waits,
            outcome: fc.constantFrom<SendOutcome>('written', 'refused', 'ack-lost'),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        fc.integer({ min: 1, max: 6 }),
        async (messages, sends, maxBatch) => {
          const log = new MemoryEventLog({ clock, partitions: 2 });
          const write = log.publish.bind(log);
          const sizes: number[] = [];
          log.publish = async (topic: string, records: readonly OutgoingRecord[]) => {
            const send = sends[sizes.length % sends.length]!;
            sizes.push(records.length);
            await wait(send.latency);
            if (send.outcome === 'refused') throw new Error('broker unreachable');
            await write(topic, records);
            if (send.outcome === 'ack-lost') throw new Error('request timed out');
          };
          const codec = new EmbeddedCodec();
          const publisher = new MessagePublisher({ log, codec, clock, maxBatch });
          const calls: PublishCall[] = [];
          const settled: Promise<unknown>[] = [];
          for (const [i, { tenant, pause }] of messages.entries()) {
            const call: PublishCall = { tenantId: `t${tenant}`, eventId: `relay-1/Q${i}` };
            calls.push(call);
            settled.push(
              publisher.publish(message(i, tenant)).then(
                () => {
                  call.delivered = true;
                },
                () => {
                  call.delivered = false;
                },
              ),
            );
            await wait(pause);
          }
          await publisher.close();
          await Promise.all(settled);
          assert.ok(
            sizes.every((size) => size <= maxBatch),
            `sends of at most ${maxBatch}: ${sizes}`,
          );
          const logged = await Promise.all(
            log
              .records(Topics.messageSubmitted)
              .map((record) => codec.decode(Topics.messageSubmitted, record.value!)),
          );
          assertNoLossNoReorder(calls, logged);
        },
      ),
      { numRuns: 300 },
    );
  });
});
