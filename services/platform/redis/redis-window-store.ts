// The production window store on Redis (ioredis). One round trip per call whatever the number of tenants (a
// pipeline of HGETALLs to load, of HMGETs to read versions; a pipeline of script calls of up to 128 windows each
// to save), each tenant's save atomic and conditional on the version it was based on. On Redis Cluster each
// tenant's keys share a hash tag, so every script is single-slot, and the pipelines are split per master: one
// round trip per shard.
import { readFileSync } from 'node:fs';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { RelayguardError } from '../../core/errors.js';
import { NO_VERSION } from '../../core/windows.js';
import type { StoredWindow, WindowStore, WindowWrite } from '../ports.js';
import { projectPath } from '../project-files.js';
import { WritePacker } from './packed-writes.js';
import { checkRedis } from './startup-check.js';
import { decodeWindow, keySlot, windowKeys } from './window-encoding.js';

const saveWindowLua = readFileSync(projectPath('services', 'platform', 'redis', 'save-window.lua'), 'utf8');

type Client = Redis | Cluster;
type Pipeline = ReturnType<Client['pipeline']>;
/** A command's reply in a pipeline: its error, or its value. */
type Reply = [Error | null, unknown];

/** One call of save-window.lua: its windows' writes, their keys (three each) and the packed writes. */
interface SaveCall {
  readonly writes: readonly WindowWrite[];
  readonly keys: readonly string[];
  readonly packed: Buffer;
}

interface SaveWindowsCommand {
  /** save-window.lua: three keys per window, then the TTL and the windows' packed writes. */
  saveWindows(keyCount: number, ...keysThenArgs: (string | number | Buffer)[]): Promise<unknown[]>;
}

/**
 * Most windows one script call saves, and the bytes of writes after which a call ends: Redis runs a script to its
 * end before any other command (a few µs a window), so a flush of thousands of windows is cut into calls that each
 * hold it for about a millisecond; and the script's Lua heap holds a call's argument and what it reads of it until
 * Lua collects it (counted in used_memory: ~0.5 MiB for 128 windows written whole, ~3 KiB each).
 */
const WINDOWS_PER_CALL = 128;
const BYTES_PER_CALL = 64 * 1024;

export interface RedisWindowStoreOptions {
  /** redis://, rediss:// (TLS) URL; user and password in the URL are used for AUTH. */
  readonly url: string;
  /** Seed nodes of a Redis Cluster; when set, `url` only supplies credentials and TLS. */
  readonly clusterNodes?: readonly { host: string; port: number }[];
  readonly ttlMs: number;
  /**
   * A save resolves only once this many replicas of each master it wrote to hold it (WAIT): what a failover
   * cannot lose. 0: once the master has it (replication is asynchronous).
   */
  readonly waitReplicas?: number;
  /** How long a save waits for those replicas before it fails (retryable: nothing is committed). */
  readonly waitTimeoutMs?: number;
}

/** What an error reply of a cluster node means for the client: the slot is served elsewhere now, or soon. */
const REDIRECTED = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/;

function unavailable(error: unknown, applied: readonly string[] = []): RelayguardError {
  return new RelayguardError('STORE_UNAVAILABLE', `redis: ${(error as Error).message}`, {
    cause: error,
    ...(applied.length > 0 ? { details: { applied } } : {}),
  });
}

export class RedisWindowStore implements WindowStore {
  readonly #client: Client & SaveWindowsCommand;
  readonly ttlMs: number;
  readonly #wait: { readonly replicas: number; readonly timeoutMs: number } | undefined;
  /** Packers free to use: one per save in flight, their buffers kept from flush to flush. */
  readonly #packers: WritePacker[] = [];

  constructor(options: RedisWindowStoreOptions) {
    this.ttlMs = options.ttlMs;
    this.#wait =
      (options.waitReplicas ?? 0) > 0
        ? { replicas: options.waitReplicas!, timeoutMs: options.waitTimeoutMs ?? 1_000 }
        : undefined;
    // No offline queue: a command replayed after a reconnect could count twice; failing fast lets the consumer
    // redeliver the batch instead, and the version check makes that safe.
    const base: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false };
    const client: Client = options.clusterNodes
      ? new Cluster([...options.clusterNodes], {
          redisOptions: { ...base, ...credentials(options.url) },
          enableOfflineQueue: false,
        })
      : new Redis(options.url, base);
    client.defineCommand('saveWindows', { lua: saveWindowLua });
    this.#client = client as Client & SaveWindowsCommand;
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

  /** Before the services start: credentials, permissions and replicas (see startup-check.ts). */
  verify(): Promise<void> {
    return checkRedis(this, {
      cluster: this.#client instanceof Cluster,
      waitReplicas: this.#wait?.replicas ?? 0,
    });
  }

  get client(): Client {
    return this.#client;
  }

  async load(tenantIds: readonly string[]): Promise<Map<string, StoredWindow>> {
    const found = new Map<string, StoredWindow>();
    const replies = await this.#read(tenantIds, 3, (pipeline, [main, tracked, seen]) => {
      pipeline.hgetall(main).hgetall(tracked).getBuffer(seen);
    });
    tenantIds.forEach((tenantId, i) => {
      const [main, tracked, seen] = replies[i]!.map(([, value]) => value) as [
        Record<string, string>,
        Record<string, string>,
        Buffer | null,
      ];
      const window = decodeWindow(main, tracked, seen);
      if (window) found.set(tenantId, { window, version: main.v ?? NO_VERSION });
    });
    return found;
  }

  /** HMGET of the version and the meta field: a window is stored when its meta is (as load decides). */
  async versions(tenantIds: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const replies = await this.#read(tenantIds, 1, (pipeline, [main]) => {
      pipeline.hmget(main, 'v', 'm');
    });
    tenantIds.forEach((tenantId, i) => {
      const [version, meta] = replies[i]![0]![1] as [string | null, string | null];
      if (meta !== null) found.set(tenantId, version ?? NO_VERSION);
    });
    return found;
  }

  /** One read round trip: `perItem` commands on each tenant's keys; throws STORE_UNAVAILABLE if any failed. */
  async #read(
    tenantIds: readonly string[],
    perItem: number,
    add: (pipeline: Pipeline, keys: ReturnType<typeof windowKeys>) => void,
  ): Promise<Reply[][]> {
    if (tenantIds.length === 0) return [];
    const { replies } = await this.#send(
      tenantIds,
      (tenantId) => tenantId,
      perItem,
      false,
      (pipeline, tenantId) => add(pipeline, windowKeys(tenantId)),
    );
    const error = replies.flat().find(([e]) => e)?.[0];
    if (error) throw unavailable(error);
    return replies;
  }

  async save(writes: readonly WindowWrite[]): Promise<{ conflicts: string[] }> {
    if (writes.length === 0) return { conflicts: [] };
    // Packed before anything is sent (the caller may fold into its windows again once this resolves), into a
    // buffer no other save is using.
    const packer = this.#packers.pop() ?? new WritePacker();
    try {
      return await this.#saveCalls(this.#calls(writes, packer));
    } finally {
      this.#packers.push(packer);
    }
  }

  /**
   * The writes cut into script calls: in order on a single Redis; on a cluster, tenants of one slot together (a
   * script may touch one slot only), so most calls there carry one window.
   */
  #calls(writes: readonly WindowWrite[], packer: WritePacker): SaveCall[] {
    const groups: (readonly WindowWrite[])[] = [];
    if (this.#client instanceof Cluster) {
      const bySlot = new Map<number, WindowWrite[]>();
      for (const write of writes) {
        const slot = keySlot(windowKeys(write.tenantId)[0]);
        const group = bySlot.get(slot);
        if (group) group.push(write);
        else bySlot.set(slot, [write]);
      }
      groups.push(...bySlot.values());
    } else {
      groups.push(writes);
    }
    packer.reset();
    const calls: SaveCall[] = [];
    for (const group of groups) {
      let call: { writes: WindowWrite[]; keys: string[]; start: number } | undefined;
      for (const write of group) {
        call ??= { writes: [], keys: [], start: packer.position };
        call.writes.push(write);
        call.keys.push(...windowKeys(write.tenantId));
        packer.add(write.expectedVersion ?? NO_VERSION, write.window, write.changes);
        if (call.writes.length === WINDOWS_PER_CALL || packer.position - call.start >= BYTES_PER_CALL) {
          calls.push({ writes: call.writes, keys: call.keys, packed: packer.take(call.start) });
          call = undefined;
        }
      }
      if (call) calls.push({ writes: call.writes, keys: call.keys, packed: packer.take(call.start) });
    }
    return calls;
  }

  async #saveCalls(calls: readonly SaveCall[]): Promise<{ conflicts: string[] }> {
    const { replies, notDurable } = await this.#send(
      calls,
      ({ writes }) => writes[0]!.tenantId,
      1,
      true,
      (pipeline, { keys, packed }) => {
        (pipeline as unknown as SaveWindowsCommand).saveWindows(keys.length, ...keys, this.ttlMs, packed);
      },
    );
    const conflicts: string[] = [];
    const applied: string[] = [];
    let failure = notDurable;
    calls.forEach(({ writes }, i) => {
      const [error, results] = replies[i]![0]!;
      if (error) failure ??= error;
      writes.forEach(({ tenantId }, k) => {
        const result = (results as unknown[] | undefined)?.[k];
        if (result === 1) applied.push(tenantId);
        else if (result === 0) conflicts.push(tenantId);
        else if (!error) failure ??= new Error(String(result));
      });
    });
    // Retryable: the caller commits nothing and saves these windows again, based on the versions Redis took
    // (named, though not as durable as configured: the next save is conditional on them).
    if (failure) throw unavailable(failure, applied);
    return { conflicts };
  }

  /**
   * Runs one pipeline (one round trip) on a single Redis; on a cluster, one per master, concurrently: a cluster
   * pipeline must stay on one node. Returns each item's replies (`perItem` commands), errors in place.
   * `durable`: each pipeline ends with WAIT, which covers every write its connection made (WAIT counts the
   * replicas that acknowledged the connection's last write, and replication is in order); `notDurable` says
   * when they did not all reach REDIS_WAIT_REPLICAS replicas.
   */
  async #send<T>(
    items: readonly T[],
    tenantOf: (item: T) => string,
    perItem: number,
    durable: boolean,
    add: (pipeline: Pipeline, item: T) => void,
  ): Promise<{ replies: Reply[][]; notDurable: Error | undefined }> {
    const client = this.#client;
    const wait = durable ? this.#wait : undefined;
    const replies: Reply[][] = [];
    let notDurable: Error | undefined;
    const run = async (indices: readonly number[], withWait: boolean) => {
      const pipeline = client.pipeline();
      for (const i of indices) add(pipeline, items[i]!);
      if (wait && withWait) pipeline.call('WAIT', wait.replicas, wait.timeoutMs);
      let sent: Reply[];
      try {
        sent = ((await pipeline.exec()) ?? []) as Reply[];
      } catch (error) {
        // Nothing is known of what ran: every command gets the pipeline's error.
        sent = Array.from({ length: indices.length * perItem + 1 }, () => [error as Error, undefined]);
      }
      if (wait && withWait) notDurable ??= this.#shortOfReplicas(sent.pop());
      indices.forEach((i, k) => {
        replies[i] = sent.slice(k * perItem, (k + 1) * perItem);
      });
    };
    const all = items.map((_, i) => i);
    await Promise.all(
      (client instanceof Cluster ? byMaster(client, all, (i) => tenantOf(items[i]!)) : [all]).map((indices) =>
        run(indices, true),
      ),
    );
    if (!(client instanceof Cluster)) return { replies, notDurable };
    // Not run where they were sent (the slot moved, or is moving): sent again one item (a tenant's load, a save
    // call of one slot) at a time, so that
    // ioredis follows the MOVED, ASK or TRYAGAIN itself (it does for a pipeline whose commands all got the same
    // one), then WAIT on every master, since they may have run anywhere.
    const redirected = all.filter((i) =>
      replies[i]!.some(([error]) => error && REDIRECTED.test(error.message)),
    );
    if (redirected.length === 0) return { replies, notDurable };
    client.refreshSlotsCache();
    await Promise.all(redirected.map((i) => run([i], false)));
    if (wait) {
      const acknowledged = await Promise.all(
        client.nodes('master').map((node) =>
          node.call('WAIT', wait.replicas, wait.timeoutMs).then(
            (count): Reply => [null, count],
            (error: Error): Reply => [error, undefined],
          ),
        ),
      );
      for (const reply of acknowledged) notDurable ??= this.#shortOfReplicas(reply);
    }
    return { replies, notDurable };
  }

  /** Why WAIT's reply falls short of REDIS_WAIT_REPLICAS (its error, or too few replicas), if it does. */
  #shortOfReplicas(reply: Reply | undefined): Error | undefined {
    const [error, count] = reply ?? [new Error('no reply to WAIT'), undefined];
    if (error) return error;
    const wanted = this.#wait?.replicas ?? 0;
    if (typeof count === 'number' && count >= wanted) return undefined;
    return new Error(
      `a save reached ${String(count)} of ${wanted} replicas within ${this.#wait?.timeoutMs} ms (REDIS_WAIT_REPLICAS)`,
    );
  }

  async close(): Promise<void> {
    await this.#client.quit().catch(() => this.#client.disconnect());
  }
}

/** The items grouped by the master that serves their tenant's slot, as ioredis knows the slots now. */
function byMaster<T>(cluster: Cluster, items: readonly T[], tenantOf: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const slot = keySlot(windowKeys(tenantOf(item))[0]);
    // ioredis groups slots by their node list (master first); an unknown slot goes alone, ioredis picks a node.
    const node = cluster.slots[slot]?.join(';') ?? `slot ${slot}`;
    const group = groups.get(node);
    if (group) group.push(item);
    else groups.set(node, [item]);
  }
  return [...groups.values()];
}

function credentials(url: string): RedisOptions {
  const parsed = new URL(url);
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}
