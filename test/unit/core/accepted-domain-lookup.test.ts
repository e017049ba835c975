// The accepted-domain check is one hashed lookup per suffix of the sender domain (services/core/domain-claims.ts).
// It must say exactly what the plain definition says, for every tenant, in any case of the sender's spelling: a
// domain is registered when the tenant holds it, or a parent that matches subdomains, verified and earliest among
// the verifications of that name, or legacy while nobody verified it. The table that answers it (open addressing,
// grown and shrunk by removals) must keep saying so with thousands of names, whose probes collide.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isRegistered } from '../../../services/core/classify.js';
import type { AcceptedDomainChanged } from '../../../services/core/contracts.generated.js';
import { TenantDirectory } from '../../../services/core/directory.js';
import { senderDomainOf } from '../../../services/core/domain-name.js';
import { seededRandom } from '../../../services/core/seeded-random.js';

const TENANTS = ['acme', 'globex', 'initech'];
const DOMAINS = ['example', 'acme.example', 'mail.acme.example', 'acme.example.net', 'b.example'];
/** Senders under every domain above, look-alikes of them, in mixed case. */
const SENDERS = [
  'a@acme.example',
  'a@ACME.Example',
  'a@Mail.Acme.Example',
  'a@deep.MAIL.acme.example',
  'a@notacme.example',
  'a@acme.example.net',
  'a@x.ACME.EXAMPLE.NET',
  'a@acme.example.evil',
  'a@B.example',
  'a@sub.b.example',
  'a@example',
];

type State = 'pending' | 'legacy' | 'verified';
const change = fc.record({
  t: fc.nat(TENANTS.length - 1),
  d: fc.nat(DOMAINS.length - 1),
  removed: fc.boolean(),
  matchSubdomains: fc.boolean(),
  state: fc.constantFrom<State>('pending', 'legacy', 'verified'),
  verifiedAt: fc.integer({ min: 1, max: 5 }),
});

interface Held {
  readonly matchSubdomains: boolean;
  readonly state: State;
  readonly verifiedAt: number;
}

/** The plain definition, over the entries each tenant holds. */
function modelRegistered(held: Map<string, Map<string, Held>>, tenantId: string, name: string): boolean {
  const counts = (domain: string, asParent: boolean) => {
    const own = held.get(tenantId)?.get(domain);
    if (!own || own.state === 'pending' || (asParent && !own.matchSubdomains)) return false;
    const verified = TENANTS.flatMap((t) => {
      const entry = held.get(t)?.get(domain);
      return entry?.state === 'verified' ? [{ t, at: entry.verifiedAt }] : [];
    }).sort((a, b) => a.at - b.at || (a.t < b.t ? -1 : 1));
    return own.state === 'verified' ? verified[0]?.t === tenantId : verified.length === 0;
  };
  const labels = name.split('.');
  return labels.some((_, k) => counts(labels.slice(k).join('.'), k > 0));
}

describe('the accepted-domain check', () => {
  it('matches subdomains, ignores case and gives a name to its earliest verification, as the plain definition does', () => {
    fc.assert(
      fc.property(fc.array(change, { maxLength: 40 }), (changes) => {
        const directory = new TenantDirectory();
        const held = new Map<string, Map<string, Held>>();
        changes.forEach((c, at) => {
          const [tenantId, domain] = [TENANTS[c.t]!, DOMAINS[c.d]!];
          const event: AcceptedDomainChanged = {
            eventId: `e${at}`,
            tenantId,
            domain,
            change: c.removed ? 'REMOVED' : 'ADDED',
            matchSubdomains: c.matchSubdomains,
            verification:
              c.state === 'verified' ? { method: 'OPERATOR', verifiedAt: c.verifiedAt, actor: 'ops' } : null,
            verificationToken: c.state === 'pending' ? `token-${at}` : '',
            occurredAt: 10 + at,
            actor: 'ops',
          };
          directory.apply({ kind: 'accepted-domain', event });
          const own = held.get(tenantId) ?? held.set(tenantId, new Map()).get(tenantId)!;
          if (c.removed) own.delete(domain);
          else own.set(domain, c);
        });
        for (const tenantId of TENANTS) {
          for (const sender of SENDERS) {
            const name = senderDomainOf(sender)!;
            assert.equal(name, name.toLowerCase());
            assert.equal(
              isRegistered(directory, tenantId, name),
              modelRegistered(held, tenantId, name),
              `${tenantId} ${sender}`,
            );
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('answers as the plain definition through growth, collisions and removals of thousands of domains', () => {
    const random = seededRandom(17);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
    // Parents and children of one another: d7.example, s3.d7.example, ...
    const names = Array.from({ length: 600 }, (_, i) => `d${i}.example`);
    for (let i = 0; i < 2_400; i++) names.push(`s${i % 7}.${pick(names)}`);
    const directory = new TenantDirectory();
    const held = new Map<string, Map<string, Held>>();
    const agree = () => {
      for (let probe = 0; probe < 400; probe++) {
        const tenantId = pick(TENANTS);
        const name = random() < 0.5 ? pick(names) : `x.${pick(names)}`;
        assert.equal(isRegistered(directory, tenantId, name), modelRegistered(held, tenantId, name), name);
      }
    };
    for (let step = 0; step < 12_000; step++) {
      const [tenantId, domain] = [pick(TENANTS), pick(names)];
      // Mostly additions at first, then mostly removals: the table grows, then empties.
      const removed = random() < (step < 6_000 ? 0.2 : 0.8);
      const state = pick<State>(['pending', 'legacy', 'verified']);
      const c = { matchSubdomains: random() < 0.5, state, verifiedAt: 1 + Math.floor(random() * 5) };
      directory.apply({
        kind: 'accepted-domain',
        event: {
          eventId: `e${step}`,
          tenantId,
          domain,
          change: removed ? 'REMOVED' : 'ADDED',
          matchSubdomains: c.matchSubdomains,
          verification:
            state === 'verified' ? { method: 'OPERATOR', verifiedAt: c.verifiedAt, actor: 'ops' } : null,
          verificationToken: state === 'pending' ? `token-${step}` : '',
          occurredAt: 10 + step,
          actor: 'ops',
        },
      });
      const own = held.get(tenantId) ?? held.set(tenantId, new Map()).get(tenantId)!;
      if (removed) own.delete(domain);
      else own.set(domain, c);
      if (step % 1_000 === 999) agree();
    }
  });
});
