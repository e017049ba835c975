// Abuse of the admin API: guessing tokens and oversized bodies. Guesses are rate limited per client address
// whatever token they carry (so they cannot spread over fresh buckets); a body over the limit is refused with
// 413 before it is parsed, and nothing is changed or audited.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_BODY_LIMIT } from '../../services/admin/http/admin-api.js';
import { Topics } from '../../services/core/topics.js';
import { type AdminServer, bearer, startAdminApi, TOKENS } from '../support/admin-api.js';
import { type PipelineDriver, startPipeline } from '../support/pipeline-driver.js';

describe('admin API under abuse', () => {
  let driver: PipelineDriver;
  let app: AdminServer;
  before(async () => {
    driver = await startPipeline();
    app = await startAdminApi(driver, { rateLimitPerMinute: 5 });
  });
  after(async () => {
    await app.close();
    await driver.stop();
  });

  it('limits token guesses per client address, each guess with a fresh token', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const response = await app.inject({
        method: 'GET',
        url: '/v1/blocks',
        headers: bearer(`guess-${i}-0123456789abcdef`),
        remoteAddress: '203.0.113.9',
      });
      statuses.push(response.statusCode);
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429]);
    // Another address, and a valid token from the same address, are not held back by the guesser.
    const elsewhere = await app.inject({ method: 'GET', url: '/v1/blocks', remoteAddress: '203.0.113.10' });
    assert.equal(elsewhere.statusCode, 401);
    const valid = await app.inject({
      method: 'GET',
      url: '/v1/blocks',
      headers: bearer(TOKENS.operator),
      remoteAddress: '203.0.113.9',
    });
    assert.equal(valid.statusCode, 200);
  });

  it('refuses a body over the limit with 413 in the error shape, changing nothing', async () => {
    const published = () =>
      [Topics.connectors, Topics.audit].map((topic) => driver.log.records(topic).length).join('/');
    const before = published();
    const ranges = Array.from({ length: 3_000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const body = JSON.stringify({ relayPath: 'ONPREM', senderIpRanges: ranges, enabled: true });
    assert.ok(body.length > ADMIN_BODY_LIMIT);
    const response = await app.inject({
      method: 'PUT',
      url: '/v1/tenants/acme/connectors/big',
      headers: { ...bearer(TOKENS.operator), 'content-type': 'application/json' },
      payload: body,
    });
    assert.equal(response.statusCode, 413);
    assert.equal(response.json().error, 'BODY_TOO_LARGE');
    assert.match(response.json().message, new RegExp(`larger than ${ADMIN_BODY_LIMIT} bytes`));
    assert.equal(published(), before, 'nothing published or audited');
  });
});
