// Who owns a sender range or a certificate name when claims collide. The admin service refuses a colliding
// claim, but two admin replicas can each accept one before either sees the other's; every directory that
// materializes the connectors topic must then agree on one owner whatever the order it reads the claims in, and
// a later claim must never take an address or certificate from its earlier owner.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ConnectorChanged } from '../../../services/core/contracts.generated.js';
import { TenantDirectory } from '../../../services/core/directory.js';

const TENANTS = ['acme', 'bravo', 'delta'];
const RANGES = ['203.0.113.0/24', '203.0.113.7/32', '203.0.0.0/16', '0.0.0.0/0', '2001:db8::/32', '::/0'];
const CERTIFICATES = ['mx.delta.example', 'relay.acme.example'];
const PROBES = ['203.0.113.7', '203.0.113.200', '203.0.9.1', '198.51.100.1', '2001:db8::1', '2001:db9::1'];

function connectorEvent(
  tenantId: string,
  connectorId: string,
  claim: { ranges: string[]; certificate: string | null; since: number; enabled: boolean },
  change: ConnectorChanged['change'] = 'UPSERTED',
): ConnectorChanged {
  const identifiers = [...claim.ranges, ...(claim.certificate ? [claim.certificate] : [])];
  return {
    eventId: `${tenantId}/${connectorId}/${change}`,
    tenantId,
    connectorId,
    change,
    relayPath: 'ONPREM',
    senderIpRanges: claim.ranges,
    tlsCertificateDomain: claim.certificate,
    enabled: claim.enabled,
    createdAt: 1,
    createdBy: 'ops',
    occurredAt: claim.since,
    actor: 'ops',
    identifiersSince: Object.fromEntries(identifiers.map((id) => [id, claim.since])),
  };
}

const claimArbitrary = fc.record({
  t: fc.nat(TENANTS.length - 1),
  c: fc.nat(1),
  ranges: fc.subarray(RANGES, { maxLength: 2 }),
  certificate: fc.option(fc.constantFrom(...CERTIFICATES), { nil: null }),
  since: fc.integer({ min: 1, max: 20 }),
  enabled: fc.boolean(),
});

type ClaimInput = typeof claimArbitrary extends fc.Arbitrary<infer T> ? T : never;

/** The latest claim per connector, as a compacted topic keeps them. */
function latestPerConnector(claims: ClaimInput[]) {
  const latest = new Map<string, ConnectorChanged>();
  for (const claim of claims) {
    const event = connectorEvent(TENANTS[claim.t]!, `c${claim.c}`, claim);
    latest.set(`${event.tenantId}/${event.connectorId}`, event);
  }
  return [...latest.values()];
}

function resolutions(directory: TenantDirectory) {
  return {
    addresses: PROBES.map((address) => {
      const resolved = directory.resolveByAddress(address);
      return resolved && `${resolved.tenantId}/${resolved.connector.connectorId}`;
    }),
    certificates: CERTIFICATES.map((name) => {
      const resolved = directory.resolveByCertificate(name);
      return resolved && `${resolved.tenantId}/${resolved.connector.connectorId}`;
    }),
  };
}

function materialize(events: readonly ConnectorChanged[]): TenantDirectory {
  const directory = new TenantDirectory();
  for (const event of events) directory.apply({ kind: 'connector', event });
  return directory;
}

describe('ownership of sender ranges and certificate names', () => {
  it('resolves every address and certificate the same whatever order colliding claims are replayed in', () => {
    fc.assert(
      fc.property(
        fc.array(claimArbitrary, { minLength: 1, maxLength: 8 }),
        fc.infiniteStream(fc.nat()),
        (claims, shuffles) => {
          const events = latestPerConnector(claims);
          const shuffled = [...events];
          // A Fisher-Yates shuffle driven by the property's stream, so failures shrink and replay.
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = shuffles.next().value % (i + 1);
            [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
          }
          assert.deepEqual(resolutions(materialize(shuffled)), resolutions(materialize(events)));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gives an address to the tenant of the earliest claim covering it, and a certificate to its earliest claim', () => {
    fc.assert(
      fc.property(fc.array(claimArbitrary, { minLength: 1, maxLength: 8 }), (claims) => {
        const events = latestPerConnector(claims);
        const directory = materialize(events);
        const rank = (event: ConnectorChanged) =>
          [event.occurredAt, event.tenantId, event.connectorId] as const;
        const earliest = (candidates: ConnectorChanged[]) =>
          candidates.sort((a, b) => {
            const [x, y] = [rank(a), rank(b)];
            return (
              x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : x[2] < y[2] ? -1 : x[2] > y[2] ? 1 : 0)
            );
          })[0];
        for (const name of CERTIFICATES) {
          const owner = earliest(events.filter((event) => event.tlsCertificateDomain === name));
          const resolved = directory.resolveByCertificate(name);
          // A disabled owner still owns its certificate: nobody else's connector answers for it.
          assert.equal(resolved?.tenantId, owner?.enabled ? owner.tenantId : undefined, name);
        }
        for (const address of PROBES) {
          const resolved = directory.resolveByAddress(address);
          if (resolved) {
            const covering = events.filter((event) =>
              event.senderIpRanges.some((cidr) => covers(cidr, address)),
            );
            assert.equal(resolved.tenantId, earliest(covering)?.tenantId, address);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the owner of a certificate resolving when a later claim on it is deleted (issue 14, reproduction 1)', () => {
    const owner = connectorEvent('delta', 'mx', {
      ranges: [],
      certificate: 'mx.delta.example',
      since: 10,
      enabled: true,
    });
    const hijack = connectorEvent('acme', 'cert2', {
      ranges: [],
      certificate: 'mx.delta.example',
      since: 20,
      enabled: true,
    });
    for (const order of [
      [owner, hijack],
      [hijack, owner],
    ]) {
      const directory = materialize(order);
      assert.equal(directory.resolveByCertificate('MX.Delta.Example.')?.tenantId, 'delta');
      directory.apply({ kind: 'connector', event: { ...hijack, change: 'REMOVED', enabled: false } });
      assert.equal(directory.resolveByCertificate('mx.delta.example')?.tenantId, 'delta');
    }
  });

  it('lets a disabled connector keep its range: a later claim on it resolves to nobody (reproduction 2)', () => {
    const bravo = connectorEvent('bravo', 'mx', {
      ranges: ['203.0.113.0/24'],
      certificate: null,
      since: 10,
      enabled: false,
    });
    const squat = connectorEvent('acme', 'squat', {
      ranges: ['203.0.113.0/24', '203.0.113.7/32'],
      certificate: null,
      since: 20,
      enabled: true,
    });
    const directory = materialize([bravo, squat]);
    assert.equal(directory.resolveByAddress('203.0.113.7'), undefined);
    directory.apply({ kind: 'connector', event: { ...bravo, enabled: true, eventId: 'bravo/enabled' } });
    assert.equal(directory.resolveByAddress('203.0.113.7')?.tenantId, 'bravo');
    assert.equal(directory.resolveByAddress('::ffff:203.0.113.7')?.tenantId, 'bravo');
  });
});

function covers(cidr: string, address: string): boolean {
  const directory = materialize([
    connectorEvent('probe', 'probe', { ranges: [cidr], certificate: null, since: 1, enabled: true }),
  ]);
  return directory.resolveByAddress(address) !== undefined;
}

describe('ownership of verified domains', () => {
  // A claim without a verification is pending (it has a TXT token) or legacy (accepted before verification existed).
  const domainEvent = (tenantId: string, verifiedAt: number | null, removed: boolean, legacy = false) => ({
    kind: 'accepted-domain' as const,
    event: {
      eventId: `${tenantId}/${verifiedAt}`,
      tenantId,
      domain: 'contested.example',
      change: removed ? ('REMOVED' as const) : ('ADDED' as const),
      matchSubdomains: false,
      occurredAt: verifiedAt ?? 1,
      actor: 'ops',
      verification: verifiedAt === null ? null : { method: 'DNS_TXT' as const, verifiedAt, actor: 'ops' },
      verificationToken: verifiedAt === null && legacy ? '' : `token-${tenantId}`,
    },
  });

  it('gives a domain to its earliest verification whatever order the claims and removals are replayed in; legacy claims count until one is verified', () => {
    const claim = fc.record({
      t: fc.nat(TENANTS.length - 1),
      verifiedAt: fc.option(fc.integer({ min: 1, max: 5 }), { nil: null }),
      removed: fc.boolean(),
      legacy: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(claim, { maxLength: 10 }), fc.infiniteStream(fc.nat()), (claims, shuffles) => {
        // The latest claim per tenant, as the compacted topic keeps it (key tenantId/domain).
        const latest = new Map(claims.map((c) => [TENANTS[c.t]!, c]));
        const events = [...latest].map(([tenantId, c]) =>
          domainEvent(tenantId, c.verifiedAt, c.removed, c.legacy),
        );
        const shuffled = [...events];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = shuffles.next().value % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const owners = (order: typeof events) => {
          const directory = new TenantDirectory();
          for (const event of order) directory.apply(event);
          return TENANTS.filter((tenantId) => directory.acceptedDomain(tenantId, 'contested.example'));
        };
        const verified = [...latest]
          .filter(([, c]) => !c.removed && c.verifiedAt !== null)
          .sort(([ta, a], [tb, b]) => a.verifiedAt! - b.verifiedAt! || (ta < tb ? -1 : 1));
        const legacy = [...latest].filter(([, c]) => !c.removed && c.verifiedAt === null && c.legacy);
        const expected =
          verified.length > 0 ? [verified[0]![0]] : TENANTS.filter((t) => legacy.some(([l]) => l === t));
        assert.deepEqual(owners(shuffled), expected);
        assert.deepEqual(owners(events), expected);
      }),
      { numRuns: 1_000 },
    );
  });
});
