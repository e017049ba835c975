// How a TenantWindow is laid out in Redis: three hashes per tenant under one hash tag. The first two stay below
// the listpack limits (128 fields, 64-byte values) so Redis keeps them in its compact encoding; the third holds
// a few minutes' event fingerprints, 8 bytes each (two little-endian uint32), appended as events come.
//   rg:{t:<tenant>}:w  v = version, m = meta, b<minute36> = "unregistered,forwarded,total"
//   rg:{t:<tenant>}:s  d:<domain> / c:<connector> = "<lastSeen36>,<messages>"
//   rg:{t:<tenant>}:e  <minute36> = the minute's fingerprints, in the order counted
import { Fingerprints } from '../../core/fingerprints.js';
import { type Bucket, type TenantWindow, type Tracked, windowVersion } from '../../core/windows.js';

export function windowKeys(tenantId: string): [string, string, string] {
  return [`rg:{t:${tenantId}}:w`, `rg:{t:${tenantId}}:s`, `rg:{t:${tenantId}}:e`];
}

const FINGERPRINT_BYTES = 8;
const HALF_BYTES = 4;

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
  /** Per minute, how many of its fingerprints Redis holds (the first ones of the window's set, in order). */
  readonly seen: Map<number, number>;
}

/**
 * The changes that turn a stored window into `window`: HSET pairs and HDEL fields for the first two hashes;
 * for the fingerprints, fields to delete, then bytes to append to fields.
 */
export interface WindowChanges {
  readonly version: string;
  readonly main: { readonly set: string[]; readonly del: string[] };
  readonly tracked: { readonly set: string[]; readonly del: string[] };
  readonly seen: { readonly del: string[]; readonly append: (string | Buffer)[] };
  /**
   * What Redis holds once it applied the changes. `inPlace`: `before` itself is updated (it stood for this same
   * window object, which the caller folds in place), else a new copy is made.
   */
  stored(inPlace: boolean): StoredWindow;
}

const sameBucket = (a: Bucket, b: Bucket) =>
  a.unregistered === b.unregistered && a.forwarded === b.forwarded && a.total === b.total;
const sameTracked = (a: Tracked, b: Tracked) => a.lastSeen === b.lastSeen && a.messages === b.messages;

export function windowChanges(before: StoredWindow | undefined, window: TenantWindow): WindowChanges {
  const main = { set: [] as string[], del: [] as string[] };
  const tracked = { set: [] as string[], del: [] as string[] };
  const meta = encodeMeta(window);
  if (before?.meta !== meta) main.set.push('m', meta);
  const changedBuckets: [number, Bucket | undefined][] = [];
  for (const [minute, bucket] of window.buckets) {
    const old = before?.buckets.get(minute);
    if (old !== undefined && sameBucket(old, bucket)) continue;
    main.set.push(bucketField(minute), bucketValue(bucket));
    changedBuckets.push([minute, { ...bucket }]);
  }
  if (before) {
    for (const minute of before.buckets.keys()) {
      if (window.buckets.has(minute)) continue;
      main.del.push(bucketField(minute));
      changedBuckets.push([minute, undefined]);
    }
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
  const { seen, changedSeen } = seenChanges(before, window);
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
              seen: new Map(before?.seen),
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
      for (const [minute, held] of changedSeen) {
        if (held > 0) after.seen.set(minute, held);
        else after.seen.delete(minute);
      }
      return after;
    },
  };
}

/**
 * A minute's fingerprints only grow until the minute leaves the grace period, so Redis is sent the ones it does
 * not hold yet, and a minute gone is deleted. (A set smaller than what Redis holds is not this window's past:
 * it is written afresh.)
 */
function seenChanges(
  before: StoredWindow | undefined,
  window: TenantWindow,
): { seen: WindowChanges['seen']; changedSeen: [number, number][] } {
  const seen = { del: [] as string[], append: [] as (string | Buffer)[] };
  const changedSeen: [number, number][] = [];
  for (const [minute, fingerprints] of window.seen) {
    let held = before?.seen.get(minute) ?? 0;
    if (fingerprints.size === held) continue;
    const field = minute.toString(36);
    if (fingerprints.size < held) {
      seen.del.push(field);
      held = 0;
    }
    const halves = fingerprints.halves(held);
    const bytes = Buffer.allocUnsafe(halves.length * HALF_BYTES);
    for (let i = 0; i < halves.length; i++) bytes.writeUInt32LE(halves[i]!, i * HALF_BYTES);
    seen.append.push(field, bytes);
    changedSeen.push([minute, fingerprints.size]);
  }
  if (before) {
    for (const minute of before.seen.keys()) {
      if (window.seen.has(minute)) continue;
      seen.del.push(minute.toString(36));
      changedSeen.push([minute, 0]);
    }
  }
  return { seen, changedSeen };
}

/** What Redis holds of a window just read (or of a window it is assumed to hold): a copy of its numbers. */
export function storedWindow(window: TenantWindow): StoredWindow {
  return windowChanges(undefined, window).stored(false);
}

export function decodeWindow(
  main: Record<string, string>,
  tracked: Record<string, string>,
  seen: Record<string, Buffer>,
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
    seen: new Map(),
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
  for (const [field, bytes] of Object.entries(seen)) {
    const count = Math.floor(bytes.length / FINGERPRINT_BYTES);
    const halves = new Uint32Array(count * 2);
    for (let i = 0; i < halves.length; i++) halves[i] = bytes.readUInt32LE(i * HALF_BYTES);
    const fingerprints = new Fingerprints(count);
    fingerprints.addHalves(halves);
    window.seen.set(Number.parseInt(field, 36), fingerprints);
  }
  // Map order follows Redis' field order; the fold never depends on it (ties break by key).
  return window;
}
