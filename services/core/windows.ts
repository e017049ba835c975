// Per-tenant event-time sliding windows in 1-minute buckets. Events are placed by their own time, so replaying
// the same events in the same order gives the same counts however they are split into batches. A window remembers
// the events it counted in the minutes that can still take events (the grace period): a relay that publishes the
// same event again (after a publish it could not confirm) has it counted once. The minutes are a ring of counters
// in typed arrays (core/minute-counts.ts) with their sums beside them: counting a message allocates nothing.
import type { MessageClass } from './classify.js';
import { EventFingerprints } from './fingerprints.js';
import { MinuteCounts } from './minute-counts.js';
import { MINUTE_MS, type Policy, type WindowCounts } from './policy.js';

export type { Bucket } from './minute-counts.js';

/** The counts of every minute of a window, summed. */
export interface Sums {
  unregistered: number;
  forwarded: number;
  total: number;
}

export interface Tracked {
  /** Newest minute this key was seen in. */
  lastSeen: number;
  /** Messages counted for it while tracked. */
  messages: number;
}

export interface LogPosition {
  readonly partition: number;
  readonly offset: string;
}

/**
 * One connector's share of a tenant's window: its minutes' counts (U, F and T of the connector) and the distinct
 * unregistered domains it carried (D of the connector), kept like the tenant's. Mail of no known connector is
 * counted under UNKNOWN_CONNECTOR, and so is mail of connectors beyond the window's connectorCap (see `connectorOf`).
 */
export class ConnectorWindow {
  /** Newest minute it carried a message in. */
  lastSeen: number;
  readonly buckets: MinuteCounts;
  readonly sums: Sums;
  /** Unregistered sender domains it carried, capped at distinctDomainCap as the tenant's are. */
  readonly domains: Map<string, Tracked>;

  constructor(lastSeen: number, buckets = new MinuteCounts(), sums?: Sums, domains?: Map<string, Tracked>) {
    this.lastSeen = lastSeen;
    this.buckets = buckets;
    this.sums = sums ?? { unregistered: 0, forwarded: 0, total: 0 };
    this.domains = domains ?? new Map();
  }

  /** Unregistered messages (forwarded ones included) it carried in the window. */
  get messages(): number {
    return this.sums.unregistered + this.sums.forwarded;
  }

  clone(): ConnectorWindow {
    const domains = new Map([...this.domains].map(([key, tracked]) => [key, { ...tracked }]));
    return new ConnectorWindow(this.lastSeen, this.buckets.clone(), { ...this.sums }, domains);
  }
}

/** The connector of mail that came through no known connector (the relay named none). */
export const UNKNOWN_CONNECTOR = 'unknown';

export interface TenantWindow {
  /** Newest event minute seen (epoch minutes); the window ends with it. */
  streamMinute: number | null;
  /** The per-minute counts of the window's minutes (and of later events' minutes within the grace period). */
  readonly buckets: MinuteCounts;
  /** Unregistered sender domains, capped: exact up to the cap, see `track`. */
  readonly domains: Map<string, Tracked>;
  /**
   * Each connector's counts in the window: at most connectorCap named ones, and UNKNOWN_CONNECTOR. A connector
   * leaves when its last minute slides out.
   */
  readonly connectors: Map<string, ConnectorWindow>;
  /**
   * The episode generation this window applied (core/episodes.ts): the time of the unblock that cleared it.
   * Events at or before it are ignored.
   */
  resetAt: number;
  /** The open enforce-mode block episode: the tenant is not blocked again until it is lifted. */
  activeBlockId: string | null;
  /** The open monitor-mode episode: closes when the counts fall below the thresholds. */
  monitorBlockId: string | null;
  /** The connectors the open episode's block covers; null when it covers the tenant (or none is open). */
  blockedConnectors: readonly string[] | null;
  /** The last applied log position: events at or below it were counted already (effectively once). */
  watermark: LogPosition | null;
  /**
   * The events counted in the minutes still within the grace period. An older minute takes no events (they are
   * late), so its events need not be known.
   */
  readonly seen: EventFingerprints;
  /** The sums of every bucket, kept as buckets change: counting a message costs the same whatever the window. */
  readonly sums: Sums;
}

/**
 * What changed in a window since someone last took note (the window cache, which saves only what changed): the
 * minutes whose bucket was added to, created or removed, and the tracked keys added, changed or dropped. The
 * functions that change a window record into one when given it; the window itself keeps no record.
 */
export interface WindowChanges {
  readonly minutes: Set<number>;
  readonly domains: Set<string>;
  readonly connectors: Set<string>;
}

export function noChanges(): WindowChanges {
  return { minutes: new Set(), domains: new Set(), connectors: new Set() };
}

export function emptyWindow(): TenantWindow {
  return {
    streamMinute: null,
    buckets: new MinuteCounts(),
    domains: new Map(),
    connectors: new Map(),
    resetAt: 0,
    activeBlockId: null,
    monitorBlockId: null,
    blockedConnectors: null,
    watermark: null,
    seen: new EventFingerprints(),
    sums: { unregistered: 0, forwarded: 0, total: 0 },
  };
}

export function cloneWindow(window: TenantWindow): TenantWindow {
  return {
    ...window,
    buckets: window.buckets.clone(),
    domains: new Map([...window.domains].map(([key, tracked]) => [key, { ...tracked }])),
    connectors: new Map([...window.connectors].map(([key, connector]) => [key, connector.clone()])),
    seen: window.seen.clone(),
    sums: { ...window.sums },
  };
}

/** `republished`: an event this window counted already, published again at another log position. */
export type WindowOutcome = 'counted' | 'late' | 'before-reset' | 'republished';

export interface WindowInput {
  readonly occurredAt: number;
  readonly senderDomain: string | null;
  readonly connectorId: string | null;
}

type WindowShape = Pick<Policy, 'windowMinutes' | 'graceMinutes' | 'distinctDomainCap' | 'connectorCap'>;

/**
 * Counts one message into the window; `forwardedWeight > 0` makes forwarded mail count toward U and D too.
 * `eventId` (null when the message has none) has an event published twice counted once. `changes`, when given,
 * records what the message changed.
 */
export function addToWindow(
  window: TenantWindow,
  input: WindowInput,
  messageClass: MessageClass,
  shape: WindowShape,
  forwardedWeight: number,
  eventId: string | null,
  changes: WindowChanges | null = null,
): WindowOutcome {
  if (input.occurredAt <= window.resetAt) return 'before-reset';
  const minute = Math.floor(input.occurredAt / MINUTE_MS);
  if (window.streamMinute === null || minute > window.streamMinute) {
    advance(window, minute, shape, changes);
  } else if (minute < window.streamMinute - shape.graceMinutes) {
    return 'late';
  }
  if (eventId !== null && !window.seen.add(eventId, minute)) return 'republished';
  const unregistered = messageClass === 'unregistered';
  const forwarded = messageClass === 'forwarded';
  count(window.buckets, window.sums, minute, unregistered, forwarded);
  changes?.minutes.add(minute);
  const connectorId = connectorOf(window, input.connectorId, shape.connectorCap);
  let connector = window.connectors.get(connectorId);
  if (connector === undefined) {
    connector = new ConnectorWindow(minute);
    window.connectors.set(connectorId, connector);
  }
  connector.lastSeen = Math.max(connector.lastSeen, minute);
  count(connector.buckets, connector.sums, minute, unregistered, forwarded);
  changes?.connectors.add(connectorId);
  const countsTowardU =
    messageClass === 'unregistered' || (messageClass === 'forwarded' && forwardedWeight > 0);
  if (countsTowardU && input.senderDomain !== null) {
    track(window.domains, input.senderDomain, minute, shape.distinctDomainCap, changes?.domains);
    track(connector.domains, input.senderDomain, minute, shape.distinctDomainCap, changes?.domains);
  }
  return 'counted';
}

function count(buckets: MinuteCounts, sums: Sums, minute: number, unregistered: boolean, forwarded: boolean) {
  buckets.count(buckets.slot(minute), unregistered, forwarded);
  sums.total++;
  if (unregistered) sums.unregistered++;
  if (forwarded) sums.forwarded++;
}

/**
 * The connector a message is counted under: its own while the window tracks it or has room for it (connectorCap
 * named connectors), UNKNOWN_CONNECTOR otherwise. Beyond the cap a connector is not told apart from the others,
 * so a flood through it can only be blocked with its tenant; a tracked connector frees its place when its last
 * minute slides out of the window.
 */
function connectorOf(window: TenantWindow, connectorId: string | null, cap: number): string {
  if (connectorId === null || window.connectors.has(connectorId)) return connectorId ?? UNKNOWN_CONNECTOR;
  const named = window.connectors.size - Number(window.connectors.has(UNKNOWN_CONNECTOR));
  return named < cap ? connectorId : UNKNOWN_CONNECTOR;
}

function advance(
  window: TenantWindow,
  minute: number,
  shape: WindowShape,
  changes: WindowChanges | null,
): void {
  const { windowMinutes } = shape;
  const previous = window.streamMinute;
  window.streamMinute = minute;
  window.seen.expire(minute - shape.graceMinutes);
  const oldest = minute - windowMinutes + 1;
  if (previous !== null && minute - previous < windowMinutes) {
    // No bucket is older than the previous window (later events are refused as late, grace < window), so only
    // the minutes that just slid out can go: a few deletes instead of a walk over every bucket.
    for (let bucketMinute = previous - windowMinutes + 1; bucketMinute < oldest; bucketMinute++)
      removeBucket(window, bucketMinute, changes);
  } else {
    for (const bucketMinute of window.buckets.keys())
      if (bucketMinute < oldest) removeBucket(window, bucketMinute, changes);
  }
  expireTracked(window.domains, oldest, changes?.domains);
  expireConnectors(window, oldest, changes);
}

/** Drops each connector's minutes and domains before `oldest`, and the connectors left with no minute. */
function expireConnectors(window: TenantWindow, oldest: number, changes: WindowChanges | null): void {
  for (const [connectorId, connector] of window.connectors) {
    if (connector.lastSeen < oldest) {
      window.connectors.delete(connectorId);
      for (const minute of connector.buckets.keys()) changes?.minutes.add(minute);
      for (const domain of connector.domains.keys()) changes?.domains.add(domain);
      changes?.connectors.add(connectorId);
      continue;
    }
    let removed = false;
    for (const minute of connector.buckets.keys()) {
      if (minute >= oldest) continue;
      connector.buckets.remove(minute, connector.sums);
      changes?.minutes.add(minute);
      removed = true;
    }
    const domains = connector.domains.size;
    expireTracked(connector.domains, oldest, changes?.domains);
    if (removed || domains !== connector.domains.size) changes?.connectors.add(connectorId);
  }
}

function expireTracked(map: Map<string, Tracked>, oldest: number, changed: Set<string> | undefined): void {
  if (map.size === 0) return;
  for (const [key, tracked] of map) {
    if (tracked.lastSeen >= oldest) continue;
    map.delete(key);
    changed?.add(key);
  }
}

function removeBucket(window: TenantWindow, minute: number, changes: WindowChanges | null): void {
  if (window.buckets.remove(minute, window.sums)) changes?.minutes.add(minute);
}

/**
 * Keeps the `cap` keys seen most recently (ties broken by key, so the kept set never depends on map order).
 * The keys seen within the window always rank above those that slid out, so the number of tracked keys is the
 * exact distinct count while it is below the cap, and the cap when the true count is at or above it.
 */
function track(
  map: Map<string, Tracked>,
  key: string,
  minute: number,
  cap: number,
  changed: Set<string> | undefined,
): void {
  const existing = map.get(key);
  if (existing) {
    existing.lastSeen = Math.max(existing.lastSeen, minute);
    existing.messages++;
    changed?.add(key);
    return;
  }
  if (map.size >= cap) {
    let evictKey: string | undefined;
    let evict: Tracked | undefined;
    for (const [candidateKey, candidate] of map) {
      if (
        evict === undefined ||
        candidate.lastSeen < evict.lastSeen ||
        (candidate.lastSeen === evict.lastSeen && candidateKey > evictKey!)
      ) {
        evict = candidate;
        evictKey = candidateKey;
      }
    }
    // The newcomer must outrank the weakest entry: newer, or as new with a smaller key.
    if (evict!.lastSeen > minute || (evict!.lastSeen === minute && evictKey! < key)) return;
    map.delete(evictKey!);
    changed?.add(evictKey!);
    // The evicted entry is the newcomer's: a flood of new domains allocates nothing per message.
    evict!.lastSeen = minute;
    evict!.messages = 1;
    map.set(key, evict!);
    changed?.add(key);
    return;
  }
  map.set(key, { lastSeen: minute, messages: 1 });
  changed?.add(key);
}

/** Counts a caller may overwrite: the fold writes each message's counts into one such object, not a new one. */
export type CountsSlot = { -readonly [K in keyof WindowCounts]: WindowCounts[K] };

export function countsSlot(): CountsSlot {
  return { unregistered: 0, forwardedUnregistered: 0, total: 0, distinctUnregisteredDomains: 0 };
}

/** The counts the policy reads of a tenant's window, or of one connector's share of it (a ConnectorWindow). */
export function windowCounts(
  window: Pick<TenantWindow, 'sums' | 'domains'>,
  forwardedWeight: number,
  into: CountsSlot = countsSlot(),
): WindowCounts {
  const sums = window.sums;
  into.unregistered = sums.unregistered + forwardedWeight * sums.forwarded;
  into.forwardedUnregistered = sums.forwarded;
  into.total = sums.total;
  into.distinctUnregisteredDomains = window.domains.size;
  return into;
}

/** Window bounds in epoch milliseconds: [start, end). */
export function windowSpan(window: TenantWindow, windowMinutes: number): { start: number; end: number } {
  const last = window.streamMinute ?? 0;
  return { start: (last - windowMinutes + 1) * MINUTE_MS, end: (last + 1) * MINUTE_MS };
}

/**
 * Applies the generation an unblock started (`at`): everything at or before it leaves the window, so a new block
 * needs new evidence. Idempotent: applying the same generation again changes nothing. The fold applies it before
 * folding anything into the window under the new generation, so the minute of the unblock holds only earlier
 * events, unless events after the unblock were folded before the directory showed it (then they go too: the bound
 * errs towards not blocking, see docs/guarantees.md).
 */
export function resetWindow(window: TenantWindow, at: number, changes: WindowChanges | null = null): boolean {
  if (window.resetAt >= at) return false;
  const minute = Math.floor(at / MINUTE_MS);
  window.resetAt = at;
  window.activeBlockId = null;
  window.monitorBlockId = null;
  window.blockedConnectors = null;
  for (const bucketMinute of window.buckets.keys())
    if (bucketMinute <= minute) removeBucket(window, bucketMinute, changes);
  expireTracked(window.domains, minute + 1, changes?.domains);
  expireConnectors(window, minute + 1, changes);
  return true;
}

export function topTracked(map: Map<string, Tracked>, limit: number): [string, Tracked][] {
  return [...map]
    .sort(([keyA, a], [keyB, b]) => b.messages - a.messages || (keyA < keyB ? -1 : keyA > keyB ? 1 : 0))
    .slice(0, limit);
}

/** The version of no window: what a store holds of a tenant it has no window of. */
export const NO_VERSION = '-';

/**
 * What a stored window must still be for a write based on it to apply: its watermark and its reset time.
 * Compare-and-set on this keeps a zombie scorer (one that lost its partition) from overwriting a newer window.
 */
export function windowVersion(window: TenantWindow | undefined): string {
  if (!window) return NO_VERSION;
  const mark = window.watermark;
  return `${mark ? `${mark.partition}:${mark.offset}` : '-'}/${window.resetAt}`;
}
