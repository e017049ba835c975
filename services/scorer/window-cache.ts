// The scorer's windows of the partitions it consumes, kept between batches (a caching state store, as in Kafka
// Streams): a tenant seen again is folded into the window in hand, with no load and no decode. The store stays
// the durable copy; a save is still conditional on the version the store last loaded or saved, so a cached
// window that another scorer has moved on from is refused, never trusted.
import type { TenantWindow } from '../core/windows.js';

export interface CachedWindow {
  readonly window: TenantWindow;
  /** The partition its events come from: a partition's windows are dropped together (revoked, conflicted). */
  readonly partition: number;
  /** The store holds a version of it (it was loaded or saved): a save is conditional on that version. */
  persisted: boolean;
}

/** Least recently used order (a Map keeps insertion order, and a hit re-inserts), a dirty set beside it. */
export class WindowCache {
  readonly #entries = new Map<string, CachedWindow>();
  /** Folded into since their last save: what a flush writes. */
  readonly #dirty = new Map<string, CachedWindow>();
  readonly maxTenants: number;

  constructor(maxTenants: number) {
    this.maxTenants = maxTenants;
  }

  get size(): number {
    return this.#entries.size;
  }

  get dirtyCount(): number {
    return this.#dirty.size;
  }

  /**
   * The cached window, marked most recently used. An evicted window whose save has not succeeded yet is still
   * dirty, and still the tenant's newest: it comes back rather than an older copy being loaded.
   */
  get(tenantId: string): CachedWindow | undefined {
    const entry = this.#entries.get(tenantId) ?? this.#dirty.get(tenantId);
    if (entry === undefined) return undefined;
    this.#entries.delete(tenantId);
    this.#entries.set(tenantId, entry);
    return entry;
  }

  add(tenantId: string, entry: CachedWindow): void {
    this.#entries.set(tenantId, entry);
  }

  markDirty(tenantId: string, entry: CachedWindow): void {
    this.#dirty.set(tenantId, entry);
  }

  /** Marks a window saved: the store holds it as it is now. */
  markSaved(tenantId: string, entry: CachedWindow): void {
    entry.persisted = true;
    if (this.#dirty.get(tenantId) === entry) this.#dirty.delete(tenantId);
  }

  isDirty(tenantId: string): boolean {
    return this.#dirty.has(tenantId);
  }

  /** The dirty windows, of every partition or of some. */
  dirty(partitions?: ReadonlySet<number>): [string, CachedWindow][] {
    const all = [...this.#dirty];
    return partitions ? all.filter(([, entry]) => partitions.has(entry.partition)) : all;
  }

  /** The least recently used windows beyond the bound, removed from the cache (dirty ones stay in the dirty set until saved). */
  overflow(): [string, CachedWindow][] {
    const excess = this.#entries.size - this.maxTenants;
    if (excess <= 0) return [];
    const evicted: [string, CachedWindow][] = [];
    for (const item of this.#entries) {
      if (evicted.length === excess) break;
      evicted.push(item);
    }
    for (const [tenantId] of evicted) this.#entries.delete(tenantId);
    return evicted;
  }

  /** Forgets the windows of these partitions, dirty or not; returns how many. */
  dropPartitions(partitions: ReadonlySet<number>): number {
    let dropped = 0;
    for (const [tenantId, entry] of this.#entries) {
      if (!partitions.has(entry.partition)) continue;
      this.#entries.delete(tenantId);
      dropped++;
    }
    for (const [tenantId, entry] of this.#dirty)
      if (partitions.has(entry.partition)) this.#dirty.delete(tenantId);
    return dropped;
  }

  /** Forgets these windows, dirty or not. */
  drop(tenantIds: Iterable<string>): void {
    for (const tenantId of tenantIds) {
      this.#entries.delete(tenantId);
      this.#dirty.delete(tenantId);
    }
  }
}
