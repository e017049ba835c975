// rebuild-windows' options: where the replay starts by default (the oldest record a window can still need), and
// the partition lists that split the work across processes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { rebuildStart } from '../../../services/cli/commands/rebuild-windows.js';
import { partitionList } from '../../../services/cli/options.js';
import { loadConfig } from '../../../services/platform/config.js';

describe('rebuild-windows start', () => {
  it('is now less the window, the grace period and the clock skew the scorer accepts', () => {
    const config = loadConfig({
      RELAYGUARD_WINDOW_MINUTES: '60',
      RELAYGUARD_GRACE_MINUTES: '5',
      RELAYGUARD_MAX_CLOCK_SKEW_SECONDS: '120',
    });
    const now = Date.parse('2026-12-07T12:00:00Z');
    assert.equal(new Date(rebuildStart(config, now)).toISOString(), '2026-12-07T10:53:00.000Z');
  });
});

describe('--partitions', () => {
  it('takes numbers and ranges, each partition once, in order', () => {
    assert.deepEqual(partitionList('9,0-3, 2'), [0, 1, 2, 3, 9]);
    assert.deepEqual(partitionList('5'), [5]);
  });

  it('refuses anything else with an error naming the flag', () => {
    for (const bad of ['', 'a', '3-1', '-1', '1,,2', '1.5']) {
      assert.throws(
        () => partitionList(bad),
        (error: unknown) => error instanceof InvalidArgumentError && /--partitions/.test(error.message),
        bad,
      );
    }
  });
});
