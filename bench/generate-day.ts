// A day of relay traffic for `relayguard backtest --events`, for measuring it on realistic volume: the
// simulator's fleet (simulation/fleet.ts: ordinary, forwarding and one compromised tenant) minute by minute,
// as JSON lines, and its tenants file. Not part of the test suite: a day of 10,000 tenants is 9 GB.
// Usage: npx tsx bench/generate-day.ts <events.jsonl> <tenants.json> [tenants=10000] [per minute=2] [minutes=1440]
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { encodeEventLine } from '../services/backtest/event-lines.js';
import { fleetMinute, fleetTenants } from '../services/cli/simulation/fleet.js';

const [eventsPath, tenantsPath, tenants = '10000', rate = '2', minutes = '1440'] = process.argv.slice(2);
if (!eventsPath || !tenantsPath) {
  process.stderr.write(
    'usage: generate-day.ts <events.jsonl> <tenants.json> [tenants] [per minute] [minutes]\n',
  );
  process.exit(2);
}
const options = {
  tenants: Number(tenants) - 100,
  forwarders: 99,
  ratePerMinute: Number(rate),
  spamPerMinute: 60,
  // The compromise begins at 10:00 of event time.
  compromiseMinute: 600,
  seed: 7,
  start: Date.UTC(2026, 10, 28),
};
const fleet = fleetTenants(options);
writeFileSync(
  tenantsPath,
  JSON.stringify({
    tenants: fleet.map((t) => ({
      tenantId: t.tenantId,
      acceptedDomains: [{ domain: t.acceptedDomain, matchSubdomains: true }],
      connectors: t.connectors.map((c) => ({
        connectorId: c.connectorId,
        relayPath: c.relayPath,
        senderIpRanges: [c.senderIpRange],
      })),
    })),
  }),
);
const fd = openSync(eventsPath, 'w');
let count = 0;
for (let minute = 0; minute < Number(minutes); minute++) {
  const lines = [...fleetMinute(fleet, minute, options)].map(encodeEventLine);
  writeSync(fd, `${lines.join('\n')}\n`);
  count += lines.length;
}
closeSync(fd);
process.stderr.write(`${count} events from ${fleet.length} tenants\n`);
