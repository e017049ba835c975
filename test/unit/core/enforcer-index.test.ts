// The enforcer's compact index (services/core/enforcer-index.ts) decides exactly as the whole directory does: after
// any sequence of domain, connector, block and tombstone records, in any order, both resolve every client to the
// same tenant and connector and give every sender the same decision. A scorer's directory slice
// (services/core/directory-slice.ts) scores the tenants it holds as the whole directory does, whenever their
// partition was loaded and whichever partitions were released before.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { blockEvent } from '../../../bench/workload.js';
import type { TenantBlockEvent } from '../../../services/core/contracts.generated.js';
import { decide } from '../../../services/core/decision.js';
import { type DirectoryEvent, TenantDirectory } from '../../../services/core/directory.js';
import { DirectorySlice, type SliceLoading } from '../../../services/core/directory-slice.js';
import { senderDomainOf } from '../../../services/core/domain-name.js';
import { EnforcerIndex } from '../../../services/core/enforcer-index.js';
import { blockIdFor } from '../../../services/core/episodes.js';
import { stateKey } from '../../../services/core/topics.js';

const TENANTS = ['acme', 'globex', 'ünicorn'];
const DOMAINS = ['acme.example', 'mail.acme.example', 'b.example', 'example'];
const SENDERS = [
  'a@acme.example',
  'a@X.Mail.Acme.Example',
  'a@b.example',
  'a@sub.B.example',
  'a@c.example',
  '<>',
];
const RANGES = [
  '203.0.113.0/24',
  '203.0.113.7/32',
  '203.0.0.0/16',
  '0.0.0.0/0',
  '2001:db8::/32',
  '2001:db8:0:1::/64',
  '::ffff:203.0.113.0/120',
];
const CERTIFICATES = ['mx.acme.example', 'relay.example'];
const ADDRESSES = [
  '203.0.113.7',
  '203.0.113.9',
  '203.0.1.1',
  '2001:db8::1',
  '2001:db8:0:1::9',
  '198.51.100.1',
  '::ffff:203.0.113.7',
];
const T = Date.UTC(2026, 10, 28, 9);

const record = fc.oneof(
  fc.record({
    kind: fc.constant('domain' as const),
    t: fc.nat(2),
    d: fc.nat(DOMAINS.length - 1),
    removed: fc.boolean(),
    tombstone: fc.boolean(),
    matchSubdomains: fc.boolean(),
    state: fc.constantFrom('pending', 'legacy', 'verified'),
    verifiedAt: fc.integer({ min: 1, max: 4 }),
  }),
  fc.record({
    kind: fc.constant('connector' as const),
    t: fc.nat(2),
    c: fc.nat(1),
    removed: fc.boolean(),
    tombstone: fc.boolean(),
    // Repeats allowed: a range listed twice is one claim.
    ranges: fc.array(fc.constantFrom(...RANGES), { maxLength: 3 }),
    certificate: fc.option(fc.constantFrom(...CERTIFICATES), { nil: null }),
    enabled: fc.boolean(),
    createdAt: fc.integer({ min: 1, max: 3 }),
    /** Per identifier, since when it is claimed: the creation, or later. */
    since: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 4, maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant('block' as const),
    t: fc.nat(2),
    unblock: fc.boolean(),
    mode: fc.constantFrom('ENFORCE', 'MONITOR'),
    generation: fc.nat(2),
  }),
);

type Input = typeof record extends fc.Arbitrary<infer R> ? R : never;

/** The records as the feed hands them over: events, or tombstones by key. */
function feed(
  input: Input,
  at: number,
): DirectoryEvent | { tombstone: 'accepted-domain' | 'connector'; key: string } {
  const tenantId = TENANTS[input.t]!;
  const stamp = { eventId: `e${at}`, tenantId, occurredAt: 10 + at, actor: 'ops' };
  if (input.kind === 'domain') {
    const domain = DOMAINS[input.d]!;
    if (input.tombstone) return { tombstone: 'accepted-domain', key: stateKey(tenantId, domain) };
    return {
      kind: 'accepted-domain',
      event: {
        ...stamp,
        domain,
        change: input.removed ? 'REMOVED' : 'ADDED',
        matchSubdomains: input.matchSubdomains,
        verification:
          input.state === 'verified'
            ? { method: 'OPERATOR', verifiedAt: input.verifiedAt, actor: 'ops' }
            : null,
        verificationToken: input.state === 'pending' ? `token-${at}` : '',
      },
    };
  }
  if (input.kind === 'connector') {
    const connectorId = `c${input.c}`;
    if (input.tombstone) return { tombstone: 'connector', key: stateKey(tenantId, connectorId) };
    const identifiers = [...input.ranges, ...(input.certificate ? [input.certificate] : [])];
    return {
      kind: 'connector',
      event: {
        ...stamp,
        connectorId,
        change: input.removed ? 'REMOVED' : 'UPSERTED',
        relayPath: 'ONPREM',
        senderIpRanges: input.ranges,
        tlsCertificateDomain: input.certificate,
        enabled: input.enabled,
        createdAt: input.createdAt,
        createdBy: 'ops',
        identifiersSince: Object.fromEntries(
          identifiers.map((id, i) => [id, Math.max(input.createdAt, input.since[i % input.since.length]!)]),
        ),
      },
    };
  }
  const template = blockEvent(0);
  const blockId = blockIdFor(tenantId, T, input.generation === 0 ? 0 : T + input.generation);
  const event: TenantBlockEvent = input.unblock
    ? {
        ...stamp,
        occurredAt: T + 10 + at,
        kind: 'UNBLOCKED',
        blocked: null,
        unblocked: {
          blockId,
          source: 'OPERATOR',
          actor: 'ops',
          ticket: null,
          attestations: { domainsRegistered: true, connectorsReviewed: true, serversSecured: true },
          probationUntil: null,
        },
      }
    : {
        ...stamp,
        occurredAt: T + at,
        kind: 'BLOCKED',
        unblocked: null,
        blocked: { ...template.blocked!, blockId, mode: input.mode },
      };
  return { kind: 'tenant-block', event };
}

type Client = { tenantId: string; connector: { connectorId: string } } | undefined;
const client = (resolved: Client) => resolved && `${resolved.tenantId}/${resolved.connector.connectorId}`;

/** Both materialized from the same records, in the same order. */
function replayed(inputs: readonly Input[]): { whole: TenantDirectory; index: EnforcerIndex } {
  const whole = new TenantDirectory();
  const index = new EnforcerIndex();
  inputs.forEach((input, at) => {
    const change = feed(input, at);
    for (const directory of [whole, index]) {
      if ('tombstone' in change) directory.applyTombstone(change.tombstone, change.key);
      else directory.apply(change);
    }
  });
  return { whole, index };
}

function assertSameClients(index: EnforcerIndex, whole: TenantDirectory, addresses: readonly string[]): void {
  for (const address of addresses) {
    assert.equal(client(index.resolveByAddress(address)), client(whole.resolveByAddress(address)), address);
  }
  for (const certificate of CERTIFICATES) {
    const [a, b] = [index.resolveByCertificate(certificate), whole.resolveByCertificate(certificate)];
    assert.equal(client(a), client(b), certificate);
  }
}

/** The same clients, blocks (the index keeps no evidence), decisions and accepted domains. */
function assertSameDecisions(index: EnforcerIndex, whole: TenantDirectory): void {
  assert.equal(index.blockedCount, whole.blockedCount);
  assert.equal(index.monitorBlockedCount, whole.monitorBlockedCount);
  assertSameClients(index, whole, ADDRESSES);
  for (const tenantId of TENANTS) {
    const block = whole.tenant(tenantId)?.block;
    const { evidence: _, ...kept } = block ?? { evidence: null };
    assert.deepEqual(index.tenant(tenantId)?.block ?? null, block ? kept : null);
    for (const sender of SENDERS) {
      const domain = senderDomainOf(sender);
      assert.deepEqual(
        decide(index, tenantId, domain, null),
        decide(whole, tenantId, domain, null),
        `${tenantId} ${sender}`,
      );
      if (domain !== null) {
        const registered = whole.acceptedDomain(tenantId, domain);
        assert.deepEqual(
          index.acceptedDomain(tenantId, domain),
          registered && { matchSubdomains: registered.matchSubdomains },
        );
      }
    }
  }
}

/** As a replica restores it: the snapshot's domains and connectors, and the blocks read again from the start. */
function restored(index: EnforcerIndex, before: readonly Input[]): EnforcerIndex {
  const loaded = EnforcerIndex.fromSnapshot(index.snapshot());
  before.forEach((input, at) => {
    const change = feed(input, at);
    if (!('tombstone' in change) && change.kind === 'tenant-block') loaded.apply(change);
  });
  return loaded;
}

describe('EnforcerIndex', () => {
  it('resolves and decides exactly as the whole directory after any sequence of records', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 8, maxLength: 40 }), (inputs) => {
        const { whole, index } = replayed(inputs);
        assertSameDecisions(index, whole);
      }),
      { numRuns: 600 },
    );
  });

  it('decides as the whole directory when trimmed or restored from its snapshot at any points, growing again after', () => {
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 8, maxLength: 40 }),
        fc.array(fc.nat(40), { maxLength: 4 }),
        fc.nat(40),
        (inputs, trims, restoreAt) => {
          const whole = new TenantDirectory();
          let index = new EnforcerIndex();
          inputs.forEach((input, at) => {
            if (trims.includes(at)) index.trim();
            if (at === restoreAt) index = restored(index, inputs.slice(0, at));
            const change = feed(input, at);
            for (const directory of [whole, index]) {
              if ('tombstone' in change) directory.applyTombstone(change.tombstone, change.key);
              else directory.apply(change);
            }
          });
          index.trim();
          assertSameDecisions(index, whole);
          assertSameDecisions(restored(index, inputs), whole);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('resolves clients as the whole directory through any connector changes: added, ranges changed, disabled, removed, tombstoned, claimed again by another tenant', () => {
    const connectorRecord = record.filter((input) => input.kind === 'connector');
    fc.assert(
      fc.property(fc.array(connectorRecord, { minLength: 4, maxLength: 60 }), (inputs) => {
        const { whole, index } = replayed(inputs);
        assertSameClients(index, whole, ADDRESSES);
        for (const tenantId of TENANTS) {
          for (const connectorId of ['c0', 'c1']) {
            const [a, b] = [index.connector(tenantId, connectorId), whole.connector(tenantId, connectorId)];
            assert.deepEqual(a, b && { connectorId, relayPath: b.relayPath, enabled: b.enabled });
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('answers as the whole directory after thousands of connectors were moved, removed and claimed again', () => {
    // Enough removals that the index reuses rows, compacts the pool of identifiers and grows its claim table.
    const whole = new TenantDirectory();
    const index = new EnforcerIndex();
    const apply = (change: DirectoryEvent) => {
      whole.apply(change);
      index.apply(change);
    };
    const connector = (tenant: number, range: string, createdAt: number, change: 'UPSERTED' | 'REMOVED') =>
      apply({
        kind: 'connector',
        event: {
          eventId: `${tenant}-${range}-${change}`,
          tenantId: `tenant-${tenant}`,
          connectorId: 'edge',
          change,
          relayPath: tenant % 3 === 0 ? 'FORWARDED' : 'ONPREM',
          senderIpRanges: [range],
          tlsCertificateDomain: tenant % 7 === 0 ? CERTIFICATES[tenant % 2]! : null,
          enabled: tenant % 5 !== 0,
          createdAt,
          createdBy: 'ops',
          identifiersSince: {},
          occurredAt: createdAt,
          actor: 'ops',
        },
      });
    const TENANT_COUNT = 6_000;
    const rangeOf = (n: number) => `10.${(n >> 8) & 255}.${n & 255}.0/24`;
    for (let t = 0; t < TENANT_COUNT; t++) connector(t, rangeOf(t), 1, 'UPSERTED');
    // Caught up: every array exactly as long as its rows, so each record below grows one again.
    index.trim();
    // Every tenant moves to its neighbour's range (a later claim: the neighbour keeps it while it holds it)...
    for (let t = 0; t < TENANT_COUNT; t++) connector(t, rangeOf(t + 1), 2, 'UPSERTED');
    // ...half of them leave, and the rest claim a range of their own again.
    for (let t = 0; t < TENANT_COUNT; t += 2) connector(t, rangeOf(t + 1), 2, 'REMOVED');
    for (let t = 1; t < TENANT_COUNT; t += 2) connector(t, rangeOf(t + TENANT_COUNT), 3, 'UPSERTED');
    const addresses = Array.from({ length: 2 * TENANT_COUNT + 2 }, (_, n) =>
      rangeOf(n).replace(/0\/24$/, '9'),
    );
    assertSameClients(index, whole, addresses);
    assert.ok(addresses.some((address) => index.resolveByAddress(address) !== undefined));
  });
});

/** What scoring reads of the tenant, as the slice and the whole directory answer it. */
function scoringView(directory: DirectorySlice | TenantDirectory, tenantId: string) {
  const record = directory.tenant(tenantId);
  return {
    block: record?.block ?? null,
    generation: record?.generation,
    policy: record?.policy,
    connectors: ['c0', 'c1'].map((id) => directory.connector(tenantId, id)?.createdAt ?? null),
    registered: SENDERS.map((sender) => senderDomainOf(sender)).map(
      (domain) => domain !== null && directory.isRegistered(tenantId, domain),
    ),
    accepted: DOMAINS.map((domain) => directory.acceptedDomain(tenantId, domain)?.matchSubdomains ?? null),
  };
}

describe('DirectorySlice', () => {
  it('scores the tenants it holds as the whole directory, loaded at any point of any sequence, after a release', () => {
    // Each tenant in a partition of its own: the scorer holds some, then a rebalance takes those and hands it the
    // others, which are loaded from the records before that point (the feed applies the later ones).
    const partitionOf = (tenantId: string) => TENANTS.indexOf(tenantId);
    const apply = (directory: DirectorySlice | TenantDirectory | SliceLoading, input: Input, at: number) => {
      const change = feed(input, at);
      if ('tombstone' in change) directory.applyTombstone(change.tombstone, change.key);
      else directory.apply(change);
    };
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 8, maxLength: 40 }),
        fc.subarray([0, 1, 2]),
        fc.nat(40),
        (inputs, first, rebalanceAt) => {
          const whole = new TenantDirectory();
          const slice = new DirectorySlice(partitionOf);
          slice.hold({ partitions: new Set(first), tenants: new Map() });
          const then = [0, 1, 2].filter((partition) => !first.includes(partition));
          const rebalance = (at: number) => {
            slice.release(first);
            const loading = { partitions: new Set(then), tenants: new Map() };
            const into = slice.loadInto(loading);
            for (let before = 0; before < at; before++) apply(into, inputs[before]!, before);
            slice.hold(loading);
          };
          inputs.forEach((input, at) => {
            if (at === rebalanceAt) rebalance(at);
            apply(whole, input, at);
            apply(slice, input, at);
          });
          if (rebalanceAt >= inputs.length) rebalance(inputs.length);
          TENANTS.forEach((tenantId, partition) => {
            if (then.includes(partition))
              assert.deepEqual(scoringView(slice, tenantId), scoringView(whole, tenantId), tenantId);
            else assert.equal(slice.tenant(tenantId), undefined, `${tenantId} released`);
          });
        },
      ),
      { numRuns: 600 },
    );
  });
});
