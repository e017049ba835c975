import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { blockEvent, tenantId } from '../../../bench/workload.js';
import type {
  AcceptedDomainChanged,
  ConnectorChanged,
  TenantBlockEvent,
} from '../../../services/core/contracts.generated.js';
import {
  type AcceptedDomain,
  connectorSettingsKey,
  type DirectoryEvent,
  TenantDirectory,
} from '../../../services/core/directory.js';
import { blockGeneration, blockIdFor } from '../../../services/core/episodes.js';

const TENANTS = ['acme', 'globex', 'initech'];
const DOMAINS = ['a.example', 'b.example', 'b.example.net', 'c.example', 'z.example', 'ü.example'];
const CONNECTORS = ['onprem-1', 'onprem-2', 'app', 'Zeta'];
/** One range per tenant and connector, so that no two connectors claim the same one. */
const rangeOf = (t: number, c: number) => `10.${t}.${c}.0/24`;

const domainChange = fc.record({
  t: fc.nat(TENANTS.length - 1),
  d: fc.nat(DOMAINS.length - 1),
  removed: fc.boolean(),
  matchSubdomains: fc.boolean(),
});
const connectorChange = fc.record({
  t: fc.nat(TENANTS.length - 1),
  c: fc.nat(CONNECTORS.length - 1),
  removed: fc.boolean(),
  enabled: fc.boolean(),
  withRange: fc.boolean(),
});
const changes = fc.array(fc.oneof(domainChange, connectorChange), { maxLength: 60 });

describe('TenantDirectory', () => {
  it('agrees with a Map per tenant on every sequence of domain and connector changes', () => {
    fc.assert(
      fc.property(changes, (sequence) => {
        const directory = new TenantDirectory();
        // The straightforward model: a Map of domains and a Map of connectors per tenant.
        const domains = new Map<string, Map<string, Omit<AcceptedDomain, 'tenantId' | 'domain'>>>();
        const connectors = new Map<string, Map<string, ConnectorChanged>>();
        const inner = <V>(maps: Map<string, Map<string, V>>, tenantId: string) =>
          maps.get(tenantId) ?? maps.set(tenantId, new Map()).get(tenantId)!;
        sequence.forEach((change, at) => {
          const tenantId = TENANTS[change.t]!;
          const stamp = { eventId: `e${at}`, tenantId, occurredAt: 1_000 + at, actor: 'ops' };
          let event: DirectoryEvent;
          if ('d' in change) {
            const domain = DOMAINS[change.d]!;
            const changed: AcceptedDomainChanged = {
              ...stamp,
              domain,
              change: change.removed ? 'REMOVED' : 'ADDED',
              matchSubdomains: change.matchSubdomains,
              verification: null,
              verificationToken: `token-${at}`,
            };
            event = { kind: 'accepted-domain', event: changed };
            if (change.removed) inner(domains, tenantId).delete(domain);
            else
              inner(domains, tenantId).set(domain, {
                matchSubdomains: change.matchSubdomains,
                addedAt: 1_000 + at,
                verification: null,
                verificationToken: `token-${at}`,
              });
          } else {
            const connectorId = CONNECTORS[change.c]!;
            const changed: ConnectorChanged = {
              ...stamp,
              connectorId,
              change: change.removed ? 'REMOVED' : 'UPSERTED',
              relayPath: 'ONPREM',
              senderIpRanges: change.withRange ? [rangeOf(change.t, change.c)] : [],
              tlsCertificateDomain: change.withRange
                ? null
                : `${connectorId}.${tenantId}.example`.toLowerCase(),
              enabled: change.enabled,
              createdAt: 1_000 + at,
              createdBy: 'ops',
              identifiersSince: {},
            };
            event = { kind: 'connector', event: changed };
            if (change.removed) inner(connectors, tenantId).delete(connectorId);
            else inner(connectors, tenantId).set(connectorId, changed);
          }
          directory.apply(event);
        });

        TENANTS.forEach((tenantId, t) => {
          const modelDomains = domains.get(tenantId) ?? new Map();
          const modelConnectors = connectors.get(tenantId) ?? new Map();
          for (const domain of DOMAINS) {
            const expected = modelDomains.get(domain);
            assert.deepEqual(
              directory.domainEntry(tenantId, domain),
              expected && { tenantId, domain, ...expected },
            );
            assert.equal(directory.acceptedDomain(tenantId, domain), undefined, 'pending is not registered');
          }
          CONNECTORS.forEach((connectorId, c) => {
            const expected = modelConnectors.get(connectorId);
            const actual = directory.connector(tenantId, connectorId);
            assert.equal(actual?.enabled, expected?.enabled);
            assert.deepEqual(actual?.senderIpRanges, expected?.senderIpRanges);
            assert.equal(actual?.updatedAt, expected?.occurredAt);
            const owner = expected?.enabled && expected.senderIpRanges.length > 0 ? expected : undefined;
            const resolved = directory.resolveByAddress(`10.${t}.${c}.7`);
            assert.equal(resolved?.connector.connectorId, owner?.connectorId);
            assert.equal(resolved?.tenantId, owner && tenantId);
            const byCertificate = expected?.enabled ? expected.tlsCertificateDomain : null;
            const certificate = `${connectorId}.${tenantId}.example`;
            assert.equal(
              directory.resolveByCertificate(certificate)?.connector.connectorId,
              byCertificate ? connectorId : undefined,
            );
          });
          const record = directory.tenant(tenantId);
          const sortedKeys = (map: Map<string, unknown>) => [...map.keys()].sort();
          assert.deepEqual(
            record?.acceptedDomains.map((entry) => entry.domain) ?? [],
            sortedKeys(modelDomains),
          );
          assert.deepEqual(
            record?.connectors.map((entry) => entry.connectorId) ?? [],
            sortedKeys(modelConnectors),
          );
        });
      }),
      { numRuns: 500 },
    );
  });

  it('replaces the arrays it hands out instead of changing them', () => {
    const directory = new TenantDirectory();
    const add = (domain: string, change: 'ADDED' | 'REMOVED') =>
      directory.apply({
        kind: 'accepted-domain',
        event: {
          eventId: domain,
          tenantId: 'acme',
          domain,
          change,
          matchSubdomains: false,
          occurredAt: 1,
          actor: 'ops',
          verification: null,
          verificationToken: '',
        },
      });
    add('b.example', 'ADDED');
    const before = directory.tenant('acme')!.acceptedDomains;
    add('a.example', 'ADDED');
    add('b.example', 'REMOVED');
    assert.deepEqual(
      before.map((entry) => entry.domain),
      ['b.example'],
    );
    assert.deepEqual(
      directory.tenant('acme')!.acceptedDomains.map((entry) => entry.domain),
      ['a.example'],
    );
  });
});

describe('TenantDirectory: block episodes', () => {
  const T = Date.UTC(2026, 10, 28, 9);
  const blocked = (at: number, generation: number): TenantBlockEvent => {
    const event = blockEvent(0);
    const blockId = blockIdFor(event.tenantId, at, generation);
    return { ...event, eventId: blockId, occurredAt: at, blocked: { ...event.blocked!, blockId } };
  };
  const unblocked = (block: TenantBlockEvent, at: number): TenantBlockEvent => ({
    eventId: `unblock-${at}`,
    tenantId: block.tenantId,
    occurredAt: at,
    kind: 'UNBLOCKED',
    blocked: null,
    unblocked: {
      blockId: block.blocked!.blockId,
      source: 'OPERATOR',
      actor: 'operator#1',
      ticket: 'SUP-1',
      attestations: { domainsRegistered: true, connectorsReviewed: true, serversSecured: true },
      probationUntil: null,
    },
  });
  const replay = (events: readonly TenantBlockEvent[]) => {
    const directory = new TenantDirectory();
    for (const event of events) directory.apply({ kind: 'tenant-block', event });
    return directory.tenant(tenantId(0))!;
  };

  it('starts a generation at each unblock and ignores a block of a lifted one', () => {
    const first = blocked(T, 0);
    const lift = unblocked(first, T + 3_600_000);
    const record = replay([first, lift, first, blocked(T + 60_000, 0)]);
    assert.equal(record.generation, T + 3_600_000);
    assert.equal(record.block, null, 'the lifted block, and any other of its generation, stays lifted');
    assert.deepEqual(record.blockTimes, [T]);
  });

  it('takes a block of the new generation, and its generation from it once compaction dropped the unblock', () => {
    const first = blocked(T, 0);
    const lift = unblocked(first, T + 3_600_000);
    const second = blocked(T + 2 * 3_600_000, T + 3_600_000);
    assert.equal(replay([first, lift, second]).block?.blockId, second.blocked!.blockId);
    const compacted = replay([second]);
    assert.equal(compacted.block?.blockId, second.blocked!.blockId);
    assert.equal(compacted.generation, T + 3_600_000);
    assert.equal(replay([second, first]).block?.blockId, second.blocked!.blockId, 'an older block stays out');
  });

  it('starts the generation after the lifted block even when the unblock is stamped by a clock behind', () => {
    const second = blocked(T + 2 * 3_600_000, T + 3_600_000);
    const record = replay([second, unblocked(second, T)]);
    assert.equal(record.generation, T + 3_600_000 + 1);
    assert.equal(blockGeneration(second.blocked!.blockId), T + 3_600_000);
  });
});

describe('TenantDirectory: the evidence connectors as they were at the block', () => {
  const block = blockEvent(0);
  const blockedAt = block.occurredAt;
  const change = fc.record({
    at: fc.integer({ min: -3, max: 3 }),
    ranges: fc.subarray(['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'], { minLength: 1 }),
    certificate: fc.option(fc.constant('mx.acme.example'), { nil: null }),
    enabled: fc.boolean(),
    removed: fc.boolean(),
  });
  const connectorEvent = (c: typeof change extends fc.Arbitrary<infer T> ? T : never, i: number) =>
    ({
      eventId: `c${i}`,
      tenantId: block.tenantId,
      connectorId: 'onprem-1',
      change: c.removed ? 'REMOVED' : 'UPSERTED',
      relayPath: 'ONPREM',
      senderIpRanges: c.ranges,
      tlsCertificateDomain: c.certificate,
      enabled: c.enabled,
      createdAt: blockedAt - 86_400_000,
      createdBy: 'ops',
      occurredAt: blockedAt + c.at * 60_000,
      actor: 'ops',
      identifiersSince: {},
    }) satisfies ConnectorChanged;

  it('records the settings of the latest change not after the block, or null, whatever the order the topics are read in', () => {
    fc.assert(
      fc.property(fc.array(change, { maxLength: 8 }), fc.nat(), (changes, position) => {
        // One connector's changes stay in order (one key, one partition); the block may be read anywhere among them.
        const events = changes
          .map((c, i) => connectorEvent(c, i))
          .sort((a, b) => a.occurredAt - b.occurredAt);
        const truth = new TenantDirectory();
        for (const event of events.filter((e) => e.occurredAt <= blockedAt))
          truth.apply({ kind: 'connector', event });
        const atBlock = truth.connector(block.tenantId, 'onprem-1');
        const expected = atBlock ? connectorSettingsKey(atBlock) : null;

        const read = (at: number) => {
          const directory = new TenantDirectory();
          events.forEach((event, i) => {
            if (i === at) directory.apply({ kind: 'tenant-block', event: block });
            directory.apply({ kind: 'connector', event });
          });
          if (at >= events.length) directory.apply({ kind: 'tenant-block', event: block });
          return directory.tenant(block.tenantId)!.block!.connectorsAtBlock['onprem-1'];
        };
        const recorded = read(position % (events.length + 1));
        assert.ok(recorded === null || recorded === expected, `${recorded} is not the state at the block`);
        // Read as it happened (the block after every earlier change), or the block first: exactly that state.
        assert.equal(read(events.filter((e) => e.occurredAt <= blockedAt).length), expected);
        assert.equal(read(0), expected);
      }),
    );
  });
});
