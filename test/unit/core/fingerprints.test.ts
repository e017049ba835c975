// A window's event fingerprints against a model (a Set of the ids): the same answers, the same order, and a
// table that forgets expired minutes instead of growing with the tenant's whole history.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ENTRY_WORDS, EventFingerprints } from '../../../services/core/fingerprints.js';

const idsOf = (minute: number, count: number) =>
  Array.from({ length: count }, (_, i) => `relay-1.example/Q${minute}x${i}`);

describe('EventFingerprints', () => {
  it('knows exactly the ids added, in the order added, through growth, copies and rebuilds (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(fc.uuid(), fc.string({ maxLength: 40 })), fc.nat(5)), { maxLength: 400 }),
        (events) => {
          const model = new Set<string>();
          const order: number[] = [];
          const table = new EventFingerprints();
          for (const [id, minute] of events) {
            const added = table.add(id, minute);
            assert.equal(added, !model.has(id));
            if (added) order.push(minute);
            model.add(id);
          }
          assert.equal(table.count, model.size);
          // The minutes come back in the order added, each with its hash.
          const words = table.entries();
          assert.deepEqual(
            order,
            Array.from({ length: table.count }, (_, i) => words[i * ENTRY_WORDS + 2]),
          );

          // A copy and a table rebuilt from the entries know the same ids; the copy is independent.
          const copy = table.clone();
          const rebuilt = new EventFingerprints();
          rebuilt.addEntries(table.entries());
          for (const other of [copy, rebuilt]) {
            assert.deepEqual([...other.entries()], [...words]);
            for (const id of model) assert.equal(other.add(id, 0), false);
          }
          copy.add('only-in-the-copy', 0);
          assert.equal(table.add('only-in-the-copy', 0), !model.has('only-in-the-copy'));

          // entries(from) is the tail added after the first `from`.
          const from = Math.floor(table.count / 2);
          assert.deepEqual([...table.entries(from)], [...table.entries()].slice(from * ENTRY_WORDS));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('tells apart a million ids that differ in a few characters', () => {
    const table = new EventFingerprints();
    for (let i = 0; i < 1_000_000; i++) assert.ok(table.add(`relay-1.example/4F${i.toString(16)}`, 0));
    assert.equal(table.count, 1_000_000);
    assert.ok(!table.add('relay-1.example/4F0', 0));
  });

  it('forgets expired minutes: a steady tenant holds about two grace periods of events, never its history', () => {
    const table = new EventFingerprints();
    const grace = 5;
    for (let minute = 0; minute < 600; minute++) {
      table.expire(minute - grace);
      for (const id of idsOf(minute, 20)) table.add(id, minute);
      assert.ok(table.count <= 2 * (grace + 1) * 20 + 32, `minute ${minute}: ${table.count} entries`);
    }
    // The minutes still within the grace period are known; a compaction moved them (a new generation).
    for (const id of idsOf(599, 20)) assert.equal(table.add(id, 599), false);
    assert.ok(table.generation > 0);
    const minutes = table.entries().filter((_, i) => i % ENTRY_WORDS === 2);
    assert.ok(Math.min(...minutes) >= 599 - 2 * (grace + 1));
  });
});
