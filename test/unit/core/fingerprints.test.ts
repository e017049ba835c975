// A window minute's event fingerprints against a model (a Set of the ids): the same answers, the same order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Fingerprints } from '../../../services/core/fingerprints.js';

describe('Fingerprints', () => {
  it('knows exactly the ids added, in the order added, through growth, copies and halves (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.uuid(), fc.string({ maxLength: 40 })), { maxLength: 400 }), (ids) => {
        const model = new Set<string>();
        const fingerprints = new Fingerprints();
        for (const id of ids) {
          assert.equal(fingerprints.has(id), model.has(id));
          assert.equal(fingerprints.add(id), !model.has(id));
          model.add(id);
        }
        assert.equal(fingerprints.size, model.size);

        // A copy and a rebuild from halves know the same ids, in the same order; the copy is independent.
        const copy = fingerprints.clone();
        const rebuilt = new Fingerprints(1);
        rebuilt.addHalves(fingerprints.halves());
        for (const other of [copy, rebuilt]) {
          assert.deepEqual([...other.halves()], [...fingerprints.halves()]);
          for (const id of model) assert.ok(other.has(id));
        }
        copy.add('only-in-the-copy');
        assert.equal(fingerprints.has('only-in-the-copy'), model.has('only-in-the-copy'));

        // halves(from) is the tail added after the first `from`.
        const from = Math.floor(model.size / 2);
        assert.deepEqual([...fingerprints.halves(from)], [...fingerprints.halves()].slice(from * 2));
      }),
      { numRuns: 300 },
    );
  });

  it('tells apart ids that differ in one character, across a million of them', () => {
    const fingerprints = new Fingerprints();
    for (let i = 0; i < 1_000_000; i++) assert.ok(fingerprints.add(`relay-1.example/4F${i.toString(16)}`));
    assert.equal(fingerprints.size, 1_000_000);
    assert.ok(!fingerprints.add('relay-1.example/4F0'));
  });
});
