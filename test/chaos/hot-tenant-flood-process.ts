// The hot-tenant row's flood, as a process of its own: one tenant's own domain at a target rate for a span, in
// acknowledged batches. Apart from the row's process because the row is the stopwatch of block latency: sending
// 24,000 events a second from it stalled its event loop (0.4-1.1 s at worst in three traced 60 s runs, GC pauses up
// to 100 ms), and both ends of a latency (an acknowledgement, a record read back) were noted only when the loop came
// round; a crossing published through the flood's producer also waited behind its batches (one request in flight).
// Usage: hot-tenant-flood-process <tenant> <rate> <seconds>, in the stack's environment (KAFKA_BROKERS, ...).
// Prints one JSON line when the first batch goes ({"started": epoch ms}) and one at the end ({"sent", "elapsedMs"}).
import { closeAdapters, productionAdapters } from '../../services/app/adapters.js';
import { loadConfig } from '../../services/platform/config.js';
import { silentLogger } from '../../services/platform/logger.js';
import { eventSource, ownDomain, publish } from './hot-tenant-traffic.js';

const BATCH = 2_000;

const [tenantId, rateArg, secondsArg] = process.argv.slice(2);
const rate = Number(rateArg);
const spanMs = Number(secondsArg) * 1_000;
if (!tenantId || !(rate > 0) || !(spanMs > 0)) {
  process.stderr.write('usage: hot-tenant-flood-process <tenant> <rate> <seconds>\n');
  process.exit(2);
}

const adapters = productionAdapters(loadConfig(process.env), silentLogger);
const event = eventSource('hot-flood');
const batch = () => Array.from({ length: BATCH }, () => event(tenantId, ownDomain(tenantId)));
try {
  const started = Date.now();
  process.stdout.write(`${JSON.stringify({ started })}\n`);
  let sent = 0;
  while (Date.now() - started < spanMs) {
    await publish(adapters, batch());
    sent += BATCH;
    const ahead = started + (sent / rate) * 1_000 - Date.now();
    if (ahead > 0) await new Promise((resolve) => setTimeout(resolve, ahead));
  }
  process.stdout.write(`${JSON.stringify({ sent, elapsedMs: Date.now() - started })}\n`);
} finally {
  await closeAdapters(adapters);
}
