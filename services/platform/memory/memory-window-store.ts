// The window store of the embedded mode: the same versioned, all-or-nothing-per-tenant writes and the same
// TTL as the Redis store, on a Map.
import { cloneWindow, type TenantWindow, windowVersion } from '../../core/windows.js';
import type { Clock, WindowStore, WindowWrite } from '../ports.js';

export class MemoryWindowStore implements WindowStore {
  readonly #windows = new Map<string, { window: TenantWindow; expiresAt: number }>();
  readonly #clock: Clock;
  /**
   * The version each window handed out by load had then, or last saved had when saved: the caller may fold into
   * it in place before saving (again).
   */
  readonly #loadedVersions = new WeakMap<TenantWindow, string>();
  readonly ttlMs: number;

  constructor(options: { clock: Clock; ttlMs: number }) {
    this.#clock = options.clock;
    this.ttlMs = options.ttlMs;
  }

  #live(tenantId: string): TenantWindow | undefined {
    const entry = this.#windows.get(tenantId);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#clock.now()) {
      this.#windows.delete(tenantId);
      return undefined;
    }
    return entry.window;
  }

  async load(tenantIds: readonly string[]): Promise<Map<string, TenantWindow>> {
    const found = new Map<string, TenantWindow>();
    for (const tenantId of tenantIds) {
      const window = this.#live(tenantId);
      if (!window) continue;
      const copy = cloneWindow(window);
      this.#loadedVersions.set(copy, windowVersion(window));
      found.set(tenantId, copy);
    }
    return found;
  }

  async save(writes: readonly WindowWrite[]): Promise<{ conflicts: string[] }> {
    const conflicts: string[] = [];
    for (const write of writes) {
      const stored = this.#live(write.tenantId);
      const expected =
        (write.expected && this.#loadedVersions.get(write.expected)) ?? windowVersion(write.expected);
      if (windowVersion(stored) !== expected) {
        conflicts.push(write.tenantId);
        continue;
      }
      this.#windows.set(write.tenantId, {
        window: cloneWindow(write.next),
        expiresAt: this.#clock.now() + this.ttlMs,
      });
      this.#loadedVersions.set(write.next, windowVersion(write.next));
    }
    return { conflicts };
  }

  /** Tenants with a live window (for tests and memory accounting). */
  size(): number {
    return [...this.#windows.keys()].filter((tenantId) => this.#live(tenantId)).length;
  }

  async close(): Promise<void> {}
}
