// `relayguard simulate --plot`: the compromised tenant's timeline as the pipeline counted it, and its SVG.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { renderAttackPlot } from '../../../services/cli/simulation/plot.js';
import { runSimulation } from '../../../services/cli/simulation/run.js';
import { loadConfig } from '../../../services/platform/config.js';
import { silentLogger } from '../../../services/platform/logger.js';
import { projectPath } from '../../../services/platform/project-files.js';

const OPTIONS = {
  tenants: 3,
  forwarders: 1,
  minutes: 30,
  ratePerMinute: 20,
  spamPerMinute: 60,
  compromiseMinute: 15,
  seed: 5,
  start: Date.UTC(2026, 10, 28, 9),
};

describe('relayguard simulate --plot', () => {
  it('records the compromised tenant minute by minute: relayed until the block, rejected by the relay after', async () => {
    const summary = await runSimulation(loadConfig({}), OPTIONS, silentLogger);
    assert.equal(summary.ok, true);
    const { timeline } = summary;
    assert.deepEqual(
      timeline.map((point) => point.minute),
      Array.from({ length: OPTIONS.minutes }, (_, i) => i),
    );
    const blockMinute = Math.floor((summary.blocked[0]!.blockedAt - OPTIONS.start) / 60_000);
    assert.ok(
      blockMinute >= OPTIONS.compromiseMinute && blockMinute < OPTIONS.minutes - 2,
      `block at ${blockMinute}`,
    );
    for (const point of timeline.slice(0, OPTIONS.compromiseMinute)) {
      assert.equal(point.rejected, 0, `minute ${point.minute}: nothing rejected before the compromise`);
      assert.ok(point.unregistered < 5, `minute ${point.minute}: a little legitimate unregistered mail`);
    }
    assert.ok(
      timeline[OPTIONS.compromiseMinute]!.unregistered >= OPTIONS.spamPerMinute,
      'the spam is counted',
    );
    for (const point of timeline.slice(blockMinute + 1)) {
      assert.ok(
        point.rejected >= OPTIONS.spamPerMinute,
        `minute ${point.minute}: the relay rejects the spam`,
      );
      assert.equal(point.unregistered, 0, `minute ${point.minute}: no spam relayed once blocked`);
    }
    const atBlock = timeline[blockMinute]!;
    assert.ok(atBlock.windowUnregistered >= summary.thresholds.minUnregisteredWithDistinct);
    assert.ok(atBlock.distinctDomains >= summary.thresholds.minDistinctDomains);

    const svg = renderAttackPlot(summary);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>/);
    assert.match(svg, /<\/svg>\n$/);
    assert.match(svg, /compromise begins/);
    assert.match(svg, /blocked \d+\.\d min later \(U = \d+, D = \d+\)/);
    assert.match(svg, /U ≥ 500 \(and U\/T ≥ 0\.25\)/);
    assert.match(svg, /U ≥ 100 \(and D ≥ 50\)/);
    assert.doesNotMatch(svg, /NaN|undefined|Infinity/);
  });

  it('writes the SVG from the command line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relayguard-plot-'));
    try {
      const file = join(dir, 'attack.svg');
      await promisify(execFile)(
        process.execPath,
        [
          '--import',
          'tsx',
          projectPath('services', 'cli', 'main.ts'),
          'simulate',
          '--tenants',
          '2',
          '--forwarders',
          '1',
          '--minutes',
          '20',
          '--compromise-at',
          '10',
          '--json',
          '--plot',
          file,
        ],
        { cwd: projectPath(), timeout: 60_000 },
      );
      const svg = await readFile(file, 'utf8');
      assert.match(svg, /<svg [^>]*>[\s\S]*blocked [\d.]+ min later[\s\S]*<\/svg>/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
