// How a TenantWindow is laid out in Redis: three hashes per tenant under one hash tag. The first two stay below
// the listpack limits (128 fields, 64-byte values) so Redis keeps them in its compact encoding. A string holds
// the recent events' fingerprints, 12 bytes each (three little-endian uint32: the hash, the minute), appended
// as events come.
//   rg:{t:<tenant>}:w  v = version, m = meta, b<minute36> = "unregistered,forwarded,total"
//   rg:{t:<tenant>}:s  d:<domain> / c:<connector> = "<lastSeen36>,<messages>"
//   rg:{t:<tenant>}:e  the fingerprint entries, in the order counted
import { createRequire } from 'node:module';
import { ENTRY_WORDS, EventFingerprints } from '../../core/fingerprints.js';
import { type Bucket, type TenantWindow, type Tracked, windowVersion } from '../../core/windows.js';

export function windowKeys(tenantId: string): [string, string, string] {
  return [`rg:{t:${tenantId}}:w`, `rg:{t:${tenantId}}:s`, `rg:{t:${tenantId}}:e`];
}

/**
 * The Redis Cluster slot of a key: the slot function ioredis routes by (its own dependency, at the version it
 * pins), so that tenants grouped per master here are a group ioredis agrees to send to that master.
 */
export const keySlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

const WORD_BYTES = 4;

type Meta = [number | null, number, string | null, string | null, number | null, string | null];

function encodeMeta(window: TenantWindow): string {
  const mark = window.watermark;
  const meta: Meta = [
    window.streamMinute,
    window.resetAt,
    window.activeBlockId,
    window.monitorBlockId,
    mark?.partition ?? null,
    mark?.offset ?? null,
  ];
  return JSON.stringify(meta);
}

const bucketField = (minute: number) => `b${minute.toString(36)}`;
const bucketValue = (bucket: Bucket) => `${bucket.unregistered},${bucket.forwarded},${bucket.total}`;
const trackedValue = (tracked: Tracked) => `${tracked.lastSeen.toString(36)},${tracked.messages}`;
const TRACKED_PREFIX = { domains: 'd:', connectors: 'c:' } as const;

/**
 * What Redis holds of a window, as numbers (copies): a save compares the window with it and encodes only the
 * fields that differ, so a window saved again and again (the scorer's cache) costs what changed, not its size.
 */
export interface StoredWindow {
  version: string;
  meta: string;
  readonly buckets: Map<number, Bucket>;
  readonly domains: Map<string, Tracked>;
  readonly connectors: Map<string, Tracked>;
  /** Redis holds the first `count` fingerprint entries of this table, as laid out in this generation. */
  seen: { table: EventFingerprints; generation: number; count: number };
}

/**
 * The changes that turn a stored window into `window`: HSET pairs and HDEL fields for the two hashes; for the
 * fingerprints, bytes to append to the string or to replace it with.
 */
export interface WindowChanges {
  readonly version: string;
  readonly main: { readonly set: string[]; readonly del: string[] };
  readonly tracked: { readonly set: string[]; readonly del: string[] };
  readonly seen: { readonly mode: 'keep' | 'append' | 'replace'; readonly bytes: Buffer };
  /**
   * What Redis holds once it applied the changes. `inPlace`: `before` itself is updated (it stood for this same
   * window object, which the caller folds in place), else a new copy is made.
   */
  stored(inPlace: boolean): StoredWindow;
}

const sameBucket = (a: Bucket, b: Bucket) =>
  a.unregistered === b.unregistered && a.forwarded === b.forwarded && a.total === b.total;
const sameTracked = (a: Tracked, b: Tracked) => a.lastSeen === b.lastSeen && a.messages === b.messages;

/**
 * `changedMinutes`: the only minutes whose buckets can differ from `before` (what the window recorded since it
 * was last loaded or saved); without it every bucket is compared.
 */
export function windowChanges(
  before: StoredWindow | undefined,
  window: TenantWindow,
  changedMinutes?: ReadonlySet<number>,
): WindowChanges {
  const main = { set: [] as string[], del: [] as string[] };
  const tracked = { set: [] as string[], del: [] as string[] };
  const meta = encodeMeta(window);
  if (before?.meta !== meta) main.set.push('m', meta);
  const changedBuckets: [number, Bucket | undefined][] = [];
  const compare = (minute: number, bucket: Bucket | undefined) => {
    const old = before?.buckets.get(minute);
    if (bucket === undefined) {
      if (old === undefined) return;
      main.del.push(bucketField(minute));
      changedBuckets.push([minute, undefined]);
    } else if (old === undefined || !sameBucket(old, bucket)) {
      main.set.push(bucketField(minute), bucketValue(bucket));
      changedBuckets.push([minute, { ...bucket }]);
    }
  };
  if (changedMinutes !== undefined && before !== undefined) {
    for (const minute of changedMinutes) compare(minute, window.buckets.get(minute));
  } else {
    for (const [minute, bucket] of window.buckets) compare(minute, bucket);
    if (before)
      for (const minute of before.buckets.keys()) if (!window.buckets.has(minute)) compare(minute, undefined);
  }
  const changedTracked: ['domains' | 'connectors', string, Tracked | undefined][] = [];
  for (const kind of ['domains', 'connectors'] as const) {
    const prefix = TRACKED_PREFIX[kind];
    const stored = before?.[kind];
    for (const [key, value] of window[kind]) {
      const old = stored?.get(key);
      if (old !== undefined && sameTracked(old, value)) continue;
      tracked.set.push(`${prefix}${key}`, trackedValue(value));
      changedTracked.push([kind, key, { ...value }]);
    }
    if (stored) {
      for (const key of stored.keys()) {
        if (window[kind].has(key)) continue;
        tracked.del.push(`${prefix}${key}`);
        changedTracked.push([kind, key, undefined]);
      }
    }
  }
  const seen = seenChanges(before, window);
  const seenAfter = heldSeen(window);
  const version = windowVersion(window);
  return {
    version,
    main,
    tracked,
    seen,
    stored(inPlace) {
      const after: StoredWindow =
        inPlace && before
          ? before
          : {
              version,
              meta,
              buckets: new Map(before?.buckets),
              domains: new Map(before?.domains),
              connectors: new Map(before?.connectors),
              seen: seenAfter,
            };
      after.version = version;
      after.meta = meta;
      // Copied when diffed: what was sent, even if the window changed while Redis answered.
      for (const [minute, bucket] of changedBuckets) {
        if (bucket) after.buckets.set(minute, bucket);
        else after.buckets.delete(minute);
      }
      for (const [kind, key, value] of changedTracked) {
        if (value) after[kind].set(key, value);
        else after[kind].delete(key);
      }
      after.seen = seenAfter;
      return after;
    },
  };
}

/**
 * The fingerprint entries Redis does not hold yet: appended while the table keeps its layout, the whole table
 * when it was compacted since (or is not the one Redis holds).
 */
function seenChanges(before: StoredWindow | undefined, window: TenantWindow): WindowChanges['seen'] {
  const table = window.seen;
  const held = before?.seen;
  const appends =
    held !== undefined &&
    held.table === table &&
    held.generation === table.generation &&
    held.count <= table.count;
  const words = table.entries(appends ? held.count : 0);
  const bytes = Buffer.allocUnsafe(words.length * WORD_BYTES);
  for (let i = 0; i < words.length; i++) bytes.writeUInt32LE(words[i]!, i * WORD_BYTES);
  if (!appends) return { mode: 'replace', bytes };
  return { mode: words.length > 0 ? 'append' : 'keep', bytes };
}

/** What Redis holds of a window just read (or of a window it is assumed to hold): a copy of its numbers. */
export function storedWindow(window: TenantWindow): StoredWindow {
  const copies = <K, V extends object>(map: Map<K, V>) =>
    new Map([...map].map(([key, value]) => [key, { ...value }]));
  return {
    version: windowVersion(window),
    meta: encodeMeta(window),
    buckets: copies(window.buckets),
    domains: copies(window.domains),
    connectors: copies(window.connectors),
    seen: heldSeen(window),
  };
}

/** The window's fingerprint table as Redis holds it once written: all its entries, in this layout. */
const heldSeen = (window: TenantWindow): StoredWindow['seen'] => ({
  table: window.seen,
  generation: window.seen.generation,
  count: window.seen.count,
});

export function decodeWindow(
  main: Record<string, string>,
  tracked: Record<string, string>,
  seen: Buffer | null,
): TenantWindow | undefined {
  if (main.m === undefined) return undefined;
  const [streamMinute, resetAt, activeBlockId, monitorBlockId, partition, offset] = JSON.parse(
    main.m,
  ) as Meta;
  const window: TenantWindow = {
    streamMinute,
    buckets: new Map(),
    domains: new Map(),
    connectors: new Map(),
    resetAt,
    activeBlockId,
    monitorBlockId,
    watermark: partition === null || offset === null ? null : { partition, offset },
    seen: new EventFingerprints(),
  };
  for (const [field, value] of Object.entries(main)) {
    if (field[0] !== 'b') continue;
    const [unregistered, forwarded, total] = value.split(',').map(Number) as [number, number, number];
    window.buckets.set(Number.parseInt(field.slice(1), 36), { unregistered, forwarded, total });
  }
  for (const [field, value] of Object.entries(tracked)) {
    const comma = value.indexOf(',');
    const entry = {
      lastSeen: Number.parseInt(value.slice(0, comma), 36),
      messages: Number(value.slice(comma + 1)),
    };
    (field.startsWith('d:') ? window.domains : window.connectors).set(field.slice(2), entry);
  }
  if (seen !== null) {
    const words = new Uint32Array(Math.floor(seen.length / (ENTRY_WORDS * WORD_BYTES)) * ENTRY_WORDS);
    for (let i = 0; i < words.length; i++) words[i] = seen.readUInt32LE(i * WORD_BYTES);
    window.seen.addEntries(words);
  }
  // Map order follows Redis' field order; the fold never depends on it (ties break by key).
  return window;
}
