// The read models of the admin API: a tenant's status with its remediation, its live window, its block
// history, and the blocked tenants a page at a time.
import { type ActiveBlock, probationUntil, type TenantDirectory } from '../core/directory.js';
import { RelayguardError } from '../core/errors.js';
import { effectivePolicy, type Policy, type WindowCounts } from '../core/policy.js';
import type { Clock, WindowStore } from '../platform/ports.js';
import { type TenantWindowReply, windowView } from './console/window-view.js';
import {
  type Remedy,
  remediationWarnings,
  remedies,
  type SelfServiceCheck,
  selfServiceChecks,
} from './remediation-rules.js';
import { countsOf, requireTenant, storedWindow, tenantLookups } from './tenant-records.js';

export interface TenantStatus {
  readonly tenantId: string;
  readonly blocked: boolean;
  readonly mode: 'ENFORCE' | 'MONITOR';
  readonly block: ActiveBlock | null;
  readonly counters: WindowCounts;
  readonly thresholds: ReturnType<typeof effectivePolicy>['thresholds'];
  readonly probationUntil: number | null;
  /**
   * While blocked: what the system still sees, whether a self-service unblock would pass its own checks, and the
   * steps out of the block (disabling the culprit connectors first).
   */
  readonly remediation: {
    readonly warnings: string[];
    readonly selfServiceChecks: SelfServiceCheck[];
    readonly remedies: Remedy[];
  } | null;
}

export interface BlockSummary {
  readonly tenantId: string;
  readonly blockId: string;
  readonly blockedAt: number;
  readonly reason: ActiveBlock['reason'];
  readonly scope: ActiveBlock['scope'];
  /** The blocked connectors of a connector-scoped block (empty for a tenant block). */
  readonly connectorIds: readonly string[];
  readonly probation: boolean;
  readonly unregistered: number;
  readonly total: number;
  readonly distinctUnregisteredDomains: number;
}

export interface BlockPage {
  readonly blocks: BlockSummary[];
  /** Pass as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

export interface TenantReadsDeps {
  readonly directory: TenantDirectory;
  readonly store: WindowStore;
  readonly policy: Policy;
  readonly clock: Clock;
}

export class TenantReads {
  readonly #deps: TenantReadsDeps;

  constructor(deps: TenantReadsDeps) {
    this.#deps = deps;
  }

  async status(tenantId: string): Promise<TenantStatus> {
    const { directory, store, policy, clock } = this.#deps;
    const record = requireTenant(directory, tenantId);
    const now = clock.now();
    const until = probationUntil(record);
    const effective = effectivePolicy(policy, record.policy, until, now);
    const counters = countsOf(await storedWindow(store, record), effective.forwardedWeight);
    const block = record.block?.mode === 'ENFORCE' ? record.block : null;
    const lookups = tenantLookups(directory, tenantId);
    return {
      tenantId,
      blocked: block !== null,
      mode: effective.mode,
      block: record.block,
      counters,
      thresholds: effective.thresholds,
      probationUntil: until !== null && until > now ? until : null,
      remediation: block
        ? {
            warnings: remediationWarnings(block, lookups),
            selfServiceChecks: selfServiceChecks(record, block, lookups, undefined),
            remedies: remedies(tenantId, block, lookups),
          }
        : null,
    };
  }

  /** The tenant's live window minute by minute, and what carried its unregistered mail (the console's chart). */
  async window(tenantId: string): Promise<TenantWindowReply> {
    const { directory, store, policy, clock } = this.#deps;
    const record = requireTenant(directory, tenantId);
    const effective = effectivePolicy(policy, record.policy, probationUntil(record), clock.now());
    const window = await storedWindow(store, record);
    return {
      tenantId,
      windowMinutes: policy.windowMinutes,
      counters: countsOf(window, effective.forwardedWeight),
      ...windowView(window, policy.windowMinutes),
    };
  }

  /** The blocks before the current one: when each was decided (30 days kept) and the last lift. */
  history(tenantId: string) {
    const record = requireTenant(this.#deps.directory, tenantId);
    return { tenantId, blockTimes: [...record.blockTimes].reverse(), lastUnblock: record.lastUnblock };
  }

  /**
   * Blocked tenants, newest first, a page at a time. The cursor names the last entry of the previous page, so
   * blocks added or lifted between two calls neither repeat nor shift entries across pages.
   */
  blocks(page: { readonly limit: number; readonly cursor?: string | undefined }): BlockPage {
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    const all: BlockSummary[] = [];
    for (const record of this.#deps.directory.tenants()) {
      const block = record.block;
      if (block?.mode !== 'ENFORCE') continue;
      all.push({
        tenantId: record.tenantId,
        blockId: block.blockId,
        blockedAt: block.blockedAt,
        reason: block.reason,
        scope: block.scope,
        connectorIds: block.connectorIds,
        probation: block.probation,
        unregistered: block.evidence.unregistered,
        total: block.evidence.total,
        distinctUnregisteredDomains: block.evidence.distinctUnregisteredDomains,
      });
    }
    all.sort(newestFirst);
    const start = after === undefined ? 0 : all.findIndex((entry) => newestFirst(entry, after) > 0);
    const blocks = start === -1 ? [] : all.slice(start, start + page.limit);
    const last = blocks[blocks.length - 1];
    const more = start !== -1 && start + page.limit < all.length;
    return { blocks, nextCursor: more && last ? encodeCursor(last) : null };
  }
}

interface CursorPosition {
  readonly blockedAt: number;
  readonly tenantId: string;
}

function newestFirst(a: CursorPosition, b: CursorPosition): number {
  return b.blockedAt - a.blockedAt || (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0);
}

function encodeCursor(entry: CursorPosition): string {
  return Buffer.from(JSON.stringify([entry.blockedAt, entry.tenantId])).toString('base64url');
}

function decodeCursor(cursor: string): CursorPosition {
  try {
    const [blockedAt, tenantId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof blockedAt === 'number' && typeof tenantId === 'string') return { blockedAt, tenantId };
  } catch {
    // Falls through to the error below.
  }
  throw new RelayguardError(
    'INVALID_FIELD',
    'cursor: not a cursor from a previous page; repeat the request without it to start from the newest block',
    { field: 'cursor' },
  );
}
