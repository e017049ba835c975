// Benchmark 6: memory. Redis bytes per active tenant (an hour of steady mail: 60 minute buckets, a few partner
// domains, the fingerprints of the events within the grace period) and per compromised tenant (thousands of distinct spam domains in the hour; the tracked set is
// capped), by INFO used_memory deltas and MEMORY USAGE of every key; and the memory of the directory with a
// million tenants (bench/directory-heap.ts, in a process of its own with --expose-gc): the enforcer's index (what
// an enforcer alone holds) and the whole directory (what a scorer or the admin API holds).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { ValidMessage } from '../services/core/classify.js';
import { scoreTenant } from '../services/core/fold.js';
import { DEFAULT_POLICY, MINUTE_MS } from '../services/core/policy.js';
import { type PositionedMessage, positioned } from '../services/core/scoring.js';
import { RedisWindowStore } from '../services/platform/redis/redis-window-store.js';
import { windowKeys } from '../services/platform/redis/window-encoding.js';
import { scoringContext } from '../services/scorer/scorer.js';
import { startRedis } from '../test/support/redis-server.js';
import type { DirectoryHeap } from './directory-heap.js';
import { atMost, defineBenchmark, format } from './harness.js';
import { info } from './redis-support.js';
import { batchesOf, fleetDirectory, START, tenantId } from './workload.js';

const SIZES = {
  quick: { active: 500, compromised: 100, spam: 500, directoryTenants: 20_000 },
  measured: { active: 5_000, compromised: 1_000, spam: 3_000, directoryTenants: 1_000_000 },
};

const GIB = 1024 ** 3;
const TTL_MS = (DEFAULT_POLICY.windowMinutes + DEFAULT_POLICY.graceMinutes) * MINUTE_MS;
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

type Traffic = (i: number) => ValidMessage[];

/** An hour of a steady tenant: two registered messages a minute, an unregistered one every third minute. */
const activeTraffic: Traffic = (i) => {
  const id = tenantId(i);
  const messages: ValidMessage[] = [];
  for (let minute = 0; minute < 60; minute++) {
    const at = START + minute * MINUTE_MS;
    const domains = [`mail.${id}.example`, `${id}-mail.example`];
    if (minute % 3 === 0) domains.push(`partner${(i + minute) % 5}.example`);
    for (const [k, senderDomain] of domains.entries())
      messages.push({
        tenantId: id,
        occurredAt: at + k,
        senderDomain,
        relayPath: 'ONPREM',
        connectorId: 'onprem-1',
      });
  }
  return messages;
};

/** An hour of a compromised tenant: `spam` messages, each from a domain never seen before, among its own mail. */
function compromisedTraffic(spam: number): Traffic {
  return (i) => {
    const id = tenantId(i);
    return Array.from({ length: spam }, (_, k) => ({
      tenantId: id,
      occurredAt: START + Math.floor((k * 60 * MINUTE_MS) / spam),
      senderDomain: k % 4 === 0 ? `mail.${id}.example` : `s${k}-${i}.example`,
      relayPath: 'ONPREM' as const,
      connectorId: 'onprem-1',
    }));
  };
}

/** Folds each tenant's hour with the core and saves the windows as the scorer would; bytes per tenant. */
async function redisBytesPerTenant(
  url: string,
  tenants: readonly number[],
  traffic: Traffic,
  tick: () => void,
): Promise<{ usedMemory: number; memoryUsage: number; encodings: string[] }> {
  const store = new RedisWindowStore({ url, ttlMs: TTL_MS });
  await store.ready();
  const admin = new Redis(url);
  try {
    await admin.flushall();
    const context = scoringContext(fleetDirectory(Math.max(...tenants) + 1));
    const before = (await info(admin, 'memory')).get('used_memory')!;
    let offset = 0;
    for (const chunk of batchesOf(tenants, 500)) {
      const writes = chunk.map((i) => {
        const messages: PositionedMessage[] = traffic(i).map((message) =>
          positioned(
            message,
            { partition: 0, offset: String(offset) },
            // As the SDK names events from Postfix: relay host and queue id (the windows keep their fingerprints).
            `relay-1.example/${(offset++).toString(16).toUpperCase().padStart(10, '0')}`,
          ),
        );
        const { window } = scoreTenant(undefined, tenantId(i), messages, DEFAULT_POLICY, context);
        return { tenantId: tenantId(i), expectedVersion: null, window };
      });
      const { conflicts } = await store.save(writes);
      if (conflicts.length > 0) throw new Error(`${conflicts.length} windows were not saved`);
      tick();
    }
    const after = (await info(admin, 'memory')).get('used_memory')!;
    const keys = tenants.flatMap((i) => windowKeys(tenantId(i)));
    const pipeline = admin.pipeline();
    for (const key of keys) pipeline.memory('USAGE', key, 'SAMPLES', '0');
    const sizes = ((await pipeline.exec()) ?? []).map(([error, size]) => {
      if (error) throw error;
      return Number(size ?? 0);
    });
    const encodings = await Promise.all(
      windowKeys(tenantId(tenants[0]!)).map((key) => admin.object('ENCODING', key)),
    );
    return {
      usedMemory: (after - before) / tenants.length,
      memoryUsage: sizes.reduce((sum, size) => sum + size, 0) / tenants.length,
      encodings: encodings.map(String),
    };
  } finally {
    await Promise.all([store.close(), admin.quit()]);
  }
}

async function directoryHeap(
  tenants: number,
  blocked: number,
  kind: DirectoryHeap['kind'],
): Promise<DirectoryHeap> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--expose-gc',
      '--max-old-space-size=4096',
      '--import',
      'tsx',
      'bench/directory-heap.ts',
      String(tenants),
      String(blocked),
      kind,
    ],
    { cwd: repoRoot, maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout) as DirectoryHeap;
}

export const memoryBenchmark = defineBenchmark({
  id: 'memory',
  title: '6 memory',
  sizes: SIZES,
  async run({ sizes: { active, compromised, spam, directoryTenants }, progress, figure }) {
    const range = (from: number, count: number) => Array.from({ length: count }, (_, k) => from + k);
    const redis = await startRedis();
    let steady: Awaited<ReturnType<typeof redisBytesPerTenant>>;
    let attacked: Awaited<ReturnType<typeof redisBytesPerTenant>>;
    try {
      progress.phase(`Redis: ${active} active tenants`, Math.ceil(active / 500));
      steady = await redisBytesPerTenant(redis.url, range(0, active), activeTraffic, () => progress.tick());
      progress.phase(`Redis: ${compromised} compromised tenants`, Math.ceil(compromised / 500));
      attacked = await redisBytesPerTenant(redis.url, range(0, compromised), compromisedTraffic(spam), () =>
        progress.tick(),
      );
    } finally {
      await redis.stop();
    }
    progress.phase(`directory: ${directoryTenants.toLocaleString('en-US')} tenants`, 2);
    const heap = await directoryHeap(directoryTenants, directoryTenants / 100, 'enforcer');
    progress.tick();
    const whole = await directoryHeap(directoryTenants, directoryTenants / 100, 'whole');
    progress.tick();
    const kib4 = atMost(4096, '4 KiB');
    return [
      figure(
        `Redis per active tenant, INFO used_memory (${steady.encodings.join('+')})`,
        steady.usedMemory,
        format.bytes,
        kib4,
      ),
      figure('Redis per active tenant, MEMORY USAGE of its keys', steady.memoryUsage, format.bytes, kib4),
      figure(
        `Redis per compromised tenant (${spam} distinct domains), used_memory`,
        attacked.usedMemory,
        format.bytes,
      ),
      figure('Redis per compromised tenant, MEMORY USAGE of its keys', attacked.memoryUsage, format.bytes),
      figure(
        `enforcer heap, ${directoryTenants.toLocaleString('en-US')} tenants (${heap.blocked.toLocaleString('en-US')} blocked)`,
        heap.heapBytes,
        format.bytes,
        { text: '≤ 1 GiB at 1,000,000', met: (bytes) => directoryTenants === 1_000_000 && bytes <= GIB },
      ),
      figure(
        'enforcer heap per tenant (heap + typed arrays)',
        heap.heapBytes / directoryTenants,
        format.bytes,
      ),
      figure(
        `whole directory (scorer, admin), ${directoryTenants.toLocaleString('en-US')} tenants`,
        whole.heapBytes,
        format.bytes,
      ),
    ];
  },
});
