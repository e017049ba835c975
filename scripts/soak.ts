// `npm run soak -- --minutes 10 [--rate 1000]`: simulated fleet traffic (services/cli/simulation/fleet.ts) at a
// steady rate into `relayguard scorer` and `relayguard enforcer` processes on the test environment's real
// components, with a fault every 90 s (scorer SIGKILL and restart, Redis connections cut, a broker down for 5 s,
// 200 ms of latency for 5 s). Every 10 s it samples each process's RSS and heap (from its /metrics) and the
// scorer's consumer lag. At the end: memory flat (no leak) and no growing lag, or exit 1.
import { parseArgs } from 'node:util';
import { fleetMinute, fleetTenants } from '../services/cli/simulation/fleet.js';
import { renderTable } from '../services/cli/table.js';
import type { MessageSubmitted } from '../services/core/contracts.generated.js';
import { Topics } from '../services/core/topics.js';
import { mockKafka, ServiceProcess, startChaosStack } from '../test/chaos/harness.js';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '10' }, rate: { type: 'string', default: '1000' } },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const options = {
  tenants: 200,
  forwarders: 20,
  ratePerMinute: 60,
  spamPerMinute: 300,
  compromiseMinute: 2,
  seed: 7,
  start: Date.now(),
};
const tenants = fleetTenants(options);
const stack = await startChaosStack(tenants.map((t) => t.tenantId));
const scorer = new ServiceProcess('scorer', stack.env);
const enforcer = new ServiceProcess('enforcer', stack.env);
await scorer.start();
await enforcer.start();
await Promise.all([scorer.ready(), enforcer.ready()]);

async function metric(service: ServiceProcess, name: string): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').at(-1)) : Number.NaN;
}

interface Sample {
  at: number;
  scorerRss: number;
  scorerHeap: number;
  enforcerRss: number;
  enforcerHeap: number;
  lag: number;
}
const samples: Sample[] = [];
const started = Date.now();
const deadline = started + minutes * 60_000;
let sent = 0;
let stopping = false;

// The producer: fleet minutes in order, each event stamped with the time it is sent (event time follows wall time).
const producing = (async () => {
  const { log, codec } = stack.adapters;
  let pending: MessageSubmitted[] = [];
  for (let minute = 0; !stopping; minute++) {
    for (const event of fleetMinute(tenants, minute, options)) {
      if (stopping) break;
      pending.push({ ...event, occurredAt: Date.now() });
      if (pending.length < 200) continue;
      const records = await Promise.all(
        pending.map(async (e) => ({
          key: e.tenantId,
          value: await codec.encode(Topics.messageSubmitted, e),
        })),
      );
      await log.publish(Topics.messageSubmitted, records).then(
        () => {
          sent += records.length;
        },
        () => undefined, // a broker down: this batch is dropped, as a relay queue would retry it later
      );
      pending = [];
      const due = started + (sent / rate) * 1000;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    }
  }
})();

const faults = [
  async () => {
    await scorer.kill();
    await scorer.start();
  },
  async () => {
    await stack.redisAdmin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
  },
  async () => {
    await mockKafka(stack).brokerDown(2);
    await new Promise((r) => setTimeout(r, 5_000));
    await mockKafka(stack).brokerUp(2);
  },
  async () => {
    await mockKafka(stack).setRtt(-1, 200);
    await new Promise((r) => setTimeout(r, 5_000));
    await mockKafka(stack).setRtt(-1, 0);
  },
];
let faultIndex = 0;
let nextFault = started + 90_000;
while (Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  if (Date.now() >= nextFault) {
    process.stderr.write(`soak: fault ${faultIndex % faults.length}\n`);
    await faults[faultIndex++ % faults.length]!();
    nextFault += 90_000;
  }
  try {
    const { committed, end } = await stack.progress();
    const sample = {
      at: (Date.now() - started) / 1000,
      scorerRss: await metric(scorer, 'relayguard_process_resident_memory_bytes'),
      scorerHeap: await metric(scorer, 'relayguard_nodejs_heap_size_used_bytes'),
      enforcerRss: await metric(enforcer, 'relayguard_process_resident_memory_bytes'),
      enforcerHeap: await metric(enforcer, 'relayguard_nodejs_heap_size_used_bytes'),
      lag: end - committed,
    };
    samples.push(sample);
    process.stderr.write(`soak: ${JSON.stringify(sample)} sent ${sent}\n`);
  } catch (error) {
    process.stderr.write(`soak: sample skipped (${(error as Error).message})\n`);
  }
}
stopping = true;
await producing;
await scorer.stop();
await enforcer.stop();
await stack.stop();

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
process.stdout.write(
  `${renderTable(
    ['t', 'scorer RSS', 'scorer heap', 'enforcer RSS', 'enforcer heap', 'lag (events)'],
    samples.map((s) => [
      `${s.at.toFixed(0)} s`,
      mib(s.scorerRss),
      mib(s.scorerHeap),
      mib(s.enforcerRss),
      mib(s.enforcerHeap),
      String(s.lag),
    ]),
  )}\n`,
);
// Flat: the heaps of the last third of the run within 25% of the middle third's (the first third warms up).
const third = Math.floor(samples.length / 3);
const mean = (list: Sample[], key: keyof Sample) =>
  list.reduce((sum, s) => sum + s[key], 0) / Math.max(1, list.length);
const middle = samples.slice(third, 2 * third);
const last = samples.slice(2 * third);
const verdicts: { what: string; ok: boolean; text: string }[] = (['scorerHeap', 'enforcerHeap'] as const).map(
  (key) => {
    const growth = mean(last, key) / mean(middle, key) - 1;
    return {
      what: key,
      ok: growth < 0.25,
      text: `${key}: ${(growth * 100).toFixed(1)}% from the middle to the last third`,
    };
  },
);
const lagOk = Math.max(...last.map((s) => s.lag)) <= Math.max(rate * 30, ...middle.map((s) => s.lag));
verdicts.push({
  what: 'lag',
  ok: lagOk,
  text: `lag: last third at most ${Math.max(...last.map((s) => s.lag))} events`,
});
process.stdout.write(
  `${sent} events in ${minutes} minutes (${(sent / (minutes * 60)).toFixed(0)}/s)\n${verdicts.map((v) => `${v.ok ? 'ok    ' : 'FAILED'} ${v.text}`).join('\n')}\n`,
);
process.exitCode = verdicts.every((v) => v.ok) ? 0 : 1;
