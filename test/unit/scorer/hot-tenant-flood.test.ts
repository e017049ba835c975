// Issue 23, finding 1, scaled down: a scorer with a 96 MiB heap fed 600,000 events of one tenant within three
// minutes (every one still in the grace period) and a quiet neighbour on its partition. Before the de-duplication
// state was bounded, the hot tenant's fingerprints grew with its rate and the process died of heap exhaustion
// (exit 134, "JavaScript heap out of memory"); now it scores the flood and blocks the hot tenant only.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { tenantId } from '../../../bench/workload.js';
import { projectPath, projectRoot } from '../../../services/platform/project-files.js';

const run = promisify(execFile);
const EVENTS = 600_000;
const HEAP_MIB = 96;

describe('scorer: a hot tenant', () => {
  it(`scores ${EVENTS} events of one tenant in a ${HEAP_MIB} MiB heap without running out`, async () => {
    const { stdout } = await run(
      process.execPath,
      [
        `--max-old-space-size=${HEAP_MIB}`,
        '--import',
        'tsx',
        projectPath('test', 'support', 'probes', 'hot-tenant-flood.ts'),
        String(EVENTS),
      ],
      { cwd: projectRoot, timeout: 240_000, maxBuffer: 1 << 20 },
    );
    const result = JSON.parse(stdout.trim()) as { consumed: number; maxHeapMiB: number; blocks: string[] };
    assert.equal(result.consumed, EVENTS, 'every event scored');
    assert.deepEqual(result.blocks, [tenantId(0)], 'the hot tenant blocked, its neighbour not');
    assert.ok(result.maxHeapMiB < HEAP_MIB, `${result.maxHeapMiB} MiB of heap at most`);
  });
});
