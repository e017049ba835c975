// A window's event fingerprints against a model (a Set of the ids): the same answers, the same order, and a
// table that forgets expired minutes instead of growing with the tenant's whole history, and remembers at most
// FINGERPRINTS_PER_MINUTE events a minute whatever the tenant's rate (issue 23, finding 1).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ENTRY_WORDS,
  EventFingerprints,
  FINGERPRINTS_PER_MINUTE,
} from '../../../services/core/fingerprints.js';
import { DEFAULT_POLICY, MINUTE_MS } from '../../../services/core/policy.js';
import { addToWindow, emptyWindow, noChanges } from '../../../services/core/windows.js';
import type { WindowDelta } from '../../../services/platform/ports.js';
import { packedWrite } from '../../support/packed-writes.js';

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
    // As many a minute as it remembers, over 489 minutes never expired: all of them stay known.
    for (let i = 0; i < 1_000_000; i++)
      assert.ok(table.add(`relay-1.example/4F${i.toString(16)}`, Math.floor(i / FINGERPRINTS_PER_MINUTE)));
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

  it('is exact below the cap: a republished event is known while its minute is within the grace period (property)', () => {
    const grace = DEFAULT_POLICY.graceMinutes;
    fc.assert(
      fc.property(
        fc.array(
          // Each id belongs to one minute (an event's time is part of it), so a minute has at most the cap of ids.
          fc.record({
            advance: fc.nat(2),
            lateness: fc.nat(grace),
            id: fc.nat(FINGERPRINTS_PER_MINUTE - 1),
            burst: fc.integer({ min: 1, max: 400 }),
          }),
          { maxLength: 200 },
        ),
        (ops) => {
          const table = new EventFingerprints();
          const model = new Map<string, number>();
          let stream = 1_000;
          for (const { advance, lateness, id, burst } of ops) {
            if (advance > 0) {
              stream += advance;
              table.expire(stream - grace);
              for (const [key, minute] of model) if (minute < stream - grace) model.delete(key);
            }
            const minute = stream - lateness;
            // A burst: consecutive ids of the minute, which fills minutes up to the cap.
            for (let k = 0; k < burst; k++) {
              const key = `${minute}/${(id + k) % FINGERPRINTS_PER_MINUTE}`;
              assert.equal(table.add(key, minute), !model.has(key), key);
              model.set(key, minute);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('beyond the cap a minute counts its events without remembering them; the other minutes stay exact', () => {
    const table = new EventFingerprints();
    const full = idsOf(7, FINGERPRINTS_PER_MINUTE + 1);
    for (const id of full) assert.ok(table.add(id, 7));
    for (const id of full.slice(0, -1)) assert.equal(table.add(id, 7), false, 'remembered below the cap');
    // The one past the cap was counted but not remembered: published again, it counts again (docs/guarantees.md).
    assert.equal(table.add(full.at(-1)!, 7), true);
    assert.equal(table.count, FINGERPRINTS_PER_MINUTE);
    assert.ok(table.add('relay-1.example/next-minute', 8));
    assert.equal(table.add('relay-1.example/next-minute', 8), false);
    // Loading a table saved before the bound (more entries a minute than the cap) loads it bounded.
    const words: number[] = [];
    for (let i = 0; i < 3 * FINGERPRINTS_PER_MINUTE; i++) words.push(i, i ^ 0x5bd1e995, 9);
    const loaded = new EventFingerprints();
    loaded.addEntries(words);
    assert.equal(loaded.count, FINGERPRINTS_PER_MINUTE);
  });

  it('a hot tenant (20,000 events a minute for 30 minutes) holds a bounded table and saves it in bounded pieces', () => {
    const grace = DEFAULT_POLICY.graceMinutes;
    const perMinute = 20_000;
    // Live entries: the cap for each minute of the grace period and the newest; at most as many expired ones
    // wait at the front before a compaction drops them.
    const maxEntries = 2 * FINGERPRINTS_PER_MINUTE * (grace + 1);
    const window = emptyWindow();
    let held: WindowDelta['fingerprints'] | undefined;
    let largestEntries = 0;
    let largestSave = 0;
    let counted = 0;
    for (let minute = 0; minute < 30; minute++) {
      for (let i = 0; i < perMinute; i++) {
        const outcome = addToWindow(
          window,
          { occurredAt: (29_000_000 + minute) * MINUTE_MS + i, senderDomain: 'a.example', connectorId: null },
          'registered',
          DEFAULT_POLICY,
          0,
          `relay-1.example/${minute}.${i}`,
        );
        if (outcome === 'counted') counted++;
        largestEntries = Math.max(largestEntries, window.seen.count);
        // A save every 2,000 events, as write-behind would every commit interval under such a flood.
        if (i % 2_000 === 1_999) {
          const changes = held && { ...noChanges(), fingerprints: held };
          largestSave = Math.max(largestSave, packedWrite(window, changes).seen.length);
          held = { generation: window.seen.generation, count: window.seen.count };
        }
      }
    }
    assert.equal(counted, 30 * perMinute, 'every event counted');
    assert.ok(largestEntries <= maxEntries, `${largestEntries} entries held, bound ${maxEntries}`);
    assert.ok(largestSave <= maxEntries * 12, `${largestSave} fingerprint bytes in one save`);
  });
});
