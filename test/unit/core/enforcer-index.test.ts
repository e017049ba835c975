// The enforcer's compact index (services/core/enforcer-index.ts) decides exactly as the whole directory does: after
// any sequence of domain, connector, block and tombstone records, in any order, both resolve every client to the
// same tenant and connector and give every sender the same decision.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { blockEvent } from '../../../bench/workload.js';
import type { TenantBlockEvent } from '../../../services/core/contracts.generated.js';
import { decide } from '../../../services/core/decision.js';
import { type DirectoryEvent, TenantDirectory } from '../../../services/core/directory.js';
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
const RANGES = ['203.0.113.0/24', '203.0.113.7/32', '203.0.0.0/16', '2001:db8::/32'];
const CERTIFICATES = ['mx.acme.example', 'relay.example'];
const ADDRESSES = ['203.0.113.7', '203.0.113.9', '203.0.1.1', '2001:db8::1', '198.51.100.1'];
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
    ranges: fc.subarray(RANGES, { maxLength: 2 }),
    certificate: fc.option(fc.constantFrom(...CERTIFICATES), { nil: null }),
    enabled: fc.boolean(),
    since: fc.integer({ min: 1, max: 4 }),
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
        createdAt: 1,
        createdBy: 'ops',
        identifiersSince: Object.fromEntries(identifiers.map((id) => [id, input.since])),
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

describe('EnforcerIndex', () => {
  it('resolves and decides exactly as the whole directory after any sequence of records', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 8, maxLength: 40 }), (inputs) => {
        const whole = new TenantDirectory();
        const index = new EnforcerIndex();
        inputs.forEach((input, at) => {
          const change = feed(input, at);
          for (const directory of [whole, index]) {
            if ('tombstone' in change) directory.applyTombstone(change.tombstone, change.key);
            else directory.apply(change);
          }
        });
        assert.equal(index.blockedCount, whole.blockedCount);
        assert.equal(index.monitorBlockedCount, whole.monitorBlockedCount);
        const client = (resolved: { tenantId: string; connector: { connectorId: string } } | undefined) =>
          resolved && `${resolved.tenantId}/${resolved.connector.connectorId}`;
        for (const address of ADDRESSES) {
          assert.equal(
            client(index.resolveByAddress(address)),
            client(whole.resolveByAddress(address)),
            address,
          );
        }
        for (const certificate of CERTIFICATES) {
          const [a, b] = [index.resolveByCertificate(certificate), whole.resolveByCertificate(certificate)];
          assert.equal(client(a), client(b), certificate);
        }
        for (const tenantId of TENANTS) {
          assert.deepEqual(index.tenant(tenantId)?.block ?? null, whole.tenant(tenantId)?.block ?? null);
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
      }),
      { numRuns: 600 },
    );
  });
});
