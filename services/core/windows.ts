// Per-tenant event-time sliding windows in 1-minute buckets. Events are placed by their own time, so replaying
// the same events in the same order gives the same counts however they are split into batches. A window remembers
// the events it counted in the minutes that can still take events (the grace period): a relay that publishes the
// same event again (after a publish it could not confirm) has it counted once. The minutes are a ring of counters
// in typed arrays (core/minute-counts.ts) with their sums beside them: counting a message allocates nothing.
import type { MessageClass } from './classify.js';
import {
  type ConnectorWindow,
  connectorIn,
  connectorOf,
  expireConnectors,
  expireTracked,
  type Tracked,
  track,
} from './connector-windows.js';
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

export interface LogPosition {
  readonly partition: number;
  readonly offset: string;
}

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
  const connectorId = connectorOf(window, input.connectorId, shape.connectorCap);
  const connector = connectorIn(window, connectorId, minute, true);
  count(window.buckets, window.sums, minute, unregistered, forwarded);
  changes?.minutes.add(minute);
  // A window's only connector may share its ring (connectorIn): counted once there.
  if (!connector.sharesCounts(window))
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
  // No bucket is older than the previous window (later events are refused as late, grace < window), so only
  // the minutes that just slid out can go: a few looked up instead of a walk over every bucket.
  const slid = previous !== null && minute - previous < windowMinutes;
  expire(
    window,
    slid ? previous - windowMinutes + 1 : Number.NEGATIVE_INFINITY,
    minute - windowMinutes + 1,
    changes,
  );
}

/**
 * Drops the minutes from `from` up to `oldest` (not included) of the window and its connectors, and the tracked
 * keys last seen before `oldest`.
 */
function expire(window: TenantWindow, from: number, oldest: number, changes: WindowChanges | null): void {
  // Every message is counted into the tenant's minutes as well as its connector's and its tracked keys', so each
  // minute those were last seen in is one of the tenant's: when none of the tenant's minutes slid out, none of
  // theirs did (a slide that passes only empty minutes, as most of a sparse tenant's do, stops here).
  if (!window.buckets.removeRange(from, oldest, window.sums, changes?.minutes)) return;
  expireTracked(window.domains, oldest, changes?.domains);
  expireConnectors(window, from, oldest, changes);
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
  expire(window, Number.NEGATIVE_INFINITY, minute + 1, changes);
  return true;
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
