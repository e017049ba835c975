// A RelayguardError is told by its brand: across copies of the module (a subscriber's bundle may carry its own),
// where `instanceof` fails, and never by an error that only calls itself so.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRelayguardError, RelayguardError } from '../../../services/core/errors.js';

describe('isRelayguardError', () => {
  it('knows a RelayguardError from another copy of the module', async () => {
    const copy = (await import(
      new URL('../../../services/core/errors.ts?another-copy', import.meta.url).href
    )) as typeof import('../../../services/core/errors.js');
    const error = new copy.RelayguardError('NOT_FOUND', 'no such connector');
    assert.equal(error instanceof RelayguardError, false, 'a second copy of the class');
    assert.equal(isRelayguardError(error), true);
    assert.equal(isRelayguardError(new RelayguardError('UNKNOWN_TENANT', 'no tenant')), true);
  });

  it('does not take an error that only has the name for one', () => {
    const impostor = Object.assign(new Error('refused'), { name: 'RelayguardError', code: 'NOT_FOUND' });
    assert.equal(isRelayguardError(impostor), false);
    for (const other of [new Error('x'), null, undefined, 'RelayguardError', { name: 'RelayguardError' }]) {
      assert.equal(isRelayguardError(other), false);
    }
  });
});
