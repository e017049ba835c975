// How a TenantWindow is laid out in Redis: two small hashes per tenant under one hash tag, each below the
// listpack limits (128 fields, 64-byte values) so Redis keeps them in its compact encoding.
//   rg:{t:<tenant>}:w  v = version, m = meta, b<minute36> = "unregistered,forwarded,total"
//   rg:{t:<tenant>}:s  d:<domain> / c:<connector> = "<lastSeen36>,<messages>"
import type { TenantWindow, Tracked } from '../../core/windows.js';

export function windowKeys(tenantId: string): [string, string] {
  return [`rg:{t:${tenantId}}:w`, `rg:{t:${tenantId}}:s`];
}

type Meta = [number | null, number, string | null, string | null, number | null, string | null];

export function encodeWindow(window: TenantWindow): [Map<string, string>, Map<string, string>] {
  const mark = window.watermark;
  const meta: Meta = [
    window.streamMinute,
    window.resetAt,
    window.activeBlockId,
    window.monitorBlockId,
    mark?.partition ?? null,
    mark?.offset ?? null,
  ];
  const main = new Map<string, string>([['m', JSON.stringify(meta)]]);
  for (const [minute, bucket] of window.buckets) {
    main.set(`b${minute.toString(36)}`, `${bucket.unregistered},${bucket.forwarded},${bucket.total}`);
  }
  const tracked = new Map<string, string>();
  const put = (prefix: string, map: Map<string, Tracked>) => {
    for (const [key, value] of map)
      tracked.set(`${prefix}${key}`, `${value.lastSeen.toString(36)},${value.messages}`);
  };
  put('d:', window.domains);
  put('c:', window.connectors);
  return [main, tracked];
}

export function decodeWindow(
  main: Record<string, string>,
  tracked: Record<string, string>,
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
  // Map order follows Redis' field order; the fold never depends on it (ties break by key).
  return window;
}

/** The hash field holding the window's version: written by the save script, never by encodeWindow. */
export const VERSION_FIELD = 'v';

/** The HSET pairs and HDEL fields that turn `before` (a hash as read or encoded) into `after`. */
export function diffFields(
  before: ReadonlyMap<string, string> | undefined,
  after: ReadonlyMap<string, string>,
): { set: string[]; del: string[] } {
  const set: string[] = [];
  for (const [field, value] of after) if (before?.get(field) !== value) set.push(field, value);
  const del: string[] = [];
  if (before)
    for (const field of before.keys()) if (field !== VERSION_FIELD && !after.has(field)) del.push(field);
  return { set, del };
}
