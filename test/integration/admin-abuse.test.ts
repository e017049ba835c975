// Abuse of the admin API: guessing tokens, oversized bodies and query parameters no route takes. Guesses are rate limited per client address
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

describe('admin and decision APIs: query parameters', () => {
  let driver: PipelineDriver;
  let app: AdminServer;
  before(async () => {
    driver = await startPipeline();
    app = await startAdminApi(driver, { decisions: true });
  });
  after(async () => {
    await app.close();
    await driver.stop();
  });

  it('refuses a parameter the route does not take with a 400 naming it, and only after the token check', async () => {
    const requests = [
      { method: 'GET', url: '/v1/tenants/acme/status?verbose=1', headers: bearer(TOKENS.operator) },
      {
        method: 'POST',
        url: '/v1/decisions?dryRun=true',
        headers: bearer(TOKENS.relay),
        payload: { tenantId: 'acme', sender: 'it@acme.example' },
      },
    ] as const;
    for (const request of requests) {
      const refused = await app.inject(request);
      assert.equal(refused.statusCode, 400, request.url);
      const name = request.url.split('?')[1]!.split('=')[0]!;
      assert.deepEqual(
        { error: refused.json().error, field: refused.json().field },
        { error: 'UNKNOWN_FIELD', field: name },
      );
      assert.match(refused.json().message, new RegExp(`^${name}: not a known query parameter`));
      const anonymous = await app.inject({ ...request, headers: {} });
      assert.equal(anonymous.statusCode, 401, 'an unauthenticated caller learns nothing of the parameters');
      const without = await app.inject({ ...request, url: request.url.split('?')[0]! });
      assert.notEqual(without.statusCode, 400, `${request.url} without its parameter`);
    }
  });
});
