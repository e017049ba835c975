// Issue 23, "the whole directory in every process": an enforcer replica held the whole directory, ~1 KB a tenant,
// which outgrows a 1,280 MiB heap near 1.2M tenants (on 3d4898f's main, `directory-heap.ts 2000000 20000` with this
// heap ran out of memory). An enforcer alone now holds its index (services/core/enforcer-index.ts): 2M tenants, 1%
// blocked, each record decoded through the codec as the feed reads it, in a process whose heap is capped at
// 1,280 MiB, and the heap plus the index's typed arrays stay within that.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { DirectoryHeap } from '../../bench/directory-heap.js';
import { projectRoot } from '../../services/platform/project-files.js';

const MIB = 1024 * 1024;
const HEAP_MIB = 1280;
const TENANTS = 2_000_000;

describe("an enforcer's directory", () => {
  it(`holds ${TENANTS.toLocaleString('en-US')} tenants in a ${HEAP_MIB} MiB heap`, {
    timeout: 900_000,
  }, async (t) => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--expose-gc',
        `--max-old-space-size=${HEAP_MIB}`,
        '--import',
        'tsx',
        'bench/directory-heap.ts',
        String(TENANTS),
        String(TENANTS / 100),
        'enforcer',
      ],
      { cwd: projectRoot, maxBuffer: 1 << 20 },
    );
    const heap = JSON.parse(stdout) as DirectoryHeap;
    assert.equal(heap.tenants, TENANTS);
    t.diagnostic(
      `${(heap.heapBytes / MIB).toFixed(1)} MiB, of which ${(heap.arrayBufferBytes / MIB).toFixed(1)} MiB in typed arrays`,
    );
    assert.ok(
      heap.heapBytes <= HEAP_MIB * MIB,
      `${(heap.heapBytes / MIB).toFixed(0)} MiB (${heap.arrayBufferBytes} bytes in typed arrays) > ${HEAP_MIB} MiB`,
    );
  });
});
