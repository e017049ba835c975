// A removed domain or connector is published as its REMOVED event followed by its key's tombstone, so that
// compaction forgets it; other changes carry no tombstone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Actor, ChangePublisher } from '../../../services/admin/change-publisher.js';
import { type DirectoryEvent, TenantDirectory } from '../../../services/core/directory.js';
import { stateKey, Topics } from '../../../services/core/topics.js';
import { ManualClock } from '../../../services/platform/clock.js';
import { EmbeddedCodec } from '../../../services/platform/codec/embedded-codec.js';
import { silentLogger } from '../../../services/platform/logger.js';
import { MemoryEventLog } from '../../../services/platform/memory/memory-event-log.js';
import { connectorSettings } from '../../support/builders.js';

const operator: Actor = { subject: 'ops', role: 'OPERATOR' };

function setUp() {
  const clock = new ManualClock(1_000);
  const log = new MemoryEventLog({ clock, partitions: 1 });
  const codec = new EmbeddedCodec();
  const changes = new ChangePublisher({
    log,
    codec,
    directory: new TenantDirectory(),
    clock,
    logger: silentLogger,
  });
  /** Each record of the topic: its key and its change, or `tombstone`. */
  const written = (topic: typeof Topics.acceptedDomains | typeof Topics.connectors) =>
    Promise.all(
      log
        .records(topic)
        .map(async (record) => [
          record.key,
          record.value === null
            ? 'tombstone'
            : ((await codec.decode(topic, record.value)) as { change: string }).change,
        ]),
    );
  return { publisher: changes, written };
}

type Stamp = ReturnType<ChangePublisher['stamp']>;

describe('admin changes: tombstones', () => {
  const cases: {
    name: string;
    topic: typeof Topics.acceptedDomains | typeof Topics.connectors;
    target: string;
    action: string;
    /** The change that keeps the key, published before the removal. */
    kept: string;
    event(stamp: Stamp, removed: boolean): DirectoryEvent;
  }[] = [
    {
      name: "follows a removed domain with its key's tombstone, and an added one with none",
      topic: Topics.acceptedDomains,
      target: 'a.example',
      action: 'domain',
      kept: 'ADDED',
      event: (stamp, removed) => ({
        kind: 'accepted-domain',
        event: {
          ...stamp,
          tenantId: 'acme',
          domain: 'a.example',
          change: removed ? 'REMOVED' : 'ADDED',
          matchSubdomains: false,
          verification: null,
          verificationToken: 'token',
        },
      }),
    },
    {
      name: "follows a removed connector with its key's tombstone, and an upserted one with none",
      topic: Topics.connectors,
      target: 'onprem-1',
      action: 'connector',
      kept: 'UPSERTED',
      event: (stamp, removed) => ({
        kind: 'connector',
        event: {
          ...stamp,
          tenantId: 'acme',
          connectorId: 'onprem-1',
          change: removed ? 'REMOVED' : 'UPSERTED',
          ...connectorSettings(),
        },
      }),
    },
  ];

  for (const { name, topic, target, action, kept, event } of cases) {
    it(name, async () => {
      const { publisher, written } = setUp();
      const key = stateKey('acme', target);
      for (const removed of [false, true]) {
        const change = removed ? 'REMOVED' : kept;
        await publisher.publish(operator, event(publisher.stamp(operator), removed), {
          topic,
          key,
          action: `${action}.${change.toLowerCase()}`,
          target,
        });
      }
      assert.deepEqual(await written(topic), [
        [key, kept],
        [key, 'REMOVED'],
        [key, 'tombstone'],
      ]);
    });
  }
});
