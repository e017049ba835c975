// The relay SDK's publisher on the memory adapters: at once when idle, batches while a send is in flight,
// delivery errors reach the caller,
// close() flushes, the queue is bounded, and only domains leave the relay.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Topics } from '../../../services/core/topics.js';
import { ManualClock } from '../../../services/platform/clock.js';
import { EmbeddedCodec } from '../../../services/platform/codec/embedded-codec.js';
import { deferred } from '../../../services/platform/deferred.js';
import { MemoryEventLog } from '../../../services/platform/memory/memory-event-log.js';
import type { OutgoingRecord } from '../../../services/platform/ports.js';
import { isRelayguardError, MessagePublisher, type SubmittedMessage } from '../../../services/sdk/index.js';

const clock = new ManualClock(Date.UTC(2026, 10, 28, 9));

function message(i: number, overrides: Partial<SubmittedMessage> = {}): SubmittedMessage {
  return {
    tenantId: 'acme',
    connectorId: 'acme-onprem',
    relayPath: 'ONPREM',
    sender: `user${i}@acme.example`,
    queueId: `Q${i}`,
    relayHost: 'relay-1',
    recipientCount: 1,
    sizeBytes: 1000 + i,
    ...overrides,
  };
}

/** A memory log that records the size of every publish call. */
function recordingLog() {
  const log = new MemoryEventLog({ clock });
  const calls: number[] = [];
  const publish = log.publish.bind(log);
  log.publish = async (topic: string, records: readonly OutgoingRecord[]) => {
    calls.push(records.length);
    return publish(topic, records);
  };
  return { log, calls };
}

/** The messages the log holds, decoded, in the order they were written. */
function submittedOn(log: MemoryEventLog, codec: EmbeddedCodec) {
  return Promise.all(
    log
      .records(Topics.messageSubmitted)
      .map((record) => codec.decode(Topics.messageSubmitted, record.value!)),
  );
}

describe('relay SDK: MessagePublisher', () => {
  it('sends the first message at once and the rest in batches of maxBatch after the one in flight, in order', async () => {
    const { log, calls } = recordingLog();
    const codec = new EmbeddedCodec();
    const publisher = new MessagePublisher({ log, codec, clock, maxBatch: 10 });
    const events = await Promise.all(Array.from({ length: 25 }, (_, i) => publisher.publish(message(i))));
    assert.deepEqual(calls, [1, 10, 10, 4]);
    const stored = await submittedOn(log, codec);
    assert.deepEqual(
      stored.map((event) => event.queueId),
      events.map((event) => event.queueId),
    );
    assert.deepEqual(
      events.map((event) => event.eventId),
      Array.from({ length: 25 }, (_, i) => `relay-1/Q${i}`),
    );
    assert.equal(publisher.pending, 0);
  });

  it('sends a message at once when nothing is in flight: no timer, one publish each at low load', async () => {
    const { log, calls } = recordingLog();
    const publisher = new MessagePublisher({ log, codec: new EmbeddedCodec(), clock });
    const first = publisher.publish(message(1));
    // Already handed to the log before anything else ran (no linger): the encode is its only wait.
    await Promise.resolve();
    await Promise.resolve();
    assert.deepEqual(calls, [1]);
    await first;
    await publisher.publish(message(2));
    assert.deepEqual(calls, [1, 1]);
  });

  it('gathers the messages that arrive while a send is in flight into the next one', async () => {
    const log = new MemoryEventLog({ clock });
    const calls: number[] = [];
    const acknowledged = deferred();
    const publish = log.publish.bind(log);
    log.publish = async (topic: string, records: readonly OutgoingRecord[]) => {
      calls.push(records.length);
      if (calls.length === 1) await acknowledged.promise;
      return publish(topic, records);
    };
    const publisher = new MessagePublisher({ log, codec: new EmbeddedCodec(), clock });
    const sent = [publisher.publish(message(1))];
    await new Promise((resolve) => setImmediate(resolve));
    sent.push(publisher.publish(message(2)), publisher.publish(message(3)));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(calls, [1], 'one send in flight at a time');
    acknowledged.resolve();
    await Promise.all(sent);
    assert.deepEqual(calls, [1, 2]);
  });

  it('sends only domains: local parts never leave the relay', async () => {
    const { log } = recordingLog();
    const publisher = new MessagePublisher({ log, codec: new EmbeddedCodec(), clock });
    const event = await publisher.publish(
      message(7, { sender: 'ceo.private@acme.example', headerFrom: 'x@Mail.ACME.example' }),
    );
    assert.equal(event.envelopeSenderDomain, 'acme.example');
    assert.equal(event.headerFromDomain, 'mail.acme.example');
    assert.equal(event.occurredAt, clock.now());
    const bytes = log.records(Topics.messageSubmitted)[0]!.value!.toString('latin1');
    assert.ok(!bytes.includes('ceo.private'));
  });

  it('publishes an address literal or unparsable sender under its stand-in domain, never dropping it', async () => {
    const { log } = recordingLog();
    const publisher = new MessagePublisher({ log, codec: new EmbeddedCodec(), clock });
    const literal = await publisher.publish(message(1, { sender: 'x@[192.0.2.7]' }));
    const broken = await publisher.publish(message(2, { sender: 'no-domain' }));
    assert.equal(literal.envelopeSenderDomain, 'address-literal.invalid');
    assert.equal(broken.envelopeSenderDomain, 'unparsable-sender.invalid');
  });

  it('gives a message the same event id on every retry, and refuses one without its identity', async () => {
    const log = new MemoryEventLog({ clock });
    const publish = log.publish.bind(log);
    let failNext = true;
    log.publish = async (topic: string, records: readonly OutgoingRecord[]) => {
      await publish(topic, records);
      // Written, but the acknowledgement is lost: the relay cannot know, and publishes the message again.
      if (failNext) {
        failNext = false;
        throw new Error('request timed out');
      }
    };
    const publisher = new MessagePublisher({ log, codec: new EmbeddedCodec(), clock });
    const retried = message(3);
    await assert.rejects(publisher.publish(retried), /timed out/);
    clock.advance(90_000);
    const event = await publisher.publish(retried);
    const written = await submittedOn(log, new EmbeddedCodec());
    assert.deepEqual(
      written.map((copy) => copy.eventId),
      [event.eventId, event.eventId],
      'both copies carry one id: the scorer counts the message once',
    );
    for (const field of ['queueId', 'relayHost'] as const) {
      await assert.rejects(publisher.publish(message(4, { [field]: '' })), (error) => {
        assert.ok(isRelayguardError(error));
        assert.equal(error.code, 'MISSING_FIELD');
        assert.equal(error.field, field);
        return true;
      });
    }
  });

  it('surfaces delivery errors to every message of the failed batch, by promise and by callback', async () => {
    const log = new MemoryEventLog({ clock });
    log.publish = async () => {
      throw new Error('broker unreachable');
    };
    const publisher = new MessagePublisher({ log, codec: new EmbeddedCodec(), clock });
    const byCallback = deferred<Error | null>();
    publisher.publish(message(1), (error) => byCallback.resolve(error));
    await assert.rejects(publisher.publish(message(2)), /broker unreachable/);
    assert.match(String(await byCallback.promise), /broker unreachable/);
  });

  it('close() delivers what is queued, then refuses new messages', async () => {
    const { log, calls } = recordingLog();
    const publisher = new MessagePublisher({ log, codec: new EmbeddedCodec(), clock });
    const delivered = publisher.publish(message(1));
    await publisher.close();
    assert.deepEqual(calls, [1]);
    assert.equal((await delivered).queueId, 'Q1');
    await assert.rejects(
      publisher.publish(message(2)),
      (error) => isRelayguardError(error) && error.code === 'PUBLISHER_CLOSED',
    );
  });

  it('fails fast with PUBLISHER_FULL while the log is stalled and the queue is full', async () => {
    const log = new MemoryEventLog({ clock });
    const release = deferred();
    const publish = log.publish.bind(log);
    log.publish = async (topic, records) => {
      await release.promise;
      return publish(topic, records);
    };
    const publisher = new MessagePublisher({
      log,
      codec: new EmbeddedCodec(),
      clock,
      maxBatch: 2,
      maxQueued: 4,
    });
    const accepted = Array.from({ length: 4 }, (_, i) => publisher.publish(message(i)));
    await assert.rejects(
      publisher.publish(message(5)),
      (error) => isRelayguardError(error) && error.code === 'PUBLISHER_FULL' && error.retryable,
    );
    release.resolve();
    assert.equal((await Promise.all(accepted)).length, 4);
  });

  it('refuses options that cannot work, naming them', () => {
    const options = { log: new MemoryEventLog({ clock }), codec: new EmbeddedCodec() };
    assert.throws(() => new MessagePublisher({ ...options, maxBatch: 0 }), /maxBatch: must be a number >= 1/);
    assert.throws(
      () => new MessagePublisher({ ...options, maxQueued: 0 }),
      /maxQueued: must be a number >= 500/,
    );
  });
});
