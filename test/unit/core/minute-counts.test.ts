// The per-minute ring of a window: minutes far apart grow it instead of sharing a slot, a removed minute leaves
// no trace, and two rings that hold the same minutes hold the same arrays (what a store's load is compared by); a
// range of minutes leaves as one by one, whether the ring looks them up or walks its slots, and past its floor.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
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

  it('removes a range of minutes, and their counts from the sums, as deleting them one by one would (property)', () => {
    const count = fc.record({
      kind: fc.constant('count' as const),
      minute: fc.nat(150),
      unregistered: fc.boolean(),
    });
    const remove = fc.record({
      kind: fc.constant('remove' as const),
      from: fc.oneof(fc.integer({ min: -10, max: 160 }), fc.constant(Number.NEGATIVE_INFINITY)),
      to: fc.integer({ min: -10, max: 170 }),
    });
    fc.assert(
      fc.property(fc.array(fc.oneof(count, count, remove), { maxLength: 80 }), (steps) => {
        const ring = new MinuteCounts();
        const sums = { unregistered: 0, forwarded: 0, total: 0 };
        const model = new Map<number, { unregistered: number; forwarded: number; total: number }>();
        for (const step of steps) {
          if (step.kind === 'count') {
            ring.count(ring.slot(MINUTE + step.minute), step.unregistered, false);
            sums.total++;
            if (step.unregistered) sums.unregistered++;
            const held = model.get(step.minute) ?? { unregistered: 0, forwarded: 0, total: 0 };
            model.set(step.minute, {
              ...held,
              unregistered: held.unregistered + Number(step.unregistered),
              total: held.total + 1,
            });
            continue;
          }
          const removed = new Set<number>();
          const gone = [...model.keys()].filter((minute) => minute >= step.from && minute < step.to);
          assert.equal(
            ring.removeRange(MINUTE + step.from, MINUTE + step.to, sums, removed),
            gone.length > 0,
          );
          assert.deepEqual([...removed].sort(), gone.map((minute) => MINUTE + minute).sort());
          for (const minute of gone) model.delete(minute);
        }
        const expected = [...model].map(([minute, bucket]) => [MINUTE + minute, bucket]);
        assert.deepEqual(
          [...ring].sort(([a], [b]) => a - b),
          expected.sort(([a], [b]) => Number(a) - Number(b)),
        );
        assert.equal(ring.size, model.size);
        const total = (field: 'unregistered' | 'total') =>
          [...model.values()].reduce((sum, b) => sum + b[field], 0);
        assert.deepEqual(sums, { unregistered: total('unregistered'), forwarded: 0, total: total('total') });
      }),
      { numRuns: 300 },
    );
  });
});
