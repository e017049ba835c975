// How a TenantWindow is laid out in Redis: three hashes per tenant under one hash tag. The first two stay below
// the listpack limits (128 fields, 64-byte values) so Redis keeps them in its compact encoding. A string holds
// the recent events' fingerprints, 12 bytes each (three little-endian uint32: the hash, the minute), appended
// as events come.
//   rg:{t:<tenant>}:w  v = version, m = meta, b<minute36> = "unregistered,forwarded,total"
//   rg:{t:<tenant>}:s  d:<domain> = "<lastSeen36>,<messages>" (the tenant's domains); per connector,
//                      m<minute36>:<connector> = "unregistered,forwarded,total" and n<domain>:<connector> as d:
//                      (fields c:<connector> are of windows saved before connectors were counted: ignored)
//   rg:{t:<tenant>}:e  the fingerprint entries, in the order counted
// A save writes these fields through save-window.lua, packed by packed-writes.ts; here they are read back.
import { createRequire } from 'node:module';
import { connectorIn, type Tracked } from '../../core/connector-windows.js';
import { ENTRY_WORDS } from '../../core/fingerprints.js';
import { emptyWindow, type TenantWindow } from '../../core/windows.js';

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

export function encodeMeta(window: TenantWindow): string {
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
