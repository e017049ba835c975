// The scorer's window cache, sized: heap bytes per cached window with every one of its 60 minute buckets filled
// (a tenant that sends at least once a minute), a few tracked unregistered domains and the event fingerprints of
// the minutes within the grace period. The scale plan in
// bench/README.md sizes RELAYGUARD_SCORER_CACHE_TENANTS with it. `hot <messages a second>`: instead, the heap of one
// tenant's window after 10 minutes at that rate (its de-duplication state is bounded, see core/fingerprints.ts).
// Run: node --expose-gc --import tsx bench/window-heap.ts [tenants | hot <messages a second>]
import { DEFAULT_POLICY, MINUTE_MS } from '../services/core/policy.js';
import { addToWindow, emptyWindow, type TenantWindow, windowCounts } from '../services/core/windows.js';

const hot = process.argv[2] === 'hot';
const tenants = hot ? 1 : Number(process.argv[2] ?? 50_000);
const perMinute = hot ? Number(process.argv[3] ?? 10_000) * 60 : 1;
const minutes = hot ? 10 : DEFAULT_POLICY.windowMinutes;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const firstMinute = Math.floor(Date.UTC(2026, 10, 28) / MINUTE_MS);

gc();
const before = process.memoryUsage().heapUsed;
const windows: TenantWindow[] = [];
for (let tenant = 0; tenant < tenants; tenant++) {
  const window = emptyWindow();
  for (let minute = 0; minute < minutes; minute++) {
    // One message in ten from an unregistered domain: six tracked domains per window.
    const unregistered = minute % 10 === 0;
    for (let k = 0; k < perMinute; k++)
      addToWindow(
        window,
        {
          occurredAt: (firstMinute + minute) * MINUTE_MS + Math.floor((k * MINUTE_MS) / perMinute),
          senderDomain: unregistered ? `spam${minute}.example` : null,
          connectorId: 'onprem-1',
        },
        unregistered ? 'unregistered' : 'registered',
        DEFAULT_POLICY,
        0,
        `event-${tenant}-${minute}-${k}`,
      );
  }
  windowCounts(window, 0); // the running sums the cache keeps with each window
  window.watermark = { partition: 0, offset: String(tenant) };
  windows.push(window);
}
gc();
const bytes = process.memoryUsage().heapUsed - before;
console.log(
  JSON.stringify({
    windows: windows.length,
    bytesPerWindow: Math.round(bytes / windows.length),
    ...(hot ? { messagesPerSecond: perMinute / 60, fingerprints: windows[0]!.seen.count } : {}),
  }),
);
