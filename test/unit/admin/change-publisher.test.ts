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

describe('admin changes: tombstones', () => {
  it("follows a removed domain with its key's tombstone, and an added one with none", async () => {
    const { publisher, written } = setUp();
    const key = stateKey('acme', 'a.example');
    for (const change of ['ADDED', 'REMOVED'] as const) {
      const event = {
        ...publisher.stamp(operator),
        tenantId: 'acme',
        domain: 'a.example',
        change,
        matchSubdomains: false,
        verification: null,
        verificationToken: 'token',
      };
      await publisher.publish(
        operator,
        { kind: 'accepted-domain', event },
        {
          topic: Topics.acceptedDomains,
          key,
          action: `domain.${change.toLowerCase()}`,
          target: 'a.example',
        },
      );
    }
    assert.deepEqual(await written(Topics.acceptedDomains), [
      [key, 'ADDED'],
      [key, 'REMOVED'],
      [key, 'tombstone'],
    ]);
  });

  it("follows a removed connector with its key's tombstone, and an upserted one with none", async () => {
    const { publisher, written } = setUp();
    const key = stateKey('acme', 'onprem-1');
    for (const change of ['UPSERTED', 'REMOVED'] as const) {
      const event = {
        ...publisher.stamp(operator),
        tenantId: 'acme',
        connectorId: 'onprem-1',
        change,
        ...connectorSettings(),
      };
      const directoryEvent: DirectoryEvent = { kind: 'connector', event };
      await publisher.publish(operator, directoryEvent, {
        topic: Topics.connectors,
        key,
        action: `connector.${change.toLowerCase()}`,
        target: 'onprem-1',
      });
    }
    assert.deepEqual(await written(Topics.connectors), [
      [key, 'UPSERTED'],
      [key, 'REMOVED'],
      [key, 'tombstone'],
    ]);
  });
});
