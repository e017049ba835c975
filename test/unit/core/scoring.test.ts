// The scoring fold: event-time windows, the policy, one block per episode, and the property the whole design
// rests on — the same events, split into batches in any way and replayed any number of times, give the same
// counts and the same decisions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { classify, isRegistered } from '../../../services/core/classify.js';
import type { RelayPath } from '../../../services/core/contracts.generated.js';
import { blockIdFor } from '../../../services/core/episodes.js';
import { BatchFold, foldTenant, scoreTenant } from '../../../services/core/fold.js';
import {
  DEFAULT_POLICY,
  effectivePolicy,
  evaluate,
  MINUTE_MS,
  type Policy,
} from '../../../services/core/policy.js';
import {
  type PositionedMessage,
  positioned,
  scoreMessage,
  type TenantContext,
} from '../../../services/core/scoring.js';
import { NO_STANDING, PolicyTerms } from '../../../services/core/tenant-terms.js';
import {
  cloneWindow,
  emptyWindow,
  resetWindow,
  type TenantWindow,
  windowCounts,
} from '../../../services/core/windows.js';

const T0 = Date.UTC(2026, 10, 28, 9);

function context(
  accepted: Record<string, boolean> = { 'acme.example': true },
  blocked = false,
): TenantContext {
  return {
    acceptedDomain: (_tenant, domain) =>
      domain in accepted ? { matchSubdomains: accepted[domain]! } : undefined,
    standing: () => NO_STANDING,
    connectorCreatedAt: () => T0 - 86_400_000,
    enforcedBlock: () => (blocked ? { blockId: 't@blocked', scope: 'TENANT', connectorIds: [] } : null),
  };
}

function message(
  offset: number,
  occurredAt: number,
  senderDomain: string | null,
  relayPath: RelayPath = 'ONPREM',
): PositionedMessage {
  return positioned(
    { tenantId: 't', occurredAt, senderDomain, relayPath, connectorId: 'c1' },
    { partition: 0, offset: String(offset) },
  );
}

function fold(messages: PositionedMessage[], chunks: number[], policy: Policy = DEFAULT_POLICY) {
  let window: TenantWindow | undefined;
  const emits = [];
  let at = 0;
  for (const size of [...chunks, messages.length]) {
    const slice = messages.slice(at, at + size);
    at += slice.length;
    const result = scoreTenant(window, 't', slice, policy, context());
    window = result.window;
    emits.push(...result.emits);
    if (at >= messages.length) break;
  }
  return { window: window!, emits };
}

describe('classification', () => {
  it('registers exact domains, and subdomains only when matchSubdomains is set', () => {
    const lookup = context({ 'acme.example': true, 'strict.example': false });
    assert.ok(isRegistered(lookup, 't', 'acme.example'));
    assert.ok(isRegistered(lookup, 't', 'mail.eu.acme.example'));
    assert.ok(isRegistered(lookup, 't', 'strict.example'));
    assert.ok(!isRegistered(lookup, 't', 'mail.strict.example'));
    assert.ok(!isRegistered(lookup, 't', 'notacme.example'));
  });

  it('agrees with the definition on random domains (property)', () => {
    const label = fc.constantFrom('a', 'b', 'mail', 'eu');
    const domain = fc
      .array(label, { minLength: 1, maxLength: 3 })
      .map((labels) => `${labels.join('.')}.example`);
    fc.assert(
      fc.property(fc.dictionary(domain, fc.boolean(), { maxKeys: 5 }), domain, (accepted, sender) => {
        // Registered: equal to an accepted domain, or a subdomain of one that matches subdomains.
        const expected = Object.entries(accepted).some(
          ([name, matchSubdomains]) => sender === name || (matchSubdomains && sender.endsWith(`.${name}`)),
        );
        assert.equal(isRegistered(context(accepted), 't', sender), expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('classes by domain and relay path', () => {
    assert.equal(classify(null, 'ONPREM', false), 'unknown');
    assert.equal(classify('a.example', 'FORWARDED', true), 'registered');
    assert.equal(classify('a.example', 'FORWARDED', false), 'forwarded');
    assert.equal(classify('a.example', 'APPLICATION', false), 'unregistered');
  });
});

describe('policy', () => {
  const { thresholds } = DEFAULT_POLICY;
  /** A window's counts with no forwarded mail: U, T and D. */
  const counts = (unregistered: number, total: number, distinctUnregisteredDomains: number) => ({
    unregistered,
    forwardedUnregistered: 0,
    total,
    distinctUnregisteredDomains,
  });
  it('fires the volume rule only with enough volume and ratio', () => {
    assert.equal(evaluate(thresholds, counts(500, 2000, 1)), 'VOLUME');
    assert.equal(evaluate(thresholds, counts(500, 2001, 1)), null);
    assert.equal(evaluate(thresholds, counts(499, 499, 1)), null);
  });

  it('fires the distinct-domains rule with enough domains and volume', () => {
    assert.equal(evaluate(thresholds, counts(100, 10_000, 50)), 'DISTINCT_DOMAINS');
    assert.equal(evaluate(thresholds, counts(99, 10_000, 50)), null);
  });

  it('applies overrides, and halves count thresholds on probation', () => {
    const policy = effectivePolicy(DEFAULT_POLICY, { minUnregistered: 300, mode: 'MONITOR' }, T0 + 1000, T0);
    assert.deepEqual(policy.thresholds, {
      minUnregistered: 150,
      minUnregisteredRatio: 0.25,
      minDistinctDomains: 25,
      minUnregisteredWithDistinct: 50,
    });
    assert.equal(policy.mode, 'MONITOR');
    assert.ok(policy.probation);
    assert.equal(
      effectivePolicy(DEFAULT_POLICY, undefined, T0, T0).probation,
      false,
      'probation ends at its time',
    );
  });
});

describe('windows', () => {
  it('slides: buckets older than the window leave it', () => {
    const messages = [
      message(0, T0, 'x.example'),
      message(1, T0 + 30 * MINUTE_MS, 'y.example'),
      message(2, T0 + 61 * MINUTE_MS, 'z.example'),
    ];
    const { window } = fold(messages, []);
    const counts = windowCounts(window, 0);
    assert.equal(counts.total, 2);
    assert.equal(counts.distinctUnregisteredDomains, 2);
  });

  it('counts late events within the grace period and reports later ones', () => {
    const messages = [
      message(0, T0 + 10 * MINUTE_MS, 'a.example'),
      message(1, T0 + 6 * MINUTE_MS, 'b.example'),
      message(2, T0 + 4 * MINUTE_MS, 'c.example'),
    ];
    const result = scoreTenant(undefined, 't', messages, DEFAULT_POLICY, context());
    assert.deepEqual(result.outcomes, ['counted', 'counted', 'late']);
    assert.equal(windowCounts(result.window, 0).total, 2);
  });

  it('skips events at or below the applied position (redelivery)', () => {
    const messages = [message(0, T0, 'a.example'), message(1, T0, 'b.example')];
    const first = scoreTenant(undefined, 't', messages, DEFAULT_POLICY, context());
    const again = scoreTenant(
      first.window,
      't',
      [...messages, message(2, T0, 'c.example')],
      DEFAULT_POLICY,
      context(),
    );
    assert.deepEqual(again.outcomes, ['duplicate', 'duplicate', 'counted']);
    assert.equal(windowCounts(again.window, 0).total, 3);
  });

  it('keeps D exact below the cap and at the cap above it', () => {
    const policy = { ...DEFAULT_POLICY, distinctDomainCap: 5 };
    const few = fold(
      [0, 1, 2].map((i) => message(i, T0 + i, `d${i}.example`)),
      [],
      policy,
    );
    assert.equal(few.window.domains.size, 3);
    const many = fold(
      Array.from({ length: 40 }, (_, i) => message(i, T0 + i * 1000, `d${i}.example`)),
      [],
      policy,
    );
    assert.equal(many.window.domains.size, 5);
  });

  it('an unblock clears what came before it, once', () => {
    const { window } = fold(
      Array.from({ length: 10 }, (_, i) => message(i, T0 + i * MINUTE_MS, `d${i}.example`)),
      [],
    );
    assert.ok(resetWindow(window, T0 + 5 * MINUTE_MS + 1));
    assert.equal(windowCounts(window, 0).total, 4, 'minutes 6..9 remain');
    assert.ok(!resetWindow(window, T0 + 5 * MINUTE_MS + 1), 'replaying the same unblock changes nothing');
  });
});

describe('blocking', () => {
  it('blocks once per episode with a deterministic id and evidence', () => {
    const messages = Array.from({ length: 700 }, (_, i) => message(i, T0 + i * 500, `spam${i % 80}.example`));
    const { emits, window } = fold(messages, []);
    assert.equal(emits.length, 1);
    const blocked = emits[0]!.blocked!;
    assert.equal(blocked.reason, 'DISTINCT_DOMAINS');
    assert.equal(blocked.blockId, blockIdFor('t', blocked.evidence.windowEnd, 0));
    assert.equal(window.activeBlockId, blocked.blockId);
    assert.deepEqual(
      blocked.evidence.connectors.map((c) => c.connectorId),
      ['c1'],
    );
  });

  it('does not block a tenant the directory already holds blocked', () => {
    const messages = Array.from({ length: 700 }, (_, i) => message(i, T0 + i * 500, `spam${i % 80}.example`));
    assert.equal(scoreTenant(undefined, 't', messages, DEFAULT_POLICY, context({}, true)).emits.length, 0);
  });
});

describe('replay determinism (property)', () => {
  const domains = [
    'acme.example',
    'mail.acme.example',
    'spam1.example',
    'spam2.example',
    'spam3.example',
    'fwd.example',
  ];
  const event = fc.record({
    minute: fc.integer({ min: 0, max: 150 }),
    jitter: fc.integer({ min: -7, max: 0 }),
    domain: fc.option(fc.constantFrom(...domains), { freq: 10 }),
    relayPath: fc.constantFrom<RelayPath>('ONPREM', 'FORWARDED', 'APPLICATION'),
  });
  // Small thresholds so that generated traffic crosses them often.
  const policy: Policy = {
    ...DEFAULT_POLICY,
    windowMinutes: 20,
    graceMinutes: 3,
    distinctDomainCap: 3,
    thresholds: {
      minUnregistered: 12,
      minUnregisteredRatio: 0.3,
      minDistinctDomains: 3,
      minUnregisteredWithDistinct: 6,
    },
  };

  it('gives the same counts and decisions for any batching and any redelivery', () => {
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 1, maxLength: 300 }),
        fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (generated, chunks, redeliveries) => {
          let clock = T0;
          const messages = generated.map((e, i) => {
            clock = Math.max(clock, T0 + e.minute * MINUTE_MS);
            return message(i, clock + e.jitter * MINUTE_MS, e.domain, e.relayPath);
          });
          const whole = fold(messages, [], policy);
          // Split, and at each cut redeliver an already-applied tail of the previous batch first.
          let window: TenantWindow | undefined;
          const emits = [];
          let at = 0;
          for (const [i, size] of [...chunks, messages.length].entries()) {
            const back = Math.min(at, redeliveries[i] ?? 0);
            const result = scoreTenant(window, 't', messages.slice(at - back, at + size), policy, context());
            window = result.window;
            emits.push(...result.emits);
            at = Math.min(messages.length, at + size);
            if (at >= messages.length) break;
          }
          assert.deepEqual(windowCounts(window!, 0), windowCounts(whole.window, 0));
          assert.deepEqual([...window!.domains].sort(), [...whole.window.domains].sort());
          assert.deepEqual(emits, whole.emits);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('counts an event once however often a relay publishes it again, at later offsets (property)', () => {
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 1, maxLength: 200 }),
        // Each: which event is published again, and how many events later in the log its copy lands.
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 40 })), { maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 10 }),
        (generated, copies, chunks) => {
          let clock = T0;
          const originals = generated.map((e, i) => {
            clock = Math.max(clock, T0 + e.minute * MINUTE_MS);
            return { ...message(i, clock + e.jitter * MINUTE_MS, e.domain, e.relayPath), eventId: `e${i}` };
          });
          const log: PositionedMessage[][] = originals.map((original) => [original]);
          for (const [pick, later] of copies) {
            const index = pick % originals.length;
            log[Math.min(originals.length - 1, index + later)]!.push(originals[index]!);
          }
          const published = log.flat().map((m, offset) => ({ ...m, offset: String(offset) }));
          const whole = scoreTenant(undefined, 't', originals, policy, context());

          let window: TenantWindow | undefined;
          const emits = [];
          const outcomes: string[] = [];
          let at = 0;
          for (const size of [...chunks, published.length]) {
            const result = scoreTenant(window, 't', published.slice(at, at + size), policy, context());
            window = result.window;
            emits.push(...result.emits);
            outcomes.push(...result.outcomes);
            at += size;
            if (at >= published.length) break;
          }
          assert.deepEqual(windowCounts(window!, 0), windowCounts(whole.window, 0));
          assert.deepEqual([...window!.domains].sort(), [...whole.window.domains].sort());
          assert.deepEqual(emits, whole.emits);
          // A copy is known (republished) or beyond the grace period (late): never counted.
          const counted = outcomes.filter((outcome) => outcome === 'counted').length;
          assert.equal(counted, whole.outcomes.filter((outcome) => outcome === 'counted').length);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('BatchFold (property)', () => {
  const policy: Policy = {
    ...DEFAULT_POLICY,
    windowMinutes: 20,
    graceMinutes: 3,
    thresholds: {
      minUnregistered: 8,
      minUnregisteredRatio: 0.3,
      minDistinctDomains: 3,
      minUnregisteredWithDistinct: 4,
    },
  };
  const event = fc.record({
    tenant: fc.constantFrom('t1', 't2', 't3'),
    minute: fc.integer({ min: 0, max: 60 }),
    domain: fc.option(fc.constantFrom('acme.example', 'mail.acme.example', 'x.example', 'y.example'), {
      freq: 8,
    }),
    relayPath: fc.constantFrom<RelayPath>('ONPREM', 'FORWARDED', 'APPLICATION'),
    redelivered: fc.boolean(),
  });

  it('gives what foldTenant gives tenant by tenant: windows, blocks, triggers, outcomes and classes', () => {
    fc.assert(
      fc.property(fc.array(fc.array(event, { maxLength: 40 }), { minLength: 1, maxLength: 4 }), (batches) => {
        const ctx = context();
        const listed = new Map<string, TenantWindow>();
        const tallied = new Map<string, TenantWindow>();
        let offset = 0;
        for (const batch of batches) {
          const byTenant = new Map<string, PositionedMessage[]>();
          for (const e of batch) {
            // A redelivered event repeats the previous offset: the fold must call it a duplicate.
            if (!e.redelivered) offset++;
            const counted = message(offset, T0 + e.minute * MINUTE_MS, e.domain, e.relayPath);
            const messages = byTenant.get(e.tenant) ?? [];
            messages.push({ ...counted, tenantId: e.tenant });
            byTenant.set(e.tenant, messages);
          }
          const batchFold = new BatchFold(policy, ctx);
          const emits = [];
          const triggers = new Map();
          const outcomes = { counted: 0, late: 0, 'before-reset': 0, duplicate: 0, republished: 0 };
          const classes = { registered: 0, unregistered: 0, forwarded: 0, unknown: 0 };
          for (const [tenantId, messages] of byTenant) {
            const result = foldTenant(listed.get(tenantId) ?? emptyWindow(), tenantId, messages, policy, ctx);
            listed.set(tenantId, result.window);
            emits.push(...result.emits);
            for (const [id, trigger] of result.triggers) triggers.set(id, trigger);
            result.outcomes.forEach((outcome, i) => {
              outcomes[outcome]++;
              if (outcome !== 'duplicate' && outcome !== 'republished') classes[result.classes[i]!]++;
            });
            const window = tallied.get(tenantId) ?? emptyWindow();
            tallied.set(tenantId, window);
            batchFold.tenant(window, tenantId, messages);
          }
          assert.deepEqual(batchFold.emits, emits);
          assert.deepEqual(batchFold.triggers, triggers);
          assert.deepEqual(batchFold.outcomes, outcomes);
          assert.deepEqual(batchFold.classes, classes);
          for (const [tenantId, window] of listed) assert.deepEqual(tallied.get(tenantId), window);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('scoreMessage hands out counts of its own that later messages leave alone', () => {
    const window = emptyWindow();
    const terms = new PolicyTerms(DEFAULT_POLICY).of(context(), 't');
    const first = scoreMessage(
      window,
      't',
      null,
      message(0, T0, 'x.example'),
      DEFAULT_POLICY,
      context(),
      terms,
    );
    const before = { ...first.counts! };
    scoreMessage(window, 't', null, message(1, T0, 'y.example'), DEFAULT_POLICY, context(), terms);
    assert.deepEqual(first.counts, before);
    assert.deepEqual(windowCounts(cloneWindow(window), 0).total, 2);
  });
});
