// The production window store on Redis (ioredis). One round trip per call whatever the number of tenants
// (a pipeline of HGETALLs to load; a pipeline of one Lua call per tenant to save), each tenant's save atomic
// and conditional on the version it was based on. On Redis Cluster each tenant's keys share a hash tag, so
// every script is single-slot; the pipelines are split per tenant there and run concurrently.
import { readFileSync } from 'node:fs';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { RelayguardError } from '../../core/errors.js';
import {
  restoreBucketChanges,
  type TenantWindow,
  takeBucketChanges,
  windowVersion,
} from '../../core/windows.js';
import type { WindowStore, WindowWrite } from '../ports.js';
import { projectPath } from '../project-files.js';
import {
  decodeWindow,
  type StoredWindow,
  storedWindow,
  windowChanges,
  windowKeys,
} from './window-encoding.js';

const saveWindowLua = readFileSync(projectPath('services', 'platform', 'redis', 'save-window.lua'), 'utf8');

type Client = Redis | Cluster;

interface SaveWindowCommand {
  saveWindow(
    mainKey: string,
    trackedKey: string,
    seenKey: string,
    ...args: (string | number | Buffer)[]
  ): Promise<number>;
}

export interface RedisWindowStoreOptions {
  /** redis://, rediss:// (TLS) URL; user and password in the URL are used for AUTH. */
  readonly url: string;
  /** Seed nodes of a Redis Cluster; when set, `url` only supplies credentials and TLS. */
  readonly clusterNodes?: readonly { host: string; port: number }[];
  readonly ttlMs: number;
}

function unavailable(error: unknown): RelayguardError {
  return new RelayguardError('STORE_UNAVAILABLE', `redis: ${(error as Error).message}`, { cause: error });
}

export class RedisWindowStore implements WindowStore {
  readonly #client: Client & SaveWindowCommand;
  /**
   * Per window handed out by load or saved, what Redis holds of it: the caller may fold into it in place (and a
   * scorer's cache keeps folding into the same window between saves), and a save then needs neither a copy of the
   * old window nor an encoding of the fields that did not change.
   */
  readonly #loaded = new WeakMap<TenantWindow, StoredWindow>();
  readonly ttlMs: number;

  constructor(options: RedisWindowStoreOptions) {
    this.ttlMs = options.ttlMs;
    // No offline queue: a command replayed after a reconnect could count twice; failing fast lets the consumer
    // redeliver the batch instead, and the version check makes that safe.
    const base: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false };
    const client: Client = options.clusterNodes
      ? new Cluster([...options.clusterNodes], {
          redisOptions: { ...base, ...credentials(options.url) },
          enableOfflineQueue: false,
        })
      : new Redis(options.url, base);
    client.defineCommand('saveWindow', { numberOfKeys: 3, lua: saveWindowLua });
    this.#client = client as Client & SaveWindowCommand;
  }

  /** Resolves when the connection is up (the first command would fail fast before that). */
  async ready(): Promise<void> {
    const client = this.#client;
    if (client.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('end', () => reject(unavailable(new Error('connection closed before it was ready'))));
    });
  }

  get client(): Client {
    return this.#client;
  }

  async load(tenantIds: readonly string[]): Promise<Map<string, TenantWindow>> {
    const found = new Map<string, TenantWindow>();
    if (tenantIds.length === 0) return found;
    const results = await this.#pipelined(tenantIds, (pipeline, tenantId) => {
      const [main, tracked, seen] = windowKeys(tenantId);
      pipeline.hgetall(main).hgetall(tracked).getBuffer(seen);
    });
    tenantIds.forEach((tenantId, i) => {
      const [main, tracked, seen] = results.slice(i * 3, i * 3 + 3) as [
        Record<string, string>,
        Record<string, string>,
        Buffer | null,
      ];
      const window = decodeWindow(main, tracked, seen);
      if (!window) return;
      this.#loaded.set(window, storedWindow(window));
      takeBucketChanges(window);
      found.set(tenantId, window);
    });
    return found;
  }

  async save(writes: readonly WindowWrite[]): Promise<{ conflicts: string[] }> {
    if (writes.length === 0) return { conflicts: [] };
    const prepared = writes.map((write) => {
      // From here the window records which buckets change: what the next save of it will need to compare.
      const recorded = takeBucketChanges(write.next);
      // A window saved again as it was folded in place (a cache) compares only the buckets it recorded.
      const changedMinutes =
        write.expected === write.next && this.#loaded.has(write.next) ? recorded : undefined;
      const before = this.#before(write.expected);
      return { write, before, changedMinutes, change: windowChanges(before, write.next, changedMinutes) };
    });
    const giveBack = () => {
      for (const { write, changedMinutes } of prepared) restoreBucketChanges(write.next, changedMinutes);
    };
    const results = await this.#pipelined(prepared, (pipeline, { write, before, change }) => {
      const { main, tracked, seen } = change;
      (pipeline as unknown as SaveWindowCommand).saveWindow(
        ...windowKeys(write.tenantId),
        before?.version ?? windowVersion(undefined),
        change.version,
        this.ttlMs,
        main.set.length / 2,
        main.del.length,
        tracked.set.length / 2,
        tracked.del.length,
        seen.mode,
        seen.bytes,
        ...main.set,
        ...main.del,
        ...tracked.set,
        ...tracked.del,
      );
    }).catch((error: unknown) => {
      giveBack();
      throw error;
    });
    const conflicts: string[] = [];
    prepared.forEach(({ write, change, changedMinutes }, i) => {
      // Updated only once Redis took the changes: after a failed save the next one diffs against what it holds.
      if (results[i] === 1) {
        this.#loaded.set(write.next, change.stored(write.expected === write.next));
      } else {
        conflicts.push(write.tenantId);
        restoreBucketChanges(write.next, changedMinutes);
      }
    });
    return { conflicts };
  }

  /** What `expected` stands for in Redis: as loaded or saved if this store did, else its current content. */
  #before(expected: TenantWindow | undefined): StoredWindow | undefined {
    if (!expected) return undefined;
    return this.#loaded.get(expected) ?? storedWindow(expected);
  }

  /**
   * Runs one pipeline (one round trip) on a single Redis; on a cluster, one pipeline per item, concurrently,
   * because a cluster pipeline must stay within one slot. Any command error fails the whole call (retryable).
   */
  async #pipelined<T>(
    items: readonly T[],
    add: (pipeline: ReturnType<Client['pipeline']>, item: T) => void,
  ): Promise<unknown[]> {
    try {
      const batches = this.#client instanceof Cluster ? items.map((item) => [item]) : [items];
      const replies = await Promise.all(
        batches.map((batch) => {
          const pipeline = this.#client.pipeline();
          for (const item of batch) add(pipeline, item);
          return pipeline.exec();
        }),
      );
      return replies.flatMap((reply) =>
        (reply ?? []).map(([error, value]) => {
          if (error) throw error;
          return value;
        }),
      );
    } catch (error) {
      throw unavailable(error);
    }
  }

  async close(): Promise<void> {
    await this.#client.quit().catch(() => this.#client.disconnect());
  }
}

function credentials(url: string): RedisOptions {
  const parsed = new URL(url);
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}
