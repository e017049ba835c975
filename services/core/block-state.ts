// A tenant's block state from the tenant-blocks topic: the block in force, the last unblock, the generation of its
// block episodes (services/core/episodes.ts), and how many tenants are blocked. Shared by the whole directory
// (directory.ts) and the enforcer's compact index (enforcer-index.ts), so both decide from the same state.
import type { TenantBlockEvent } from './contracts.generated.js';
import { blockGeneration, generationAfterUnblock } from './episodes.js';
import { isEnforcedBlock, type LiftedBlock, type MutableRecord } from './tenant-record.js';

/** What a connector of the evidence carried the mail with at the block (`connectorSettingsKey`), or null. */
export type SettingsAtBlock = (connectorId: string) => string | null;

export class BlockStates {
  /**
   * Tenants whose latest tenant-blocks record is a block of a lifted episode (by its block id): ignored here, but
   * it is what compaction keeps once the unblock before it is older than the compaction lag, and what a reader
   * that only takes the latest record sees. The scorer publishes the unblock again for them (reaffirmations).
   */
  readonly #liftedLast = new Map<string, string>();
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

  /** Each tenant whose latest record is a block of a lifted episode, with the unblock that lifted it. */
  liftedLast(
    recordOf: (tenantId: string) => MutableRecord,
  ): { tenantId: string; blockId: string; unblock: LiftedBlock }[] {
    return [...this.#liftedLast].map(([tenantId, blockId]) => ({
      tenantId,
      blockId,
      unblock: recordOf(tenantId).lastUnblock!,
    }));
  }

  apply(record: MutableRecord, event: TenantBlockEvent, settingsAtBlock: SettingsAtBlock): void {
    const wasBlocked = isEnforcedBlock(record);
    const wasMonitored = record.block?.mode === 'MONITOR';
    if (event.kind === 'BLOCKED' && event.blocked) {
      // A duplicate publish carries the same block id: it must not count as a second block.
      if (record.block?.blockId === event.blocked.blockId) return;
      // A block of a lifted episode (a replay, a retry or a zombie scorer publishing after the unblock) stays
      // lifted: it neither blocks again nor counts as a second block.
      const generation = blockGeneration(event.blocked.blockId);
      if (generation < record.generation || record.lastUnblock?.blockId === event.blocked.blockId) {
        // Now the tenant's latest record: compaction would keep it and drop the unblock (liftedLast).
        if (record.lastUnblock !== null) this.#liftedLast.set(event.tenantId, event.blocked.blockId);
        return;
      }
      // Within an episode a block widened to the whole tenant stays wide: the connector-scoped block it widened,
      // replayed or retried after it, narrows nothing.
      const current = record.block;
      if (
        current?.scope === 'TENANT' &&
        event.blocked.scope === 'CONNECTOR' &&
        blockGeneration(current.blockId) === generation
      )
        return;
      this.#liftedLast.delete(event.tenantId);
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
      this.#liftedLast.delete(event.tenantId);
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
}
