// The BlockSubscriber contract: the same tests on the memory log and on Kafka with the Schema Registry. Each
// test owns a fresh topic.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { TenantBlockEvent } from '../../services/core/contracts.generated.js';
import type { EventLog, SchemaCodec } from '../../services/platform/ports.js';
import type {
  BlockChange,
  BlockSubscriber,
  BlockSubscriberOptions,
} from '../../services/sdk/subscriber/index.js';
import { blockedEvent, blockRecords, reblockId, unblockedEvent } from '../support/block-events.js';
import { waitFor } from '../support/tether.js';

export interface SubscriberFixture {
  /** This fixture's own tenant-blocks topic. */
  readonly topic: string;
  /** Publishes the events to the topic, keyed by tenant, encoded as relayguard's producers encode them. */
  publish(events: readonly TenantBlockEvent[]): Promise<void>;
  /** Publishes raw bytes under a tenant key (a record no schema can read). */
  publishRaw(tenantId: string, value: Buffer): Promise<void>;
  /** A subscriber on the topic with its own client of the log (another process, in production); not started. */
  subscriber(options?: Partial<BlockSubscriberOptions>): BlockSubscriber;
  cleanup(): Promise<void>;
}

/**
 * A fixture on a topic of the producer's log, publishing as relayguard's producers do; its cleanup closes the
 * subscribers it made, then what `close` closes.
 */
export function subscriberFixture(parts: {
  topic: string;
  producer: EventLog;
  codec: SchemaCodec;
  newSubscriber(options: Partial<BlockSubscriberOptions>): BlockSubscriber;
  close(): Promise<void>;
}): SubscriberFixture {
  const { topic, producer, codec } = parts;
  const subscribers: BlockSubscriber[] = [];
  return {
    topic,
    publish: async (events) => producer.publish(topic, await blockRecords(codec, events)),
    publishRaw: (tenantId, value) => producer.publish(topic, [{ key: tenantId, value }]),
    subscriber(options = {}) {
      const subscriber = parts.newSubscriber(options);
      subscribers.push(subscriber);
      return subscriber;
    },
    async cleanup() {
      await Promise.all(subscribers.map((subscriber) => subscriber.close()));
      await parts.close();
    },
  };
}

/** The changes a subscriber's handlers saw, as `kind tenant blockId` lines. */
function recorder(subscriber: BlockSubscriber) {
  const seen: string[] = [];
  const replayed: boolean[] = [];
  const note = (change: BlockChange) => {
    const blockId = change.kind === 'blocked' ? change.block.blockId : change.unblock.blockId;
    seen.push(`${change.kind} ${change.tenantId} ${blockId}`);
    replayed.push(change.replayed);
  };
  subscriber.on('blocked', note);
  subscriber.on('unblocked', note);
  return { seen, replayed };
}

const finalState = (subscriber: BlockSubscriber, tenants: readonly string[]) =>
  tenants.map((tenant) => [tenant, subscriber.isBlocked(tenant), subscriber.block(tenant)?.blockId ?? null]);

export function blockSubscriberContract(name: string, setup: () => Promise<SubscriberFixture>) {
  const withFixture = (test: (fixture: SubscriberFixture) => Promise<void>) => async () => {
    const fixture = await setup();
    try {
      await test(fixture);
    } finally {
      await fixture.cleanup();
    }
  };

  describe(`BlockSubscriber contract: ${name}`, () => {
    it(
      'catches up on the history, is ready, then follows; the view holds the evidence',
      withFixture(async (fixture) => {
        await fixture.publish([
          blockedEvent('contoso', 'contoso#1'),
          blockedEvent('fabrikam', 'fabrikam#1'),
          unblockedEvent('fabrikam', 'fabrikam#1'),
          blockedEvent('tailspin', 'tailspin#1', { mode: 'MONITOR' }),
        ]);
        const subscriber = fixture.subscriber();
        const { seen, replayed } = recorder(subscriber);
        await subscriber.start();
        await subscriber.ready;
        assert.equal(subscriber.isReady, true);
        assert.deepEqual(seen.toSorted(), [
          'blocked contoso contoso#1',
          'blocked fabrikam fabrikam#1',
          'blocked tailspin tailspin#1',
          'unblocked fabrikam fabrikam#1',
        ]);
        assert.ok(replayed.every(Boolean), 'history is marked replayed');
        assert.equal(subscriber.isBlocked('contoso'), true);
        assert.equal(subscriber.isBlocked('fabrikam'), false);
        // A monitor-mode block is visible, never enforced.
        assert.equal(subscriber.isBlocked('tailspin'), false);
        assert.equal(subscriber.block('tailspin')?.mode, 'MONITOR');
        const block = subscriber.block('contoso');
        assert.equal(block?.evidence.unregistered, 620);
        assert.deepEqual(
          block?.evidence.topDomains.map((top) => [top.domain, top.messages]),
          [['spam.example', 300]],
        );
        assert.equal(block?.blockedAt, Date.UTC(2026, 11, 1, 9));

        await fixture.publish([
          unblockedEvent('contoso', 'contoso#1'),
          blockedEvent('fabrikam', reblockId('fabrikam')),
        ]);
        await waitFor(() => seen.length === 6, { description: 'the live changes', timeoutMs: 30_000 });
        assert.deepEqual(seen.slice(4).toSorted(), [
          `blocked fabrikam ${reblockId('fabrikam')}`,
          'unblocked contoso contoso#1',
        ]);
        assert.deepEqual(replayed.slice(4), [false, false]);
        assert.equal(subscriber.isBlocked('contoso'), false);
        assert.equal(subscriber.isBlocked('fabrikam'), true);
        assert.deepEqual([...subscriber.blocks()].map((b) => b.tenantId).toSorted(), [
          'fabrikam',
          'tailspin',
        ]);
        await subscriber.close();
      }),
    );

    it(
      'subscribers started before, during and after a block sequence hold the same final state',
      withFixture(async (fixture) => {
        const tenants = ['t1', 't2', 't3'];
        const sequence = [
          blockedEvent('t1', 't1#1'),
          blockedEvent('t2', 't2#1'),
          unblockedEvent('t1', 't1#1'),
          blockedEvent('t3', 't3#1', { mode: 'MONITOR' }),
          blockedEvent('t1', reblockId('t1')),
          unblockedEvent('t2', 't2#1'),
        ];
        const before = await fixture.subscriber().start();
        await fixture.publish(sequence.slice(0, 3));
        const during = await fixture.subscriber().start();
        await fixture.publish(sequence.slice(3));
        const after = await fixture.subscriber().start();
        await after.ready;
        const expected = [
          ['t1', true, reblockId('t1')],
          ['t2', false, null],
          ['t3', false, 't3#1'],
        ];
        assert.deepEqual(finalState(after, tenants), expected);
        for (const subscriber of [before, during]) {
          await waitFor(
            () => subscriber.block('t1')?.blockId === reblockId('t1') && !subscriber.block('t2'),
            {
              description: 'the whole sequence',
              timeoutMs: 30_000,
            },
          );
          assert.deepEqual(finalState(subscriber, tenants), expected);
        }
        await Promise.all([before.close(), during.close(), after.close()]);
      }),
    );

    it(
      'reports a duplicate publish of a block once, an unblock of no current block and a lifted block republished not at all',
      withFixture(async (fixture) => {
        await fixture.publish([
          blockedEvent('contoso', 'contoso#1'),
          blockedEvent('contoso', 'contoso#1'),
          unblockedEvent('fabrikam', 'fabrikam#0'),
          unblockedEvent('contoso', 'contoso#1'),
          unblockedEvent('contoso', 'contoso#1'),
          // A zombie scorer republishing the lifted block: it stays lifted.
          blockedEvent('contoso', 'contoso#1'),
        ]);
        const subscriber = fixture.subscriber();
        const { seen } = recorder(subscriber);
        await (await subscriber.start()).ready;
        assert.deepEqual(seen, ['blocked contoso contoso#1', 'unblocked contoso contoso#1']);
        assert.equal(subscriber.isBlocked('contoso'), false);
        await subscriber.close();
      }),
    );

    it(
      'iterates the changes in order with the evidence, and ends the iteration on close',
      withFixture(async (fixture) => {
        const subscriber = fixture.subscriber();
        const iterated: BlockChange[] = [];
        const reading = (async () => {
          for await (const change of subscriber) iterated.push(change);
        })();
        await fixture.publish([blockedEvent('contoso', 'contoso#1'), unblockedEvent('contoso', 'contoso#1')]);
        await subscriber.start();
        await waitFor(() => iterated.length === 2, { description: 'two changes', timeoutMs: 30_000 });
        const [blocked, unblocked] = iterated;
        assert.equal(blocked?.kind === 'blocked' && blocked.block.evidence.total, 900);
        assert.equal(unblocked?.kind === 'unblocked' && unblocked.unblock.ticket, 'SUP-42');
        assert.equal(unblocked?.kind === 'unblocked' && unblocked.lifted?.blockId, 'contoso#1');
        assert.ok(BigInt(blocked!.position.offset) < BigInt(unblocked!.position.offset));
        await subscriber.close();
        await reading; // ends: close() ended the iterator
      }),
    );

    it(
      'delivers a change again when its handler threw, and applies it only once the handler succeeded',
      withFixture(async (fixture) => {
        const errors: unknown[] = [];
        const subscriber = fixture.subscriber({ onError: (error) => errors.push(error) });
        let attempts = 0;
        const blockedWhileHandling: boolean[] = [];
        subscriber.on('blocked', () => {
          attempts++;
          blockedWhileHandling.push(subscriber.isBlocked('contoso'));
          if (attempts < 3) throw new Error('notification service down');
        });
        await fixture.publish([blockedEvent('contoso', 'contoso#1')]);
        await subscriber.start();
        await waitFor(() => subscriber.isBlocked('contoso'), { description: 'the block', timeoutMs: 30_000 });
        assert.equal(attempts, 3);
        assert.deepEqual(blockedWhileHandling, [false, false, false]);
        assert.equal(errors.length, 2);
        await subscriber.close();
      }),
    );

    it(
      'skips a record no schema can read, reports it, and applies the records after it',
      withFixture(async (fixture) => {
        const errors: { code?: string; offset: string }[] = [];
        const subscriber = fixture.subscriber({
          onError: (error, where) =>
            errors.push({ code: (error as { code?: string }).code, offset: where.offset }),
        });
        await fixture.publishRaw('contoso', Buffer.from('not avro'));
        await fixture.publish([blockedEvent('contoso', 'contoso#1')]);
        await (await subscriber.start()).ready;
        assert.equal(subscriber.isBlocked('contoso'), true);
        assert.deepEqual(
          errors.map((e) => e.code),
          ['UNDECODABLE'],
        );
        await subscriber.close();
      }),
    );

    it(
      'subscribes again after the log gave up, keeping the view and reporting no change twice',
      withFixture(async (fixture) => {
        await fixture.publish([blockedEvent('contoso', 'contoso#1'), unblockedEvent('contoso', 'contoso#1')]);
        const subscriber = fixture.subscriber();
        const { seen } = recorder(subscriber);
        await (await subscriber.start()).ready;
        // A group-less subscription starts over from the beginning of the topic.
        await subscriber.reconnect();
        await fixture.publish([blockedEvent('contoso', reblockId('contoso'))]);
        await waitFor(() => subscriber.isBlocked('contoso'), {
          description: 'the new block',
          timeoutMs: 30_000,
        });
        assert.deepEqual(seen, [
          'blocked contoso contoso#1',
          'unblocked contoso contoso#1',
          `blocked contoso ${reblockId('contoso')}`,
        ]);
        await subscriber.close();
      }),
    );

    it(
      'in a consumer group, a restarted member resumes after the changes the group already handled',
      withFixture(async (fixture) => {
        const groupId = `subscribers-${randomUUID()}`;
        await fixture.publish([blockedEvent('contoso', 'contoso#1')]);
        const first = fixture.subscriber({ groupId });
        const firstSeen = recorder(first).seen;
        await (await first.start()).ready;
        assert.deepEqual(firstSeen, ['blocked contoso contoso#1']);
        await first.close();

        await fixture.publish([
          unblockedEvent('contoso', 'contoso#1'),
          blockedEvent('fabrikam', 'fabrikam#1'),
        ]);
        const second = fixture.subscriber({ groupId });
        const secondSeen = recorder(second).seen;
        await (await second.start()).ready;
        // The unblock of a block the group handled before this member started is reported all the same.
        assert.deepEqual(secondSeen.toSorted(), [
          'blocked fabrikam fabrikam#1',
          'unblocked contoso contoso#1',
        ]);
        assert.equal(second.isBlocked('fabrikam'), true);
        await second.close();
      }),
    );
  });
}
