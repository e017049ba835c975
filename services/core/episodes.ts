// Block episodes and their generations. Each unblock starts a new generation of the tenant's episodes: the
// generation is the time from which events count again (the unblock's time, or one past the lifted block's
// generation if that is later), so a window that applied it counts only events after the unblock. The materialized
// tenant-blocks state is the one source of truth: a window applies the generation it reads there when it is loaded
// or folded, and a block id carries the generation it was built in, so a block of a lifted episode is known as
// such wherever it turns up (a replay, a retry, a zombie scorer), even once compaction dropped the unblock.

import type { TenantBlocked } from './contracts.generated.js';
import { isoUtc } from './utc.js';

/** Generation 0: the tenant was never unblocked. Its block ids keep the form they had before generations. */
export const FIRST_GENERATION = 0;

const GENERATION_SUFFIX = /Z~g(\d+)$/;

/** The deterministic block id: the tenant, the triggering window's end minute and the episode's generation. */
export function blockIdFor(tenantId: string, windowEnd: number, generation: number): string {
  const id = `${tenantId}@${isoUtc(windowEnd).slice(0, 16)}Z`;
  return generation === FIRST_GENERATION ? id : `${id}~g${generation}`;
}

/** The generation a block id was built in (ids without one are from generation 0). */
export function blockGeneration(blockId: string): number {
  const match = GENERATION_SUFFIX.exec(blockId);
  return match ? Number(match[1]) : FIRST_GENERATION;
}

/**
 * The generation an unblock starts: its own time, and always after the generation of the block it lifts (an
 * operator's clock behind the scorer's must not leave the lifted evidence counted).
 */
export function generationAfterUnblock(unblockedAt: number, liftedBlockId: string): number {
  return Math.max(unblockedAt, blockGeneration(liftedBlockId) + 1);
}

/**
 * Whether a connector-scoped block would narrow the tenant-scoped block in force of its own episode: it is the
 * connector block that tenant block widened, replayed, retried or republished after it. Every reader ignores it.
 */
export function narrowsWidenedBlock(
  current: Pick<TenantBlocked, 'blockId' | 'scope'> | null | undefined,
  blocked: Pick<TenantBlocked, 'blockId' | 'scope'>,
): boolean {
  return (
    current?.scope === 'TENANT' &&
    blocked.scope === 'CONNECTOR' &&
    blockGeneration(current.blockId) === blockGeneration(blocked.blockId)
  );
}

/**
 * Whether an unblock is older than the block in force: that block was built in the generation the unblock started,
 * or a later one, so it was decided after the unblock (which is a replay, or an unblock published again behind a
 * lifted block while another writer blocked the tenant again). It lifts nothing.
 */
export function unblockPredates(
  current: Pick<TenantBlocked, 'blockId'> | null | undefined,
  unblockedAt: number,
  liftedBlockId: string,
): boolean {
  return (
    current !== null &&
    current !== undefined &&
    blockGeneration(current.blockId) >= generationAfterUnblock(unblockedAt, liftedBlockId)
  );
}
