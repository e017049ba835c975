// The window store of the embedded mode: the same versioned, all-or-nothing-per-tenant writes and the same
// TTL as the Redis store, on a Map. It copies windows in and out (a caller folds into what it loaded), and
// writes a window whole: `changes` only spare a store that writes fields its cost.
import { cloneWindow, NO_VERSION, type TenantWindow, windowVersion } from '../../core/windows.js';
import type { Clock, StoredWindow, WindowStore, WindowWrite } from '../ports.js';

export class MemoryWindowStore implements WindowStore {
  readonly #windows = new Map<string, { window: TenantWindow; version: string; expiresAt: number }>();
  readonly #clock: Clock;
  readonly ttlMs: number;

  constructor(options: { clock: Clock; ttlMs: number }) {
    this.#clock = options.clock;
    this.ttlMs = options.ttlMs;
  }

  #live(tenantId: string): { window: TenantWindow; version: string } | undefined {
    const entry = this.#windows.get(tenantId);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#clock.now()) {
      this.#windows.delete(tenantId);
      return undefined;
    }
    return entry;
  }

  async load(tenantIds: readonly string[]): Promise<Map<string, StoredWindow>> {
    const found = new Map<string, StoredWindow>();
    for (const tenantId of tenantIds) {
      const stored = this.#live(tenantId);
      if (stored) found.set(tenantId, { window: cloneWindow(stored.window), version: stored.version });
    }
    return found;
  }

  async versions(tenantIds: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const tenantId of tenantIds) {
      const stored = this.#live(tenantId);
      if (stored) found.set(tenantId, stored.version);
    }
    return found;
  }

  async save(writes: readonly WindowWrite[]): Promise<{ conflicts: string[] }> {
    const conflicts: string[] = [];
    for (const { tenantId, expectedVersion, window } of writes) {
      if ((this.#live(tenantId)?.version ?? NO_VERSION) !== (expectedVersion ?? NO_VERSION)) {
        conflicts.push(tenantId);
        continue;
      }
      this.#windows.set(tenantId, {
        window: cloneWindow(window),
        version: windowVersion(window),
        expiresAt: this.#clock.now() + this.ttlMs,
      });
    }
    return { conflicts };
  }

  /** Tenants with a live window (for tests and memory accounting). */
  size(): number {
    return [...this.#windows.keys()].filter((tenantId) => this.#live(tenantId)).length;
  }

  async close(): Promise<void> {}
}
