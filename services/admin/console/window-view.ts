// A tenant's live window as the console draws it: U, F and T per minute from the window's buckets, the minute
// each tracked unregistered domain was last seen (summed, that is D), the domains and connectors that carried the
// unregistered mail, and the thresholds in force. Read-only: nothing here changes the window.
import { MINUTE_MS, type WindowCounts } from '../../core/policy.js';
import { type TenantWindow, windowSpan } from '../../core/windows.js';

export interface WindowMinute {
  /** Start of the minute, epoch ms. */
  readonly at: number;
  /** Unregistered messages on ONPREM and APPLICATION paths. */
  readonly unregistered: number;
  /** Unregistered messages on the FORWARDED path. */
  readonly forwarded: number;
  /** Every message. */
  readonly total: number;
  /**
   * Distinct unregistered domains whose last message in the window fell in this minute. The window keeps one
   * minute per domain, not one per sighting, so this (summed over the minutes: D) is what it can tell exactly.
   */
  readonly domainsLastSeen: number;
}

export interface WindowCarrier {
  readonly key: string;
  readonly messages: number;
  readonly lastSeenAt: number;
}

export interface WindowView {
  /** [start, end) of the window in event time, epoch ms; null when the tenant has no live window. */
  readonly start: number | null;
  readonly end: number | null;
  /** Oldest first, one entry per minute of the window, empty minutes included. */
  readonly minutes: WindowMinute[];
  /** Most messages first; the window tracks up to its caps (RELAYGUARD_DISTINCT_DOMAIN_CAP, connectorCap). */
  readonly domains: WindowCarrier[];
  readonly connectors: WindowCarrier[];
}

/** How many of the window's domains and connectors the view lists. */
export const WINDOW_CARRIERS_SHOWN = 20;

export function windowView(window: TenantWindow | undefined, windowMinutes: number): WindowView {
  if (window === undefined || window.streamMinute === null) {
    return { start: null, end: null, minutes: [], domains: [], connectors: [] };
  }
  const { start, end } = windowSpan(window, windowMinutes);
  const firstMinute = start / MINUTE_MS;
  const lastSeen = new Map<number, number>();
  for (const tracked of window.domains.values())
    lastSeen.set(tracked.lastSeen, (lastSeen.get(tracked.lastSeen) ?? 0) + 1);
  const minutes: WindowMinute[] = [];
  for (let minute = firstMinute; minute <= window.streamMinute; minute++) {
    const bucket = window.buckets.get(minute);
    minutes.push({
      at: minute * MINUTE_MS,
      unregistered: bucket?.unregistered ?? 0,
      forwarded: bucket?.forwarded ?? 0,
      total: bucket?.total ?? 0,
      domainsLastSeen: lastSeen.get(minute) ?? 0,
    });
  }
  return {
    start,
    end,
    minutes,
    domains: carriers(window.domains),
    connectors: carriers(window.connectors),
  };
}

function carriers(tracked: TenantWindow['domains']): WindowCarrier[] {
  return [...tracked]
    .map(([key, { messages, lastSeen }]) => ({ key, messages, lastSeenAt: lastSeen * MINUTE_MS }))
    .sort((a, b) => b.messages - a.messages || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, WINDOW_CARRIERS_SHOWN);
}

/** What the window endpoint answers: the view, the counters it sums to, and the thresholds to draw. */
export interface TenantWindowReply extends WindowView {
  readonly tenantId: string;
  readonly windowMinutes: number;
  readonly counters: WindowCounts;
}
