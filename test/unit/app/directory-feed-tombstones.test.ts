// Removed domains and connectors end in a tombstone on their compacted topic. Whatever the cleaner has removed by
// the time a reader gets there — superseded records, the REMOVED event before a tombstone, tombstones the reader
// never needed — the directory the feed builds from what is left equals the one built from the whole log: a reader
// that starts afresh, and one that read part of the log before the cleaner ran and goes on after.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { startDirectoryFeed } from '../../../services/app/directory-feed.js';
import type { AcceptedDomainChanged, ConnectorChanged } from '../../../services/core/contracts.generated.js';
import { TenantDirectory } from '../../../services/core/directory.js';
import { stateKey, Topics } from '../../../services/core/topics.js';
import { EmbeddedCodec } from '../../../services/platform/codec/embedded-codec.js';
import { silentLogger } from '../../../services/platform/logger.js';
import { Metrics } from '../../../services/platform/metrics.js';
import type { EventLog, LogRecord } from '../../../services/platform/ports.js';

const TENANTS = ['acme', 'globex'];
const DOMAINS = ['a.example', 'b.example', 'c.example'];
const CONNECTORS = ['onprem-1', 'app'];

type StateTopic = typeof Topics.acceptedDomains | typeof Topics.connectors;
interface Written {
  readonly topic: StateTopic;
  readonly key: string;
  /** Null: a tombstone. */
  readonly event: AcceptedDomainChanged | ConnectorChanged | null;
}

const change = fc.record({
  connector: fc.boolean(),
  t: fc.nat(TENANTS.length - 1),
  o: fc.nat(DOMAINS.length - 1),
  removed: fc.boolean(),
  verified: fc.boolean(),
});

/** What the admin API writes: each change, and after a removal the key's tombstone. */
type Change = typeof change extends fc.Arbitrary<infer T> ? T : never;

function written(changes: readonly Change[]): Written[] {
  return changes.flatMap((c, at): Written[] => {
    const tenantId = TENANTS[c.t]!;
    const stamp = { eventId: `e${at}`, tenantId, occurredAt: 1_000 + at, actor: 'ops' };
    if (c.connector) {
      const connectorId = CONNECTORS[c.o % CONNECTORS.length]!;
      const key = stateKey(tenantId, connectorId);
      const event: ConnectorChanged = {
        ...stamp,
        connectorId,
        change: c.removed ? 'REMOVED' : 'UPSERTED',
        relayPath: 'ONPREM',
        senderIpRanges: [`10.${c.t}.${c.o % CONNECTORS.length}.0/24`],
        tlsCertificateDomain: `${connectorId}.${tenantId}.example`,
        enabled: true,
        createdAt: 1_000 + at,
        createdBy: 'ops',
        identifiersSince: {},
      };
      const record = { topic: Topics.connectors, key, event } as const;
      return c.removed ? [record, { topic: Topics.connectors, key, event: null }] : [record];
    }
    const domain = DOMAINS[c.o]!;
    const key = stateKey(tenantId, domain);
    const event: AcceptedDomainChanged = {
      ...stamp,
      domain,
      change: c.removed ? 'REMOVED' : 'ADDED',
      matchSubdomains: false,
      verification: c.verified ? { method: 'DNS_TXT', verifiedAt: 1_000 + at, actor: 'ops' } : null,
      verificationToken: `token-${at}`,
    };
    const record = { topic: Topics.acceptedDomains, key, event } as const;
    return c.removed ? [record, { topic: Topics.acceptedDomains, key, event: null }] : [record];
  });
}

/**
 * The directory the feed builds from these records of each topic, in offset order: `before` first (what a reader
 * read before the cleaner ran), then `after`.
 */
async function feed(...phases: (readonly (Written & { offset: number })[])[]): Promise<TenantDirectory> {
  const codec = new EmbeddedCodec();
  const directory = new TenantDirectory();
  let handle: ((topic: StateTopic, records: LogRecord[]) => Promise<void>) | undefined;
  const log: EventLog = {
    publish: async () => assert.fail('the feed publishes nothing'),
    async subscribe(options) {
      handle = (topic, records) => options.handleBatch({ topic, partition: 0, records, lag: 0 });
      return { caughtUp: Promise.resolve(), stop: async () => {} };
    },
    settled: async () => {},
    close: async () => {},
  };
  await startDirectoryFeed({ log, codec, directory, logger: silentLogger, metrics: new Metrics() });
  for (const phase of phases) {
    for (const topic of [Topics.acceptedDomains, Topics.connectors] as const) {
      const records: LogRecord[] = [];
      for (const record of phase.filter((r) => r.topic === topic)) {
        records.push({
          key: record.key,
          value: record.event && (await codec.encode(topic, record.event as never)),
          headers: {},
          partition: 0,
          offset: String(record.offset),
          timestamp: 0,
        });
      }
      if (records.length > 0) await handle!(topic, records);
    }
  }
  return directory;
}

/** What relays and operators see of the directory. */
function view(directory: TenantDirectory) {
  return TENANTS.map((tenantId, t) => ({
    tenantId,
    domains: DOMAINS.map((domain) => [
      directory.domainEntry(tenantId, domain)?.addedAt,
      directory.acceptedDomain(tenantId, domain)?.addedAt,
    ]),
    connectors: CONNECTORS.map((connectorId) => directory.connector(tenantId, connectorId)?.updatedAt),
    byAddress: CONNECTORS.map((_, c) => directory.resolveByAddress(`10.${t}.${c}.7`)?.connector.connectorId),
    byCertificate: CONNECTORS.map(
      (connectorId) => directory.resolveByCertificate(`${connectorId}.${tenantId}.example`)?.tenantId,
    ),
  }));
}

describe('directory feed: tombstones of removed domains and connectors', () => {
  it('builds from any compaction of the log, read afresh or across the cleaner, the directory of the whole log', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(change, { minLength: 1, maxLength: 40 }),
        fc.infiniteStream(fc.boolean()),
        fc.nat(),
        fc.nat(),
        async (changes, coin, cut, cleanedTo) => {
          const log = written(changes).map((record, offset) => ({ ...record, offset }));
          const whole = view(await feed(log));

          // The reader read up to `readUpTo` before the cleaner ran; a fresh reader read nothing.
          for (const readUpTo of [-1, cut % log.length]) {
            const latest = new Map(log.map((record) => [`${record.topic}|${record.key}`, record.offset]));
            const readBefore = (record: Written) =>
              log.some((r) => r.offset <= readUpTo && r.topic === record.topic && r.key === record.key);
            // The cleaner cleaned the log below `cleaned` (it never touches the active segment): there it removed
            // every record a later one of its key superseded, and may have removed a key's last tombstone once
            // delete.retention.ms passed — which a reader that read an earlier record of the key, and not the
            // tombstone yet, does not meet (RUNBOOK: a reader replays within delete.retention.ms).
            const cleaned = cleanedTo % (log.length + 1);
            const compacted = log.filter((record) => {
              if (record.offset >= cleaned) return true;
              if (latest.get(`${record.topic}|${record.key}`) !== record.offset) return false;
              if (record.event !== null) return true;
              const safe = record.offset <= readUpTo || !readBefore(record);
              return !(safe && (coin.next().value as boolean));
            });
            const rest = compacted.filter((record) => record.offset > readUpTo);
            const read = log.filter((record) => record.offset <= readUpTo);
            assert.deepEqual(view(await feed(read, rest)), whole, `read up to ${readUpTo}`);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('removes the object of a tombstone met alone, and leaves other tenants and topics alone', async () => {
    const log = written([
      { connector: false, t: 0, o: 0, removed: false, verified: true },
      { connector: true, t: 0, o: 0, removed: false, verified: false },
      { connector: false, t: 1, o: 0, removed: false, verified: false },
    ]).map((record, offset) => ({ ...record, offset }));
    const tombstones = [
      { topic: Topics.acceptedDomains, key: stateKey('acme', 'a.example'), event: null, offset: 10 },
      { topic: Topics.connectors, key: stateKey('acme', 'onprem-1'), event: null, offset: 11 },
      { topic: Topics.connectors, key: stateKey('nobody', 'onprem-1'), event: null, offset: 12 },
    ] as const;
    const directory = await feed(log, tombstones);
    assert.equal(directory.domainEntry('acme', 'a.example'), undefined);
    assert.equal(directory.connector('acme', 'onprem-1'), undefined);
    assert.equal(directory.resolveByAddress('10.0.0.7'), undefined, 'its range is free again');
    assert.equal(
      directory.domainEntry('globex', 'a.example')?.domain,
      'a.example',
      'another tenant keeps its own',
    );
    assert.equal(directory.tenant('nobody'), undefined, 'a tombstone creates no tenant');
  });
});
