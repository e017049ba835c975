// The scorer's windows between the cache and the store: a batch's windows from the cache or loaded in one round
// trip, the dirty ones saved conditionally (what changed since the version the store holds), the fence that keeps
// a scorer which lost its partition from publishing, and the windows a save refused dropped with their partition.
import { isRelayguardError } from '../core/errors.js';
import { emptyWindow, NO_VERSION } from '../core/windows.js';
import type { Metrics } from '../platform/metrics.js';
import type { Clock, StoredWindow, WindowStore, WindowWrite } from '../platform/ports.js';
import { type CachedWindow, WindowCache } from './window-cache.js';

/**
 * How long a clean cached window is trusted without a load or save: the store's key TTL less a margin that covers
 * a batch and the write-behind interval before its save, so the save lands while the key still holds the version
 * it is conditional on.
 */
function windowCacheMaxAgeMs(ttlMs: number, commitIntervalMs: number): number {
  return Math.max(0, ttlMs - Math.max(2 * commitIntervalMs, Math.ceil(ttlMs / 10)));
}

export interface ScorerWindowsOptions {
  readonly store: WindowStore;
  readonly metrics: Metrics;
  readonly clock: Clock;
  /** Most tenants' windows kept between batches (least recently used go first, saved if dirty). */
  readonly maxTenants: number;
  /** The write-behind interval (0: saved at the end of every batch). */
  readonly commitIntervalMs: number;
}

export class ScorerWindows {
  readonly #store: WindowStore;
  readonly #metrics: Metrics;
  readonly #clock: Clock;
  readonly #cache: WindowCache;

  constructor({ store, metrics, clock, maxTenants, commitIntervalMs }: ScorerWindowsOptions) {
    this.#store = store;
    this.#metrics = metrics;
    this.#clock = clock;
    this.#cache = new WindowCache(maxTenants, windowCacheMaxAgeMs(store.ttlMs, commitIntervalMs));
  }

  /** The batch's tenants' windows: from the cache, the others loaded in one round trip (or new). */
  async windows(partition: number, tenantIds: Iterable<string>): Promise<Map<string, CachedWindow>> {
    const metrics = this.#metrics;
    const entries = new Map<string, CachedWindow>();
    const misses: string[] = [];
    const now = this.#clock.now();
    for (const tenantId of tenantIds) {
      const entry = this.#cache.get(tenantId, now);
      if (entry) entries.set(tenantId, entry);
      else misses.push(tenantId);
    }
    metrics.windowCacheLookups.inc({ result: 'hit' }, entries.size);
    if (misses.length === 0) return entries;
    metrics.windowCacheLookups.inc({ result: 'miss' }, misses.length);
    const loaded = await this.#load(misses);
    for (const tenantId of misses) {
      const stored = loaded.get(tenantId);
      const window = stored?.window ?? emptyWindow();
      entries.set(tenantId, this.#cache.add(tenantId, window, stored?.version ?? null, partition, now));
    }
    metrics.windowCacheTenants.set(this.#cache.size);
    return entries;
  }

  markDirty(tenantId: string, entry: CachedWindow): void {
    this.#cache.markDirty(tenantId, entry);
  }

  /**
   * Of these tenants' windows, those the store holds at another version than the cache expects (another scorer
   * wrote them): one round trip. A window whose key expired is marked so: no other scorer wrote it since.
   */
  async moved(tenantIds: readonly string[], entries: ReadonlyMap<string, CachedWindow>): Promise<string[]> {
    const done = this.#metrics.storeDuration.startTimer({ operation: 'versions' });
    const stored = await this.#store.versions(tenantIds);
    done();
    return tenantIds.filter((tenantId) => {
      const entry = entries.get(tenantId)!;
      const version = stored.get(tenantId);
      if (version === undefined && entry.version !== null) {
        this.#cache.markExpired(entry);
        this.#metrics.windowCacheExpiredSaves.inc();
      }
      return (version ?? NO_VERSION) !== (entry.version ?? NO_VERSION);
    });
  }

  /** Saves the dirty windows (of some partitions); returns the partitions of those refused, dropped. */
  async flush(partitions?: ReadonlySet<number>): Promise<Set<number>> {
    const dirty = this.#cache.dirty(partitions);
    if (dirty.length === 0) return new Set();
    const started = performance.now();
    const refused = await this.#save(dirty);
    this.#metrics.windowFlushDuration.observe((performance.now() - started) / 1000);
    this.#metrics.windowsFlushed.observe(dirty.length);
    return refused;
  }

  /**
   * Least recently used windows beyond the bound leave the cache; a dirty one is saved first, not lost. Returns the
   * partitions of those refused, dropped.
   */
  async evictOverflow(): Promise<Set<number>> {
    const evicted = this.#cache.overflow();
    if (evicted.length === 0) return new Set();
    this.#metrics.windowCacheEvictions.inc(evicted.length);
    this.#metrics.windowCacheTenants.set(this.#cache.size);
    return this.#save(evicted.filter(([tenantId]) => this.#cache.isDirty(tenantId)));
  }

  dropPartitions(partitions: ReadonlySet<number>): void {
    this.#cache.dropPartitions(partitions);
    this.#metrics.windowCacheTenants.set(this.#cache.size);
  }

  /**
   * Saves the windows, conditional on the versions the store last held. Returns the partitions of the windows the
   * store refused because another scorer wrote them: their windows are dropped, so they are rescored from the last
   * commit. A window refused because its key expired is written afresh instead.
   */
  async #save(entries: readonly [string, CachedWindow][]): Promise<Set<number>> {
    let refused = await this.#write(entries);
    if (refused.length > 0) {
      const expired = await this.#expired(refused);
      if (expired.length > 0)
        refused = [...refused.filter((entry) => !expired.includes(entry)), ...(await this.#write(expired))];
    }
    const refusedPartitions = new Set(refused.map(([, entry]) => entry.partition));
    if (refusedPartitions.size > 0) this.dropPartitions(refusedPartitions);
    return refusedPartitions;
  }

  /**
   * One conditional write per window, one round trip; returns the windows the store refused. When the store fails,
   * the writes it applied nonetheless (not as durably as configured) are based on from now on, and stay dirty:
   * saved again, with no change, until the store confirms them.
   */
  async #write(entries: readonly [string, CachedWindow][]): Promise<[string, CachedWindow][]> {
    if (entries.length === 0) return [];
    const writes = entries.map(([tenantId, entry]) => this.#cache.write(tenantId, entry));
    let conflicts: string[];
    try {
      ({ conflicts } = await this.#timedSave(writes));
    } catch (error) {
      const applied = isRelayguardError(error) ? error.details?.applied : undefined;
      if (Array.isArray(applied))
        for (const [tenantId, entry] of entries)
          if (applied.includes(tenantId)) this.#cache.markWritten(entry);
      throw error;
    }
    const refused = new Set(conflicts);
    const now = this.#clock.now();
    for (const [tenantId, entry] of entries)
      if (!refused.has(tenantId)) this.#cache.markSaved(tenantId, entry, now);
    return entries.filter(([tenantId]) => refused.has(tenantId));
  }

  /**
   * Of the refused windows, those the store no longer holds (the key expired, or Redis evicted it), marked so that
   * their next write creates them. Read back, one round trip, per tenant: the rest of the partition is untouched.
   * Writing such a window again is safe: no scorer wrote the tenant since its key went (else the key would be
   * there), so nothing newer is overwritten; the cached window holds every event this scorer folded, in log order,
   * with its watermark; and the create is still conditional (on the key being absent), so a new owner of the
   * partition that created it meanwhile makes it refused, and the partition is rescored as for any other writer.
   * A window another scorer wrote is different: this scorer may have lost the partition (a zombie), so nothing it
   * cached of that partition is trusted any more.
   */
  async #expired(refused: readonly [string, CachedWindow][]): Promise<[string, CachedWindow][]> {
    const stored = await this.#load(refused.map(([tenantId]) => tenantId));
    const expired = refused.filter(([tenantId]) => !stored.has(tenantId));
    for (const [, entry] of expired) this.#cache.markExpired(entry);
    this.#metrics.windowCacheExpiredSaves.inc(expired.length);
    return expired;
  }

  /** The store's load, timed (relayguard_store_duration_seconds). */
  async #load(tenantIds: readonly string[]): Promise<Map<string, StoredWindow>> {
    const done = this.#metrics.storeDuration.startTimer({ operation: 'load' });
    const windows = await this.#store.load(tenantIds);
    done();
    return windows;
  }

  /** The store's save, timed (relayguard_store_duration_seconds). */
  async #timedSave(writes: readonly WindowWrite[]): Promise<{ conflicts: string[] }> {
    const done = this.#metrics.storeDuration.startTimer({ operation: 'save' });
    const result = await this.#store.save(writes);
    done();
    return result;
  }
}
