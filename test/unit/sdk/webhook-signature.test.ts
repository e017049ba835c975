// The webhook signature: what signWebhook signs, verifyWebhook accepts, and nothing else: another body, secret or
// timestamp, a delivery outside the replay window, a malformed header.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { signWebhook, verifyWebhook } from '../../../services/sdk/webhook-signature.js';

const NOW = Date.UTC(2026, 11, 7, 6);
const seconds = Math.floor(NOW / 1000);

describe('webhook signature', () => {
  it('verifies what was signed, and refuses any change to the body, the secret or the timestamp', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 16 }),
        fc.string(),
        fc.integer({ min: -300, max: 300 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (secret, body, skew, at, flip) => {
          const header = signWebhook(secret, seconds + skew, body);
          assert.deepEqual(verifyWebhook({ secret, header, body, now: NOW }), {
            valid: true,
            timestamp: seconds + skew,
          });
          const bytes = Buffer.from(body);
          if (bytes.length > 0) {
            const i = at % bytes.length;
            bytes[i] = bytes[i]! ^ flip;
            assert.equal(verifyWebhook({ secret, header, body: bytes, now: NOW }).valid, false);
          }
          assert.equal(verifyWebhook({ secret: `${secret}x`, header, body, now: NOW }).valid, false);
          const shifted = header.replace(/^t=-?\d+/, `t=${seconds + skew + 1}`);
          assert.equal(verifyWebhook({ secret, header: shifted, body, now: NOW }).valid, false);
        },
      ),
    );
  });

  it('refuses a delivery outside the replay window, however valid its digest', () => {
    const header = signWebhook('a-secret-of-16-chars', seconds - 301, '{}');
    assert.deepEqual(verifyWebhook({ secret: 'a-secret-of-16-chars', header, body: '{}', now: NOW }), {
      valid: false,
      reason: 'expired',
    });
    assert.equal(
      verifyWebhook({ secret: 'a-secret-of-16-chars', header, body: '{}', now: NOW, toleranceSeconds: 600 })
        .valid,
      true,
    );
  });

  it('names a missing or malformed header', () => {
    const verify = (header: string | undefined) =>
      verifyWebhook({ secret: 'a-secret-of-16-chars', header, body: '{}', now: NOW });
    assert.deepEqual(verify(undefined), { valid: false, reason: 'missing' });
    for (const header of ['t=abc,v1=00', `t=${seconds}`, `v1=${'0'.repeat(64)}`, `t=${seconds},v1=XYZ`]) {
      assert.deepEqual(verify(header), { valid: false, reason: 'malformed' }, header);
    }
  });
});
