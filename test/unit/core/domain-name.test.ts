import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { domainOfAddress, isNormalForm, normalizeDomain } from '../../../services/core/domain-name.js';
import { isRelayguardError } from '../../../services/core/errors.js';

function rejects(input: string, pattern: RegExp) {
  assert.throws(
    () => normalizeDomain(input),
    (error) => isRelayguardError(error) && error.code === 'INVALID_DOMAIN' && pattern.test(error.message),
  );
}

describe('normalizeDomain', () => {
  it('lower-cases, strips one trailing dot and converts IDN to punycode', () => {
    assert.equal(normalizeDomain('Example.COM.'), 'example.com');
    assert.equal(normalizeDomain('bücher.example'), 'xn--bcher-kva.example');
    assert.equal(normalizeDomain('BÜCHER.example'), 'xn--bcher-kva.example');
    assert.equal(normalizeDomain('xn--bcher-kva.example'), 'xn--bcher-kva.example');
  });

  it('rejects what is not a domain name, saying why', () => {
    rejects('', /empty/);
    rejects('localhost', /at least two labels/);
    rejects('a..example', /label ""/);
    rejects('-bad.example', /hyphen/);
    rejects('under_score.example', /letters, digits or hyphens/);
    rejects(`${'a'.repeat(64)}.example`, /1-63/);
    rejects(`${'a.'.repeat(127)}example`, /at most 253/);
    rejects('192.0.2.1', /all-numeric/);
    rejects('example..', /label ""/);
  });

  it('is idempotent and its output is always a valid LDH name', () => {
    fc.assert(
      fc.property(fc.domain(), (domain) => {
        const once = normalizeDomain(domain);
        assert.equal(normalizeDomain(once), once);
        assert.match(once, /^[a-z0-9.-]+$/);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but an INVALID_DOMAIN error on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (input) => {
        try {
          normalizeDomain(input);
        } catch (error) {
          assert.ok(isRelayguardError(error) && error.code === 'INVALID_DOMAIN', String(error));
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('isNormalForm (the shortcut past normalization)', () => {
  // Names near the edges: case, digits, hyphens, empty and long labels, A-labels, dots and spaces.
  const char = fc.constantFrom('a', 'z', 'Q', '0', '9', '-', '.', '.', 'x', 'n', ' ', '_', 'é');
  const name = fc.oneof(
    fc.domain(),
    fc.string({ unit: char, maxLength: 20 }),
    fc
      .tuple(fc.constantFrom('a', '1', '-', 'xn--', 'ab-'), fc.integer({ min: 60, max: 66 }))
      .map(([unit, n]) => `${unit.repeat(n).slice(0, n)}.example`),
  );

  it('holds exactly for the names normalization returns unchanged (A-labels excepted)', () => {
    fc.assert(
      fc.property(name, (input) => {
        let unchanged = false;
        try {
          // A trailing dot keeps the name off the shortcut: the full normalization runs (and strips it).
          unchanged = normalizeDomain(`${input}.`) === input;
        } catch {}
        const aLabel = /(^|\.)xn--/i.test(input);
        assert.equal(isNormalForm(input), unchanged && !aLabel, input);
      }),
      { numRuns: 5000 },
    );
  });

  it('takes the limits as normalization does', () => {
    assert.ok(isNormalForm(`${'a'.repeat(63)}.example`));
    assert.ok(!isNormalForm(`${'a'.repeat(64)}.example`));
    assert.ok(isNormalForm(`${'a.'.repeat(125)}abc`));
    assert.ok(!isNormalForm(`${'a.'.repeat(126)}ab`));
    assert.ok(isNormalForm('192.0.2.x1'));
    assert.ok(!isNormalForm('192.0.2.1'));
    assert.ok(!isNormalForm('xn--bcher-kva.example'));
    assert.ok(!isNormalForm('example.com.'));
  });
});

describe('domainOfAddress', () => {
  it('returns null for the null sender and the normalized domain otherwise', () => {
    assert.equal(domainOfAddress('<>'), null);
    assert.equal(domainOfAddress(''), null);
    assert.equal(domainOfAddress('<Joe@Bücher.Example>'), 'xn--bcher-kva.example');
    assert.equal(domainOfAddress('"odd@local"@example.org'), 'example.org');
  });

  it('does not quote the local part in its errors', () => {
    assert.throws(
      () => domainOfAddress('secret-person@'),
      (error) => isRelayguardError(error) && !error.message.includes('secret-person'),
    );
  });
});
