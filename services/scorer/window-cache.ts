// The scorer's windows of the partitions it consumes, kept between batches (a caching state store, as in Kafka
// Streams): a tenant seen again is folded into the window in hand, with no load and no decode. The store stays
// the durable copy; a save is still conditional on the version the store last loaded or saved, so a cached
// window that another scorer has moved on from is refused, never trusted. A window the store has not written for
// nearly its key TTL is loaded again rather than trusted: Redis may have expired it meanwhile (see `get`).
// Each entry records what its folds changed since the store last took it, so a save writes only that.
import { noChanges, type TenantWindow, type WindowChanges, windowVersion } from '../core/windows.js';
import type { WindowWrite } from '../platform/ports.js';

/**
 * What folds changed since the version the store holds (the fold records into it), and the event fingerprints that
 * version holds (the first `count` of this generation of the table): what a save of the window writes.
 */
export interface Unsaved extends WindowChanges {
  readonly fingerprints: { generation: number; count: number };
}

export interface CachedWindow {
  readonly window: TenantWindow;
  /** The partition its events come from: a partition's windows are dropped together (revoked, conflicted). */
  readonly partition: number;
  /**
   * The version the store holds of it (it was loaded or saved): a save is conditional on it, and another writer
   * changed the window when the store's differs. Null: the store holds nothing of it.
   */
  version: string | null;
  /** What folds changed since that version (handed to BatchFold.tenant): what a save of it writes. */
  readonly changes: Unsaved;
  /** Used since the eviction hand last passed it (its second chance). */
  used: boolean;
  /** When it was last loaded or saved (processing time, like the store's key TTL). */
  storedAt: number;
}

/**
 * Evicts in CLOCK order, an approximation of least recently used that costs nothing on a hit: a hit only sets
 * `used`; eviction walks from the oldest insertion, gives a used window a second chance (cleared and moved
 * behind), and evicts the first unused one. A dirty set sits beside the entries.
 */
export class WindowCache {
  readonly #entries = new Map<string, CachedWindow>();
  /** Folded into since their last save: what a flush writes. */
  readonly #dirty = new Map<string, CachedWindow>();
  readonly maxTenants: number;
  /** A clean window not loaded or saved for this long is loaded again: shorter than the store's key TTL. */
  readonly maxAgeMs: number;

  constructor(maxTenants: number, maxAgeMs: number) {
    this.maxTenants = maxTenants;
    this.maxAgeMs = maxAgeMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The cached window, marked used. An evicted window whose save has not succeeded yet is still dirty, and
   * still the tenant's newest: it comes back rather than an older copy being loaded. A clean window older than
   * `maxAgeMs` is forgotten (undefined): its key expires soon or has expired, and a save based on it would be
   * refused, so it is loaded again as any uncached window is (and counts the same, however long it was cached).
   */
  get(tenantId: string, now: number): CachedWindow | undefined {
    let entry = this.#entries.get(tenantId);
    if (entry !== undefined && now - entry.storedAt > this.maxAgeMs && !this.#dirty.has(tenantId)) {
      this.#entries.delete(tenantId);
      return undefined;
    }
    if (entry === undefined) {
      entry = this.#dirty.get(tenantId);
      if (entry === undefined) return undefined;
      this.#entries.set(tenantId, entry);
    }
    entry.used = true;
    return entry;
  }

  /** Caches a window loaded from the store (with the version it has there; null for a new window). */
  add(
    tenantId: string,
    window: TenantWindow,
    version: string | null,
    partition: number,
    now: number,
  ): CachedWindow {
    const entry: CachedWindow = {
      window,
      partition,
      version,
      changes: {
        ...noChanges(),
        fingerprints: { generation: window.seen.generation, count: window.seen.count },
      },
      used: true,
      storedAt: now,
    };
    this.#entries.set(tenantId, entry);
    return entry;
  }

  /**
   * The save of a cached window: conditional on the version the store holds, writing what changed since (the
   * whole window when the store holds none of it).
   */
  write(tenantId: string, entry: CachedWindow): WindowWrite {
    const { window, version, changes } = entry;
    if (version === null) return { tenantId, expectedVersion: null, window };
    return { tenantId, expectedVersion: version, window, changes };
  }

  markDirty(tenantId: string, entry: CachedWindow): void {
    this.#dirty.set(tenantId, entry);
  }

  /** Marks a window saved: the store holds it as it is now, as durably as configured. */
  markSaved(tenantId: string, entry: CachedWindow, now: number): void {
    this.markWritten(entry);
    entry.storedAt = now;
    if (this.#dirty.get(tenantId) === entry) this.#dirty.delete(tenantId);
  }

  /**
   * The store holds the window as it is now, though not as durably as configured (its replicas did not confirm
   * it): the next save is based on this version, and the window stays dirty until a save of it is durable.
   */
  markWritten(entry: CachedWindow): void {
    const { window, changes } = entry;
    entry.version = windowVersion(window);
    // Cleared, not replaced: the store encoded them before its save resolved. An empty set is left alone: a clear
    // allocates its table anew.
    if (changes.minutes.size > 0) changes.minutes.clear();
    if (changes.domains.size > 0) changes.domains.clear();
    if (changes.connectors.size > 0) changes.connectors.clear();
    changes.fingerprints.generation = window.seen.generation;
    changes.fingerprints.count = window.seen.count;
  }

  isDirty(tenantId: string): boolean {
    return this.#dirty.has(tenantId);
  }

  /** The dirty windows, of every partition or of some. */
  dirty(partitions?: ReadonlySet<number>): [string, CachedWindow][] {
    const all = [...this.#dirty];
    return partitions ? all.filter(([, entry]) => partitions.has(entry.partition)) : all;
  }

  /** The windows beyond the bound, removed from the cache (dirty ones stay in the dirty set until saved). */
  overflow(): [string, CachedWindow][] {
    const excess = this.#entries.size - this.maxTenants;
    if (excess <= 0) return [];
    const evicted: [string, CachedWindow][] = [];
    // A Map visits entries re-inserted during the walk again, so a second chance ends in eviction at the latest.
    for (const [tenantId, entry] of this.#entries) {
      if (evicted.length === excess) break;
      this.#entries.delete(tenantId);
      if (entry.used) {
        entry.used = false;
        this.#entries.set(tenantId, entry);
      } else {
        evicted.push([tenantId, entry]);
      }
    }
    return evicted;
  }

  /** The store holds nothing of this window any more (its key expired): its next save creates it whole. */
  markExpired(entry: CachedWindow): void {
    entry.version = null;
  }

  /** Forgets the windows of these partitions, dirty or not. */
  dropPartitions(partitions: ReadonlySet<number>): void {
    for (const map of [this.#entries, this.#dirty])
      for (const [tenantId, entry] of map) if (partitions.has(entry.partition)) map.delete(tenantId);
  }
}
