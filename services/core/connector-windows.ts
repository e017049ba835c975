// Each connector's share of a tenant's window (its own minutes' counts and domains), and the capped sets of keys
// (sender domains) that a window and each of its connectors track.
import { MinuteCounts } from './minute-counts.js';
import type { Sums, TenantWindow, WindowChanges } from './windows.js';

export interface Tracked {
  /** Newest minute this key was seen in. */
  lastSeen: number;
  /** Messages counted for it while tracked. */
  messages: number;
}

/**
 * One connector's share of a tenant's window: its minutes' counts (U, F and T of the connector) and the distinct
 * unregistered domains it carried (D of the connector), kept like the tenant's. Mail of no known connector is
 * counted under UNKNOWN_CONNECTOR, and so is mail of connectors beyond the window's connectorCap (see `connectorOf`).
 *
 * A window's only connector, when it has carried every message the window counted, has the same minutes' counts as
 * the tenant: it shares the tenant's ring and sums (`buckets` and `sums` are the window's own objects) until a second
 * connector comes. Counting a message then writes one ring, not two of the same counts, and a window of one
 * connector (most tenants') allocates one ring (see `connectorIn`).
 */
export class ConnectorWindow {
  /** Newest minute it carried a message in. */
  lastSeen: number;
  /** Its minutes' counts: the window's own ring while it shares it (`sharesCounts`). */
  buckets: MinuteCounts;
  sums: Sums;
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

  /** Whether its counts are the window's own ring and sums (the window's only connector, see above). */
  sharesCounts(window: Pick<TenantWindow, 'buckets'>): boolean {
    return this.buckets === window.buckets;
  }

  /** A copy of the tenant's counts as its own, when it shared them: another connector's messages are coming. */
  ownCounts(window: Pick<TenantWindow, 'buckets' | 'sums'>): void {
    if (!this.sharesCounts(window)) return;
    this.buckets = window.buckets.clone();
    this.sums = { ...window.sums };
  }

  clone(): ConnectorWindow {
    const domains = new Map([...this.domains].map(([key, tracked]) => [key, { ...tracked }]));
    return new ConnectorWindow(this.lastSeen, this.buckets.clone(), { ...this.sums }, domains);
  }
}

/** The connector of mail that came through no known connector (the relay named none). */
export const UNKNOWN_CONNECTOR = 'unknown';

/**
 * The window's connector, created when first met; its lastSeen is its newest minute. With `counting` (the fold,
 * about to count a message into it), a window's first connector shares the window's ring and sums when they hold
 * nothing yet, so that it carries every message the window counts from then on; a store's decode builds its
 * connectors' counts apart. A connector that shared them takes its own copy before a second connector is made.
 */
export function connectorIn(
  window: TenantWindow,
  connectorId: string,
  minute: number,
  counting = false,
): ConnectorWindow {
  let connector = window.connectors.get(connectorId);
  if (connector === undefined) {
    if (window.connectors.size === 0) {
      const empty = window.buckets.size === 0 && window.sums.total === 0;
      connector =
        counting && empty
          ? new ConnectorWindow(minute, window.buckets, window.sums)
          : new ConnectorWindow(minute);
    } else {
      for (const other of window.connectors.values()) other.ownCounts(window);
      connector = new ConnectorWindow(minute);
    }
    window.connectors.set(connectorId, connector);
  }
  connector.lastSeen = Math.max(connector.lastSeen, minute);
  return connector;
}

/**
 * The connector a message is counted under: its own while the window tracks it or has room for it (connectorCap
 * named connectors), UNKNOWN_CONNECTOR otherwise. Beyond the cap a connector is not told apart from the others,
 * so a flood through it can only be blocked with its tenant; a tracked connector frees its place when its last
 * minute slides out of the window.
 */
export function connectorOf(window: TenantWindow, connectorId: string | null, cap: number): string {
  if (connectorId === null || window.connectors.has(connectorId)) return connectorId ?? UNKNOWN_CONNECTOR;
  const named = window.connectors.size - Number(window.connectors.has(UNKNOWN_CONNECTOR));
  return named < cap ? connectorId : UNKNOWN_CONNECTOR;
}

/**
 * Drops each connector's minutes from `from` up to `oldest` (not included; the window holds none before `from`) and
 * its domains last seen before `oldest`, and the connectors left with no minute.
 */
export function expireConnectors(
  window: TenantWindow,
  from: number,
  oldest: number,
  changes: WindowChanges | null,
): void {
  // A loop over the keys, not forEach: no closure per slide.
  for (const connectorId of window.connectors.keys()) {
    const connector = window.connectors.get(connectorId)!;
    if (connector.lastSeen < oldest) {
      window.connectors.delete(connectorId);
      if (changes === null) continue;
      for (const minute of connector.buckets.keys()) changes.minutes.add(minute);
      for (const domain of connector.domains.keys()) changes.domains.add(domain);
      changes.connectors.add(connectorId);
      continue;
    }
    // A connector sharing the window's ring lost the minutes the window's slide removed (there were some: the
    // slide reaches the connectors only then).
    const removed =
      connector.sharesCounts(window) ||
      connector.buckets.removeRange(from, oldest, connector.sums, changes?.minutes);
    const domains = connector.domains.size;
    expireTracked(connector.domains, oldest, changes?.domains);
    if (removed || domains !== connector.domains.size) changes?.connectors.add(connectorId);
  }
}

export function expireTracked(
  map: Map<string, Tracked>,
  oldest: number,
  changed: Set<string> | undefined,
): void {
  if (map.size === 0) return;
  for (const [key, tracked] of map) {
    if (tracked.lastSeen >= oldest) continue;
    map.delete(key);
    changed?.add(key);
  }
}

/**
 * Keeps the `cap` keys seen most recently (ties broken by key, so the kept set never depends on map order).
 * The keys seen within the window always rank above those that slid out, so the number of tracked keys is the
 * exact distinct count while it is below the cap, and the cap when the true count is at or above it.
 */
export function track(
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

export function topTracked(map: Map<string, Tracked>, limit: number): [string, Tracked][] {
  return [...map]
    .sort(([keyA, a], [keyB, b]) => b.messages - a.messages || (keyA < keyB ? -1 : keyA > keyB ? 1 : 0))
    .slice(0, limit);
}
