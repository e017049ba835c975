// The tenant-blocks topic as a materialized view, decided as the enforcer's directory decides: the latest event
// of a tenant is its block state (what compaction keeps: the topic is keyed by tenant), except that a lifted block
// stays lifted: each unblock starts a generation of the tenant's block episodes, and a block of an older
// generation (a replay, a retry, a zombie scorer) changes nothing (services/core/episodes.ts), nor does an unblock
// older than the block in force; and a block widened to the tenant stays wide within its episode.
// Pure: no I/O, so the fold can be checked against every order of events (test/unit/sdk/block-view.test.ts).
import type { TenantBlockEvent, TenantBlocked, TenantUnblocked } from '../../core/contracts.generated.js';
import {
  blockGeneration,
  FIRST_GENERATION,
  generationAfterUnblock,
  narrowsWidenedBlock,
  unblockPredates,
} from '../../core/episodes.js';

/** A tenant's current block: the policy's decision with its evidence, and when it was decided (event time). */
export interface CurrentBlock extends TenantBlocked {
  readonly tenantId: string;
  readonly blockedAt: number;
}

/** Where in the topic a change was read. Offsets are int64: decimal strings. */
export interface TopicPosition {
  readonly partition: number;
  readonly offset: string;
}

interface ChangeBase {
  readonly tenantId: string;
  /** The event as published. */
  readonly event: TenantBlockEvent;
  readonly position: TopicPosition;
  /**
   * True while the subscriber catches up on the topic's history (before `ready`): a notifier that must act once
   * per change skips these, or keeps its own record of what it already did.
   */
  readonly replayed: boolean;
}

export interface BlockedChange extends ChangeBase {
  readonly kind: 'blocked';
  /** The block, with its evidence (U, F, T, D, the window, top domains, connectors) and mode. */
  readonly block: CurrentBlock;
}

export interface UnblockedChange extends ChangeBase {
  readonly kind: 'unblocked';
  /** Who lifted which block (`unblock.blockId`), with the attestations and ticket. */
  readonly unblock: TenantUnblocked & { readonly unblockedAt: number };
  /**
   * The block that was lifted, as this view held it; null for a group member that never saw it (the block was
   * consumed before the group's last commit).
   */
  readonly lifted: CurrentBlock | null;
}

export type BlockChange = BlockedChange | UnblockedChange;

/** What `apply` found the event to change: a new block, a lifted one, or nothing (a duplicate, a no-op unblock). */
export type Transition =
  | { readonly kind: 'blocked'; readonly block: CurrentBlock }
  | {
      readonly kind: 'unblocked';
      readonly unblock: UnblockedChange['unblock'];
      readonly lifted: CurrentBlock | null;
    }
  | null;

export interface BlockViewOptions {
  /**
   * The view sees only part of each partition's history (a consumer group member resumes at the group's commits):
   * an unblock of a tenant it knows nothing of is reported, since the block it lifts may predate what it read.
   */
  readonly partial?: boolean;
}

export class BlockView {
  /** Only tenants with a current block: a tenant never blocked costs nothing (the planning figure is 1M tenants). */
  readonly #blocks = new Map<string, CurrentBlock>();
  /** The episode generation of each tenant ever unblocked (or blocked in a later generation). */
  readonly #generations = new Map<string, number>();
  readonly #partial: boolean;

  constructor(options: BlockViewOptions = {}) {
    this.#partial = options.partial ?? false;
  }

  /** The block in force or monitored for this tenant, undefined when none. */
  block(tenantId: string): CurrentBlock | undefined {
    return this.#blocks.get(tenantId);
  }

  /** Whether relays reject this tenant's unregistered senders now (an ENFORCE-mode block; MONITOR is never enforced). */
  isBlocked(tenantId: string): boolean {
    return this.#blocks.get(tenantId)?.mode === 'ENFORCE';
  }

  /** Every current block, enforce and monitor mode. */
  blocks(): IterableIterator<CurrentBlock> {
    return this.#blocks.values();
  }

  /** What the event would change, without changing anything (a handler runs before the view moves on). */
  transition(event: TenantBlockEvent): Transition {
    const current = this.#blocks.get(event.tenantId);
    if (event.kind === 'BLOCKED' && event.blocked) {
      // A duplicate publish (or a replay) carries the same deterministic block id: not a new block.
      if (current?.blockId === event.blocked.blockId) return null;
      // A block of a lifted episode stays lifted.
      if (blockGeneration(event.blocked.blockId) < this.#generation(event.tenantId)) return null;
      // A block widened to the tenant stays wide: the connector block it widened, republished after it, is ignored.
      if (narrowsWidenedBlock(current, event.blocked)) return null;
      return {
        kind: 'blocked',
        block: { ...event.blocked, tenantId: event.tenantId, blockedAt: event.occurredAt },
      };
    }
    if (this.#liftsNothing(event)) return null;
    const unknown = !current && !this.#generations.has(event.tenantId);
    if (event.kind === 'UNBLOCKED' && event.unblocked && (current || (this.#partial && unknown))) {
      return {
        kind: 'unblocked',
        unblock: { ...event.unblocked, unblockedAt: event.occurredAt },
        lifted: current ?? null,
      };
    }
    return null;
  }

  /** Applies the event, with the transition `transition(event)` returned for it (an unblock of no current block too). */
  apply(event: TenantBlockEvent, transition: Transition): void {
    const { tenantId } = event;
    if (transition?.kind === 'blocked') {
      this.#blocks.set(tenantId, transition.block);
      // Newer than the unblocks seen: compaction kept this block and dropped the unblock that started its generation.
      this.#raiseGeneration(tenantId, blockGeneration(transition.block.blockId));
    } else if (event.kind === 'UNBLOCKED' && event.unblocked && !this.#liftsNothing(event)) {
      this.#blocks.delete(tenantId);
      this.#raiseGeneration(tenantId, generationAfterUnblock(event.occurredAt, event.unblocked.blockId));
    }
  }

  /** An unblock older than the block in force (a replay; `unblockPredates`) lifts nothing. */
  #liftsNothing(event: TenantBlockEvent): boolean {
    return (
      event.kind === 'UNBLOCKED' &&
      event.unblocked !== null &&
      unblockPredates(this.#blocks.get(event.tenantId), event.occurredAt, event.unblocked.blockId)
    );
  }

  #generation(tenantId: string): number {
    return this.#generations.get(tenantId) ?? FIRST_GENERATION;
  }

  #raiseGeneration(tenantId: string, generation: number): void {
    if (generation > this.#generation(tenantId)) this.#generations.set(tenantId, generation);
  }
}
