// The enforcer index's typed-array building blocks (services/core/string-table.ts): a Growable grows by an eighth,
// gives back its unused room on a trim and grows again on a later write; a string table trimmed, saved and loaded
// keeps every string's number and text and takes new strings after.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SnapshotParts } from '../../../services/core/snapshot-parts.js';
import { Growable, StringTable } from '../../../services/core/string-table.js';

describe('Growable', () => {
  it('grows by an eighth, trims to the highest index reserved, and grows again after', () => {
    const cells = new Growable((n) => new Int32Array(n), 16_384);
    for (let at = 0; at < 20_000; at++) cells.reserve(at)[at] = at + 1;
    // 16,384 + 2,048: never more than an eighth unused.
    assert.equal(cells.array.length, 18_432 + 2_304);
    cells.trim();
    assert.equal(cells.array.length, 20_000);
    assert.equal(cells.array[19_999], 20_000);
    cells.reserve(20_000)[20_000] = -1;
    assert.equal(cells.array.length, 20_000 + 2_500);
    assert.deepEqual(
      [cells.array[0], cells.array[19_999], cells.array[20_000], cells.array[20_001]],
      [1, 20_000, -1, 0],
    );
  });

  it('saves what was reserved, and a loaded one grows again', () => {
    const cells = new Growable((n) => new Float64Array(n));
    for (let at = 0; at < 10; at++) cells.reserve(at)[at] = at / 2;
    const parts = new SnapshotParts();
    cells.saveTo(parts, 'cells');
    assert.equal(parts.array('cells', Float64Array).length, 10);
    const loaded = new Growable((n) => new Float64Array(n));
    loaded.loadFrom(parts, 'cells');
    loaded.trim();
    assert.equal(loaded.bytes, 80);
    loaded.reserve(10)[10] = 7;
    assert.deepEqual([...loaded.array.subarray(0, 11)], [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 7]);
  });
});

describe('StringTable', () => {
  const names = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => `tenant-${from + i}.example`);

  it('keeps every number and text through a trim, a snapshot and a load, and takes new strings after', () => {
    const table = new StringTable();
    const first = names(0, 5_000).map((name) => table.intern(name));
    table.intern('ünicorn');
    const bytes = table.bytes;
    table.trim();
    assert.ok(
      table.bytes < bytes - 4_000_000,
      `the last page's unused room went back: ${bytes} → ${table.bytes}`,
    );
    const parts = new SnapshotParts();
    table.saveTo(parts, 'names');
    const loaded = new StringTable();
    loaded.loadFrom(parts, 'names');
    for (const copy of [table, loaded]) {
      const more = names(5_000, 12_000).map((name) => copy.intern(name));
      names(0, 5_000).forEach((name, i) => {
        assert.equal(copy.find(name), first[i]);
        assert.equal(copy.text(first[i]!), name);
      });
      assert.deepEqual(
        more.map((id) => copy.text(id)),
        names(5_000, 12_000),
      );
      assert.equal(copy.text(copy.find('ünicorn')!), 'ünicorn');
      assert.equal(copy.size, 12_001);
    }
  });
});
