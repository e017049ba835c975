// The field reader's interned strings: a lookup returns exactly the string its bytes decode to (as Node's UTF-8
// decoding makes it), the same instance for the same bytes, whatever collided with them in the table or was
// dropped when it started afresh; bytes it does not intern (not ASCII, too long) are left to the caller.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  asciiHash,
  InternedStrings,
  MAX_INTERNED_BYTES,
} from '../../../services/platform/codec/interned-strings.js';

const decoded = (bytes: Buffer) => bytes.toString('utf8');

/** Two different ASCII strings with the same hash, found by walking numbered names (a birthday search). */
function collidingPair(): [Buffer, Buffer] {
  const seen = new Map<number, Buffer>();
  for (let i = 0; ; i++) {
    const bytes = Buffer.from(`tenant-${i}.example`);
    const hash = asciiHash(bytes, 0, bytes.length);
    const other = seen.get(hash);
    if (other) return [other, bytes];
    seen.set(hash, bytes);
  }
}

/** Short byte strings from a small alphabet (so values repeat), some with bytes past ASCII, some long. */
const value = fc.oneof(
  fc.uint8Array({ maxLength: 6 }).map((bytes) => Buffer.from(bytes.map((byte) => 0x61 + (byte % 4)))),
  fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes)),
  fc
    .string({ minLength: MAX_INTERNED_BYTES - 2, maxLength: MAX_INTERNED_BYTES + 2 })
    .map((text) => Buffer.from(text)),
);

describe('interned strings', () => {
  it('returns what the bytes decode to, one instance per value, at any offset, through resets', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(value, fc.nat(3)), { maxLength: 60 }),
        fc.integer({ min: 1, max: 8 }),
        (lookups, maxSize) => {
          const table = new InternedStrings(maxSize);
          for (const [bytes, pad] of lookups) {
            // The value inside a larger buffer, as a field inside an event.
            const framed = Buffer.concat([Buffer.alloc(pad, 0x7a), bytes, Buffer.alloc(pad, 0x7a)]);
            const text = table.of(framed, pad, pad + bytes.length);
            const ascii = bytes.every((byte) => byte < 0x80);
            if (!ascii || bytes.length > MAX_INTERNED_BYTES) {
              assert.equal(text, undefined);
              continue;
            }
            assert.equal(text, decoded(bytes));
            assert.ok(table.size <= maxSize);
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('holds one string per value: the same bytes again are found, not added', () => {
    const table = new InternedStrings();
    assert.equal(table.of(Buffer.from('xtenant-7x'), 1, 9), 'tenant-7');
    assert.equal(table.of(Buffer.from('--tenant-7'), 2, 10), 'tenant-7');
    assert.equal(table.of(Buffer.from('tenant-8'), 0, 8), 'tenant-8');
    assert.equal(table.size, 2);
  });

  it('never answers a string whose hash collides with the bytes', () => {
    const [a, b] = collidingPair();
    assert.notDeepEqual(a, b);
    assert.equal(asciiHash(a, 0, a.length), asciiHash(b, 0, b.length));
    const table = new InternedStrings();
    assert.equal(table.of(a, 0, a.length), decoded(a));
    assert.equal(table.of(b, 0, b.length), decoded(b));
    assert.equal(table.of(a, 0, a.length), decoded(a));
    assert.equal(table.of(b, 0, b.length), decoded(b));
    assert.equal(table.size, 2);
  });

  it('starts afresh when full rather than growing past its bound', () => {
    const table = new InternedStrings(100);
    for (let i = 0; i < 1_000; i++) {
      const bytes = Buffer.from(`d${i}.example`);
      assert.equal(table.of(bytes, 0, bytes.length), `d${i}.example`);
      assert.ok(table.size <= 100);
    }
  });
});
