// `simulate --target`: the target URL is checked before anything is sent.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePolicyTarget } from '../../../services/cli/commands/simulate-policy.js';

describe('simulate --target', () => {
  it('reads policy://host:port, IPv6 in brackets', () => {
    assert.deepEqual(parsePolicyTarget('policy://127.0.0.1:10040'), { host: '127.0.0.1', port: 10040 });
    assert.deepEqual(parsePolicyTarget('policy://[::1]:10041'), { host: '::1', port: 10041 });
    assert.deepEqual(parsePolicyTarget('policy://relayguard.internal:10040'), {
      host: 'relayguard.internal',
      port: 10040,
    });
  });

  for (const target of [
    'http://127.0.0.1:10040',
    'policy://127.0.0.1',
    'policy://:10040',
    '127.0.0.1:10040',
    'policy://h:0',
  ]) {
    it(`refuses ${target}, saying what it wants`, () => {
      assert.throws(() => parsePolicyTarget(target), /--target must be policy:\/\/<host>:<port>/);
    });
  }
});
