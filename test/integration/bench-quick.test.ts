// Keeps the benchmarks working: `npm run bench -- --quick` runs every benchmark briefly against the real
// components. It checks that each one ran and reported its figures, never how fast anything was: timings on
// a shared machine are noise, and benchmarks (bench/README.md) are where performance is judged.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Figure } from '../../bench/harness.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

test('npm run bench -- --quick: every benchmark runs and reports its figures', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'relayguard-bench-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const json = join(dir, 'figures.json');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'bench/run.ts', '--quick', '--json', json],
    // A hang guard, not a performance bound: --quick takes well under a minute.
    { cwd: repoRoot, timeout: 600_000, maxBuffer: 1 << 22 },
  );
  const { quick, results } = JSON.parse(await readFile(json, 'utf8')) as {
    quick: boolean;
    results: Figure[];
  };
  assert.equal(quick, true);

  const benchmarks = new Set(results.map((figure) => figure.benchmark));
  for (const expected of [
    '1 scorer on Redis',
    '1b scorer on one Redis and on a Redis Cluster',
    '2 scorer on Kafka',
    '3 pure core',
    '4 policy server',
    '5 block latency',
    '6 memory',
    '7 backtest',
    '8 decision auth',
    '10 END-OF-MESSAGE spool',
    '11 END-OF-MESSAGE',
    '12 enforcer catch-up',
    '13 hot tenant',
  ]) {
    assert.ok(benchmarks.has(expected), `${expected} reported figures (got ${[...benchmarks].join(', ')})`);
  }
  for (const figure of results) {
    // Only that a number came out: a derived figure such as "throughput scoring costs" may even be negative in a
    // run this short, and its sign is a timing.
    assert.ok(Number.isFinite(figure.raw), `${figure.benchmark}: ${figure.measure} = ${figure.raw}`);
    // Quick runs judge no target: their numbers are too short to mean anything.
    assert.equal(figure.met, null);
    assert.ok(stdout.includes(figure.measure), `the table shows "${figure.measure}"`);
  }
  // Counts, not timings: at most one load and one save per batch of 500 (with the window cache, loads only for
  // tenants not cached and saves only at the commit interval, so fewer; how many fewer is a timing).
  const trips = results.find((f) => f.measure === 'scorer Redis round trips per event');
  assert.ok(
    trips !== undefined && trips.raw > 0 && trips.raw <= 2 / 500,
    `round trips per event: ${trips?.raw}`,
  );
});
