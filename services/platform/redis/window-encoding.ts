// How a TenantWindow is laid out in Redis: three hashes per tenant under one hash tag. The first two stay below
// the listpack limits (128 fields, 64-byte values) so Redis keeps them in its compact encoding. A string holds
// the recent events' fingerprints, 12 bytes each (three little-endian uint32: the hash, the minute), appended
// as events come.
//   rg:{t:<tenant>}:w  v = version, m = meta, b<minute36> = "unregistered,forwarded,total"
//   rg:{t:<tenant>}:s  d:<domain> = "<lastSeen36>,<messages>" (the tenant's domains); per connector,
//                      m<minute36>:<connector> = "unregistered,forwarded,total" and n<domain>:<connector> as d:
//                      (fields c:<connector> are of windows saved before connectors were counted: ignored)
//   rg:{t:<tenant>}:e  the fingerprint entries, in the order counted
import { createRequire } from 'node:module';
import { connectorIn, type Tracked } from '../../core/connector-windows.js';
import { ENTRY_WORDS, type EventFingerprints } from '../../core/fingerprints.js';
import { type Bucket, emptyWindow, type TenantWindow, windowVersion } from '../../core/windows.js';
import type { WindowDelta } from '../ports.js';

export function windowKeys(tenantId: string): [string, string, string] {
  return [`rg:{t:${tenantId}}:w`, `rg:{t:${tenantId}}:s`, `rg:{t:${tenantId}}:e`];
}

/**
 * The Redis Cluster slot of a key: the slot function ioredis routes by (its own dependency, at the version it
 * pins), so that tenants grouped per master here are a group ioredis agrees to send to that master.
 */
export const keySlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

const WORD_BYTES = 4;

type Meta = [
  number | null,
  number,
  string | null,
  string | null,
  number | null,
  string | null,
  // Absent in windows saved before blocks had scopes: their blocks cover the tenant.
  (readonly string[] | null)?,
];

function encodeMeta(window: TenantWindow): string {
  const mark = window.watermark;
  const meta: Meta = [
    window.streamMinute,
    window.resetAt,
    window.activeBlockId,
    window.monitorBlockId,
    mark?.partition ?? null,
    mark?.offset ?? null,
    window.blockedConnectors,
  ];
  return JSON.stringify(meta);
}

const bucketField = (minute: number) => `b${minute.toString(36)}`;
const bucketValue = (bucket: Bucket) => `${bucket.unregistered},${bucket.forwarded},${bucket.total}`;
const trackedValue = (tracked: Tracked) => `${tracked.lastSeen.toString(36)},${tracked.messages}`;
const connectorBucketField = (minute: number, connectorId: string) =>
  `m${minute.toString(36)}:${connectorId}`;
const connectorDomainField = (domain: string, connectorId: string) => `n${domain}:${connectorId}`;

/**
 * A save as Redis applies it: HSET pairs and HDEL fields for the two hashes (after deleting both when `whole`);
 * for the fingerprints, bytes to append to the string or to replace it with.
 */
export interface EncodedWrite {
  readonly version: string;
  /** The window written whole: what Redis held of it goes first. */
  readonly whole: boolean;
  readonly main: { readonly set: string[]; readonly del: string[] };
  readonly tracked: { readonly set: string[]; readonly del: string[] };
  readonly seen: { readonly mode: 'keep' | 'append' | 'replace'; readonly bytes: Buffer };
}

/** The fields that turn what Redis holds at the expected version into `window`: only `changes`, or it all. */
export function encodeWrite(window: TenantWindow, changes?: WindowDelta): EncodedWrite {
  const main = { set: ['m', encodeMeta(window)], del: [] as string[] };
  const tracked = { set: [] as string[], del: [] as string[] };
  if (changes === undefined) {
    for (const [minute, bucket] of window.buckets) main.set.push(bucketField(minute), bucketValue(bucket));
  } else {
    for (const minute of changes.minutes) {
      const bucket = window.buckets.get(minute);
      if (bucket) main.set.push(bucketField(minute), bucketValue(bucket));
      else main.del.push(bucketField(minute));
    }
  }
  for (const key of changes === undefined ? window.domains.keys() : changes.domains) {
    const value = window.domains.get(key);
    if (value) tracked.set.push(`d:${key}`, trackedValue(value));
    else tracked.del.push(`d:${key}`);
  }
  if (changes === undefined) {
    for (const [connectorId, connector] of window.connectors) {
      for (const [minute, bucket] of connector.buckets)
        tracked.set.push(connectorBucketField(minute, connectorId), bucketValue(bucket));
      for (const [domain, value] of connector.domains)
        tracked.set.push(connectorDomainField(domain, connectorId), trackedValue(value));
    }
  } else {
    // A connector's changed minutes and domains are among the window's changed ones.
    for (const connectorId of changes.connectors) {
      const connector = window.connectors.get(connectorId);
      for (const minute of changes.minutes) {
        const bucket = connector?.buckets.get(minute);
        const field = connectorBucketField(minute, connectorId);
        if (bucket) tracked.set.push(field, bucketValue(bucket));
        else tracked.del.push(field);
      }
      for (const domain of changes.domains) {
        const value = connector?.domains.get(domain);
        const field = connectorDomainField(domain, connectorId);
        if (value) tracked.set.push(field, trackedValue(value));
        else tracked.del.push(field);
      }
    }
  }
  return {
    version: windowVersion(window),
    whole: changes === undefined,
    main,
    tracked,
    seen: seenWrite(window.seen, changes?.fingerprints),
  };
}

/**
 * The fingerprint entries Redis does not hold yet: appended while the table keeps the layout Redis holds a prefix
 * of, the whole table when it was compacted since (or Redis's copy is unknown).
 */
function seenWrite(
  table: EventFingerprints,
  held: WindowDelta['fingerprints'] | undefined,
): EncodedWrite['seen'] {
  const appends = held !== undefined && held.generation === table.generation && held.count <= table.count;
  const words = table.entries(appends ? held.count : 0);
  const bytes = Buffer.allocUnsafe(words.length * WORD_BYTES);
  for (let i = 0; i < words.length; i++) bytes.writeUInt32LE(words[i]!, i * WORD_BYTES);
  if (!appends) return { mode: 'replace', bytes };
  return { mode: words.length > 0 ? 'append' : 'keep', bytes };
}

const SEEN_MODES = { keep: 0, append: 1, replace: 2 } as const;
const LENGTH_BYTES = 4;

/**
 * A save's fields and fingerprints as one argument of save-window.lua, which reads it with Redis's `struct`
 * library: a flag byte for `whole`, the fingerprints' mode, the four counts (HSET pairs and HDEL fields of each
 * hash), then the fingerprint bytes and every field, each after its byte length (big-endian uint32). One argument
 * rather than one per field: the client frames, copies and promises per argument, which cost the scorer more than
 * all the rest of a save (issue 17); Redis reads the fields in C either way.
 */
export function packWrite(write: EncodedWrite): Buffer {
  const { main, tracked, seen } = write;
  const lists = [main.set, main.del, tracked.set, tracked.del];
  // A UTF-16 code unit is at most three bytes of UTF-8: room enough before the lengths are known.
  let room = 2 + 5 * LENGTH_BYTES + seen.bytes.length;
  for (const list of lists) for (const item of list) room += LENGTH_BYTES + 3 * item.length;
  const packed = Buffer.allocUnsafe(room) as Utf8Writing;
  packed[0] = write.whole ? 1 : 0;
  packed[1] = SEEN_MODES[seen.mode];
  let at = 2;
  for (const count of [main.set.length / 2, main.del.length, tracked.set.length / 2, tracked.del.length]) {
    putLength(packed, at, count);
    at += LENGTH_BYTES;
  }
  putLength(packed, at, seen.bytes.length);
  at += LENGTH_BYTES + seen.bytes.copy(packed, at + LENGTH_BYTES);
  for (const list of lists) {
    for (const item of list) {
      // Buffer's utf8Write, under write(): write()'s argument checks cost as much as the copy for short fields.
      const length = packed.utf8Write(item, at + LENGTH_BYTES);
      putLength(packed, at, length);
      at += LENGTH_BYTES + length;
    }
  }
  return packed.subarray(0, at);
}

/** Node's Buffer method under write(string, offset): on every Buffer, though not in its typings. */
type Utf8Writing = Buffer & { utf8Write(text: string, offset: number): number };

/** A big-endian uint32, without writeUInt32BE's range checks (the room was reserved above). */
function putLength(packed: Buffer, at: number, length: number): void {
  packed[at] = length >>> 24;
  packed[at + 1] = (length >>> 16) & 0xff;
  packed[at + 2] = (length >>> 8) & 0xff;
  packed[at + 3] = length & 0xff;
}

export function decodeWindow(
  main: Record<string, string>,
  tracked: Record<string, string>,
  seen: Buffer | null,
): TenantWindow | undefined {
  if (main.m === undefined) return undefined;
  const [streamMinute, resetAt, activeBlockId, monitorBlockId, partition, offset, blockedConnectors] =
    JSON.parse(main.m) as Meta;
  const window: TenantWindow = {
    ...emptyWindow(),
    streamMinute,
    resetAt,
    activeBlockId,
    monitorBlockId,
    blockedConnectors: blockedConnectors ?? null,
    watermark: partition === null || offset === null ? null : { partition, offset },
  };
  for (const [field, value] of Object.entries(main)) {
    if (field[0] === 'b') addBucket(window, Number.parseInt(field.slice(1), 36), value);
  }
  for (const [field, value] of Object.entries(tracked)) {
    if (field.startsWith('d:')) {
      window.domains.set(field.slice(2), decodeTracked(value));
      continue;
    }
    const colon = field.indexOf(':');
    const connectorId = field.slice(colon + 1);
    if (field[0] === 'm') {
      const minute = Number.parseInt(field.slice(1, colon), 36);
      addBucket(connectorIn(window, connectorId, minute), minute, value);
    } else if (field[0] === 'n') {
      connectorIn(window, connectorId, 0).domains.set(field.slice(1, colon), decodeTracked(value));
    }
  }
  if (seen !== null) {
    const words = new Uint32Array(Math.floor(seen.length / (ENTRY_WORDS * WORD_BYTES)) * ENTRY_WORDS);
    for (let i = 0; i < words.length; i++) words[i] = seen.readUInt32LE(i * WORD_BYTES);
    window.seen.addEntries(words);
  }
  // Map order follows Redis' field order; the fold never depends on it (ties break by key).
  return window;
}

function decodeTracked(value: string): Tracked {
  const comma = value.indexOf(',');
  return { lastSeen: Number.parseInt(value.slice(0, comma), 36), messages: Number(value.slice(comma + 1)) };
}

/** Adds a stored minute's counts to a tenant's or a connector's buckets and sums. */
function addBucket(into: Pick<TenantWindow, 'buckets' | 'sums'>, minute: number, value: string): void {
  const [unregistered, forwarded, total] = value.split(',').map(Number) as [number, number, number];
  into.buckets.set(minute, { unregistered, forwarded, total });
  into.sums.unregistered += unregistered;
  into.sums.forwarded += forwarded;
  into.sums.total += total;
}
