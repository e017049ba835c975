// A tenant's block state from the tenant-blocks topic: the block in force, the last unblock, the generation of its
// block episodes (services/core/episodes.ts), and how many tenants are blocked. Shared by the whole directory
// (directory.ts) and the enforcer's compact index (enforcer-index.ts), so both decide from the same state.
import type { TenantBlockEvent } from './contracts.generated.js';
import { blockGeneration, generationAfterUnblock, narrowsWidenedBlock, unblockPredates } from './episodes.js';
import { isEnforcedBlock, type MutableRecord, type TenantRecord } from './tenant-record.js';

/** What a connector of the evidence carried the mail with at the block (`connectorSettingsKey`), or null. */
export type SettingsAtBlock = (connectorId: string) => string | null;

/** A tenant whose latest record is one every directory ignored (see BlockStates.staleLast). */
export interface StaleBlockLast {
  readonly tenantId: string;
  /** The block the ignored record publishes, or the one it unblocks. */
  readonly blockId: string;
  /** Which ignored record this is among those the directory met (from 1): each calls for one reaffirmation. */
  readonly seen: number;
  /** The tenant's state as a record to publish behind it: the block in force, else the last unblock. */
  readonly reaffirmation: TenantBlockEvent;
}

export class BlockStates {
  /**
   * Tenants whose latest tenant-blocks record is one every directory ignores — a block of a lifted episode, the
   * connector block a tenant block of its episode widened, or an unblock older than the block in force — published
   * again after what superseded it (a replay, a zombie scorer, a rebuild, an unblock published again behind such a
   * block). It is what compaction keeps once the records before it are older than the compaction lag, and what a
   * reader of the latest record sees. The scorer publishes the tenant's state again behind it (staleLast).
   */
  readonly #staleLast = new Map<string, { blockId: string; seen: number }>();
  /** How many ignored records were met as a tenant's latest: numbers them for `StaleBlockLast.seen`. */
  #staleMet = 0;
  #blockedCount = 0;
  #monitorBlockedCount = 0;

  /** Tenants whose enforce-mode block is in force. */
  get blockedCount(): number {
    return this.#blockedCount;
  }

  /** Tenants in monitor mode whose latest block decision would have blocked them. */
  get monitorBlockedCount(): number {
    return this.#monitorBlockedCount;
  }

  /** Each tenant whose latest record is one every directory ignored, with its state to publish behind it. */
  staleLast(recordOf: (tenantId: string) => TenantRecord): StaleBlockLast[] {
    return [...this.#staleLast].map(([tenantId, stale]) => ({
      tenantId,
      ...stale,
      reaffirmation: reaffirmation(recordOf(tenantId), stale.blockId),
    }));
  }

  /** The tenant's state is no longer held (a scorer's directory slice gave up its partition). */
  forget(record: MutableRecord): void {
    this.#staleLast.delete(record.tenantId);
    this.#blockedCount -= Number(isEnforcedBlock(record));
    this.#monitorBlockedCount -= Number(record.block?.mode === 'MONITOR');
  }

  apply(record: MutableRecord, event: TenantBlockEvent, settingsAtBlock: SettingsAtBlock): void {
    const wasBlocked = isEnforcedBlock(record);
    const wasMonitored = record.block?.mode === 'MONITOR';
    if (event.kind === 'BLOCKED' && event.blocked) {
      // A duplicate publish carries the same block id: it must not count as a second block.
      if (record.block?.blockId === event.blocked.blockId) {
        this.#staleLast.delete(event.tenantId);
        return;
      }
      // A block of a lifted episode (a replay, a retry or a zombie scorer publishing after the unblock) stays
      // lifted: it neither blocks again nor counts as a second block. Within an episode a block widened to the
      // whole tenant stays wide: the connector-scoped block it widened, replayed or retried after it, narrows
      // nothing. Either is now the tenant's latest record, which compaction would keep (staleLast).
      const generation = blockGeneration(event.blocked.blockId);
      if (
        generation < record.generation ||
        record.lastUnblock?.blockId === event.blocked.blockId ||
        narrowsWidenedBlock(record.block, event.blocked)
      ) {
        this.#ignoredLast(event.tenantId, event.blocked.blockId);
        return;
      }
      this.#staleLast.delete(event.tenantId);
      // Newer than the unblocks seen: compaction kept this block and dropped the unblock that started its generation.
      record.generation = generation;
      // A block restated by a per-connector lift keeps what its connectors carried at the block it restates: one
      // secured between the block and the lift still counts as remediated.
      const restated =
        event.blocked.liftedConnectorIds.length > 0 ? record.block?.connectorsAtBlock : undefined;
      const connectorsAtBlock: Record<string, string | null> = {};
      for (const { connectorId } of event.blocked.evidence.connectors) {
        const before = restated?.[connectorId];
        connectorsAtBlock[connectorId] = before === undefined ? settingsAtBlock(connectorId) : before;
      }
      record.block = { ...event.blocked, blockedAt: event.occurredAt, connectorsAtBlock };
      // A block widened from, or restating, one of the tenant's blocks continues that block: not another one.
      const continues = event.blocked.widenedFrom !== null || event.blocked.liftedConnectorIds.length > 0;
      if (event.blocked.mode === 'ENFORCE' && !continues)
        record.blockTimes = [...record.blockTimes, event.occurredAt];
    } else if (event.kind === 'UNBLOCKED' && event.unblocked) {
      // An unblock older than the block in force lifts nothing; now the latest record, it is stale too.
      if (unblockPredates(record.block, event.occurredAt, event.unblocked.blockId)) {
        this.#ignoredLast(event.tenantId, event.unblocked.blockId);
        return;
      }
      this.#staleLast.delete(event.tenantId);
      record.generation = Math.max(
        record.generation,
        generationAfterUnblock(event.occurredAt, event.unblocked.blockId),
      );
      if (record.lastUnblock?.blockId === event.unblocked.blockId && record.block === null) return;
      record.block = null;
      record.lastUnblock = { ...event.unblocked, unblockedAt: event.occurredAt };
    }
    this.#blockedCount += Number(isEnforcedBlock(record)) - Number(wasBlocked);
    this.#monitorBlockedCount += Number(record.block?.mode === 'MONITOR') - Number(wasMonitored);
  }

  /** The tenant's latest record is one this directory ignored, naming `blockId` (staleLast). */
  #ignoredLast(tenantId: string, blockId: string): void {
    this.#staleLast.set(tenantId, { blockId, seen: ++this.#staleMet });
  }
}

/**
 * The record that restates the tenant's state behind an ignored record naming `staleBlockId`: the block in force as
 * it was published (its id as event id, its time), or the last unblock (`<stale block id>~lifted`; a tenant that
 * had a record ignored was blocked or unblocked before, so one of them is there). Every reader of the whole topic
 * already holds that state, so for it the record is a duplicate; a reader of the latest record alone takes the
 * state from it.
 */
function reaffirmation(record: TenantRecord, staleBlockId: string): TenantBlockEvent {
  const { tenantId } = record;
  if (record.block !== null) {
    // What the directory added to the published block (when, what its connectors carried) is not part of it.
    const { blockedAt, connectorsAtBlock: _, ...blocked } = record.block;
    return {
      eventId: blocked.blockId,
      tenantId,
      occurredAt: blockedAt,
      kind: 'BLOCKED',
      blocked,
      unblocked: null,
    };
  }
  const { unblockedAt, ...unblocked } = record.lastUnblock!;
  return {
    eventId: `${staleBlockId}~lifted`,
    tenantId,
    occurredAt: unblockedAt,
    kind: 'UNBLOCKED',
    blocked: null,
    unblocked,
  };
}
