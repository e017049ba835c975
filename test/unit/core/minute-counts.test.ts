// The per-minute ring of a window: minutes far apart grow it instead of sharing a slot, a removed minute leaves
// no trace, and two rings that hold the same minutes hold the same arrays (what a store's load is compared by).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MinuteCounts } from '../../../services/core/minute-counts.js';

const MINUTE = 29_000_000;

describe('MinuteCounts', () => {
  it('counts into a minute slot and reads it back', () => {
    const ring = new MinuteCounts();
    const slot = ring.slot(MINUTE);
    ring.count(slot, true, false);
    ring.count(slot, false, true);
    ring.count(ring.slot(MINUTE), false, false);
    assert.deepEqual(ring.get(MINUTE), { unregistered: 1, forwarded: 1, total: 3 });
    assert.equal(ring.size, 1);
    assert.equal(ring.get(MINUTE + 1), undefined);
  });

  it('grows rather than let two minutes share a slot, keeping every count', () => {
    const ring = new MinuteCounts();
    ring.set(MINUTE, { unregistered: 1, forwarded: 0, total: 1 });
    ring.set(MINUTE + 64, { unregistered: 0, forwarded: 2, total: 2 });
    ring.set(MINUTE + 200, { unregistered: 3, forwarded: 0, total: 3 });
    assert.equal(ring.capacity, 128, 'grown from 64 when two minutes 64 apart met');
    assert.deepEqual(
      [...ring].sort(([a], [b]) => a - b),
      [
        [MINUTE, { unregistered: 1, forwarded: 0, total: 1 }],
        [MINUTE + 64, { unregistered: 0, forwarded: 2, total: 2 }],
        [MINUTE + 200, { unregistered: 3, forwarded: 0, total: 3 }],
      ],
    );
  });

  it('holds the same arrays for the same minutes, whatever came and went', () => {
    const churned = new MinuteCounts();
    for (let minute = MINUTE; minute < MINUTE + 60; minute++)
      churned.set(minute, { unregistered: 0, forwarded: 0, total: 5 });
    for (let minute = MINUTE; minute < MINUTE + 58; minute++)
      assert.deepEqual(churned.delete(minute), { unregistered: 0, forwarded: 0, total: 5 });
    const fresh = new MinuteCounts();
    for (const minute of [MINUTE + 59, MINUTE + 58])
      fresh.set(minute, { unregistered: 0, forwarded: 0, total: 5 });
    assert.deepEqual(churned, fresh);
    assert.deepEqual(churned.clone(), fresh);
  });
});
