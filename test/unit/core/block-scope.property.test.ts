// Properties of connector-scoped blocks (issue #22) over random mail of a tenant with a forwarding connector,
// on-premises connectors (one recently created) and clients of no known connector:
// - a connector-scoped block never refuses mail of a connector whose own volume is under the thresholds (and that
//   is not a recently created one carrying unregistered mail), unless the block was widened to the tenant; and
//   while it stays connector-scoped under auto, the rest of the tenant does not fire after its own mail;
// - the same events give the same blocks (ids and scopes) however they are batched, redelivered, and saved and
//   loaded through the Redis encoding between batches;
// - replays, duplicates and reorderings of a connector block and the tenant block that widened it never narrow it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { RelayPath, TenantBlockEvent } from '../../../services/core/contracts.generated.js';
import { decide } from '../../../services/core/decision.js';
import { enforcedBlock, TenantDirectory } from '../../../services/core/directory.js';
import { blockIdFor } from '../../../services/core/episodes.js';
import { BatchFold, scoreTenant } from '../../../services/core/fold.js';
import { DEFAULT_POLICY, evaluate, NEW_CONNECTOR_MS, type Policy } from '../../../services/core/policy.js';
import {
  type PositionedMessage,
  positioned,
  scoreMessage,
  type TenantContext,
} from '../../../services/core/scoring.js';
import { NO_STANDING, PolicyTerms } from '../../../services/core/tenant-terms.js';
import { countsSlot, emptyWindow, type TenantWindow, windowCounts } from '../../../services/core/windows.js';
import { blockedEvent, connectorScope, unblockedEvent } from '../../support/block-events.js';
import { storedAndLoaded } from '../../support/packed-writes.js';

const TENANT = 'school';
const T0 = Date.UTC(2026, 11, 1, 9);
const DAY_MS = 86_400_000;
const POLICY: Policy = {
  ...DEFAULT_POLICY,
  windowMinutes: 15,
  thresholds: {
    ...DEFAULT_POLICY.thresholds,
    minUnregistered: 40,
    minUnregisteredWithDistinct: 20,
    minDistinctDomains: 8,
  },
  distinctDomainCap: 12,
};
const CONNECTORS: readonly { id: string | null; path: RelayPath; createdAt: number | null }[] = [
  { id: 'forwarding', path: 'FORWARDED', createdAt: T0 - 400 * DAY_MS },
  { id: 'onprem-1', path: 'ONPREM', createdAt: T0 - 400 * DAY_MS },
  { id: 'onprem-2', path: 'ONPREM', createdAt: T0 - 400 * DAY_MS },
  { id: 'onprem-new', path: 'ONPREM', createdAt: T0 - DAY_MS },
  { id: null, path: 'APPLICATION', createdAt: null },
];

/** A burst of mail on one connector: `count` messages a few seconds apart, after a gap. */
const burst = fc.record({
  connector: fc.nat(CONNECTORS.length - 1),
  sender: fc.constantFrom('registered', 'spam', 'many-domains'),
  count: fc.integer({ min: 1, max: 30 }),
  gapMinutes: fc.constantFrom(0, 0, 1, 2, 6),
});

type Burst = typeof burst extends fc.Arbitrary<infer T> ? T : never;

function messagesOf(bursts: readonly Burst[]): PositionedMessage[] {
  const messages: PositionedMessage[] = [];
  let at = T0;
  for (const b of bursts) {
    at += b.gapMinutes * 60_000;
    const { id, path } = CONNECTORS[b.connector]!;
    for (let i = 0; i < b.count; i++) {
      at += 3_000;
      const offset = messages.length;
      const senderDomain =
        b.sender === 'registered'
          ? 'school.example'
          : b.sender === 'spam'
            ? 'spam.example'
            : `d${offset % 11}.example`;
      messages.push(
        positioned(
          { tenantId: TENANT, occurredAt: at, senderDomain, relayPath: path, connectorId: id },
          { partition: 0, offset: String(offset) },
          `e${offset}`,
        ),
      );
    }
  }
  return messages;
}

function contextOf(directory: TenantDirectory | null): TenantContext {
  return {
    acceptedDomain: (_t, domain) => (domain === 'school.example' ? { matchSubdomains: false } : undefined),
    connectorCreatedAt: (_t, connectorId) => CONNECTORS.find((c) => c.id === connectorId)?.createdAt ?? null,
    standing: () => directory?.tenant(TENANT) ?? NO_STANDING,
    enforcedBlock: (tenantId) => (directory ? enforcedBlock(directory.tenant(tenantId)) : null),
  };
}

const applyBlock = (directory: TenantDirectory, event: TenantBlockEvent) =>
  directory.apply({ kind: 'tenant-block', event });

/** Whether the connector's own counts fire, or it is a recent connector that carried unregistered mail. */
function isCulprit(window: TenantWindow, connectorId: string, at: number): boolean {
  const connector = window.connectors.get(connectorId);
  if (!connector) return false;
  const own = windowCounts(connector, POLICY.forwardedWeight, countsSlot());
  if (evaluate(POLICY.thresholds, own) !== null) return true;
  const createdAt = CONNECTORS.find((c) => c.id === connectorId)?.createdAt ?? null;
  return own.unregistered > 0 && createdAt !== null && at - createdAt <= NEW_CONNECTOR_MS;
}

/** The tenant's counts without these connectors' (D over-counted as the tenant's: only the volume rule is read). */
function restFiresByVolume(window: TenantWindow, blocked: readonly string[]): boolean {
  const rest = { ...windowCounts(window, 0), distinctUnregisteredDomains: 0 };
  for (const id of blocked) {
    const sums = window.connectors.get(id)?.sums;
    if (!sums) continue;
    rest.unregistered -= sums.unregistered;
    rest.total -= sums.total;
  }
  return evaluate(POLICY.thresholds, rest) === 'VOLUME';
}

const bursts = fc.array(burst, { minLength: 1, maxLength: 25 });

describe('connector-scoped blocks: properties', () => {
  it('never refuse a connector under the thresholds unless widened; stay narrow only while the rest does not fire', () => {
    let scoped = 0;
    fc.assert(
      fc.property(bursts, (input) => {
        const directory = new TenantDirectory();
        const context = contextOf(directory);
        const terms = new PolicyTerms(POLICY).of(context, TENANT);
        const window = emptyWindow();
        for (const message of messagesOf(input)) {
          const position = { partition: message.partition, offset: message.offset };
          const score = scoreMessage(
            window,
            TENANT,
            position,
            message,
            POLICY,
            context,
            terms,
            message.eventId,
          );
          if (score.emit) applyBlock(directory, score.emit);
          const block = directory.tenant(TENANT)?.block;
          if (block?.scope !== 'CONNECTOR') continue;
          if (score.emit) {
            scoped++;
            for (const { id } of CONNECTORS) {
              const connectorId = id ?? 'unknown';
              const refused = decide(directory, TENANT, 'spam.example', id).action === 'REJECT';
              // Refused exactly when the connector is a culprit (its own volume fires, or it is new and carried spam).
              assert.equal(refused, isCulprit(window, connectorId, message.occurredAt), connectorId);
            }
          }
          const arrivedOnBlocked = block.connectorIds.includes(message.connectorId ?? 'unknown');
          if (!arrivedOnBlocked)
            assert.ok(!restFiresByVolume(window, block.connectorIds), 'not widened in time');
        }
      }),
      { numRuns: 400 },
    );
    assert.ok(scoped > 20, `only ${scoped} connector-scoped blocks in 400 runs`);
  });

  it('decides the same blocks, ids and scopes, however the events are batched, redelivered and stored', () => {
    fc.assert(
      fc.property(bursts, fc.array(fc.nat(), { maxLength: 8 }), fc.nat(5), (input, cuts, redelivered) => {
        const messages = messagesOf(input);
        const once = scoreTenant(undefined, TENANT, messages, POLICY, contextOf(null)).emits;
        const bounds = [...new Set(cuts.map((cut) => cut % (messages.length + 1)))].sort((a, b) => a - b);
        let window = emptyWindow();
        const emits: TenantBlockEvent[] = [];
        let from = 0;
        for (const to of [...bounds, messages.length]) {
          // A redelivery of the batch's first events (already applied) changes nothing.
          const batch = messages.slice(Math.max(0, from - redelivered), to);
          const fold = new BatchFold(POLICY, contextOf(null));
          fold.tenant(window, TENANT, batch);
          emits.push(...fold.emits);
          // Saved and loaded as Redis holds it.
          window = storedAndLoaded(window) ?? emptyWindow();
          from = to;
        }
        const shape = (events: readonly TenantBlockEvent[]) =>
          events.map((e) => [
            e.blocked!.blockId,
            e.blocked!.scope,
            e.blocked!.connectorIds,
            e.blocked!.widenedFrom,
          ]);
        assert.deepEqual(shape(emits), shape(once));
      }),
      { numRuns: 300 },
    );
  });

  it('never narrows a widened block, whatever replays and duplicates come, until it is lifted', () => {
    const narrow = blockIdFor(TENANT, T0, 0);
    const wide = blockIdFor(TENANT, T0 + 600_000, 0);
    const connectorBlock = blockedEvent(TENANT, narrow, { at: T0, scope: connectorScope('onprem-1') });
    const widened = blockedEvent(TENANT, wide, { at: T0 + 600_000 });
    const tenantBlock = { ...widened, blocked: { ...widened.blocked!, widenedFrom: narrow } };
    const lift = unblockedEvent(TENANT, wide, { at: T0 + 3_600_000 });
    const events = [connectorBlock, tenantBlock, lift];
    fc.assert(
      fc.property(fc.array(fc.nat(events.length - 1), { maxLength: 20 }), (picks) => {
        const directory = new TenantDirectory();
        let widenedSeen = false;
        let lifted = false;
        for (const pick of picks) {
          const event = events[pick]!;
          applyBlock(directory, event);
          widenedSeen ||= event === tenantBlock;
          lifted ||= event === lift;
          const block = directory.tenant(TENANT)!.block;
          if (lifted) assert.equal(block, null, 'a lifted episode stays lifted');
          else if (widenedSeen) assert.equal(block?.blockId, wide, 'the widened block stays wide');
          else assert.equal(block?.blockId, narrow);
        }
      }),
      { numRuns: 500 },
    );
  });
});
