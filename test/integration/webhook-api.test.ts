// The webhook routes of the admin API through fastify's inject(), on the embedded pipeline: an endpoint registered,
// listed and read without its secret, changed and removed; refusals in the API's terms (the field, what to fix,
// the status); the delivery log and a replay. Every role on every route: admin-api.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { Topics } from '../../services/core/topics.js';
import { type AdminServer, auditOf, bearer, startAdminApi, TOKENS } from '../support/admin-api.js';
import { type PipelineDriver, startPipeline } from '../support/pipeline-driver.js';

const SECRET = 'whsec-0123456789abcdef';
const PUBLIC_URL = 'https://93.184.215.14/hooks/relayguard';

describe('admin API: webhook endpoints', () => {
  let driver: PipelineDriver;
  let app: AdminServer;
  before(async () => {
    driver = await startPipeline({
      RELAYGUARD_WEBHOOKS: JSON.stringify([
        { id: 'pinned', url: 'https://93.184.215.15/hook', secret: SECRET },
      ]),
    });
    app = await startAdminApi(driver);
  });
  after(async () => {
    await app.close();
    await driver.stop();
  });

  async function call(options: Omit<InjectOptions, 'headers'>) {
    const response = await app.inject({ ...options, headers: bearer(TOKENS.operator) } as InjectOptions);
    return { status: response.statusCode, body: response.body === '' ? undefined : response.json() };
  }

  it('registers, lists and reads an endpoint without its secret, changes it and removes it, audited', async () => {
    const created = await call({
      method: 'POST',
      url: '/v1/webhooks',
      payload: { id: 'billing', url: PUBLIC_URL, secret: SECRET, tenants: ['acme'] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(
      [created.body.id, created.body.url, created.body.events, created.body.tenants, created.body.source],
      ['billing', PUBLIC_URL, ['blocked', 'unblocked'], ['acme'], 'api'],
    );
    const list = await call({ method: 'GET', url: '/v1/webhooks' });
    assert.deepEqual(
      list.body.endpoints.map((endpoint: { id: string; source: string }) => [endpoint.id, endpoint.source]),
      [
        ['billing', 'api'],
        ['pinned', 'environment'],
      ],
    );
    const patched = await call({
      method: 'PATCH',
      url: '/v1/webhooks/billing',
      payload: { events: ['unblocked'], tenants: null, secret: 'another-secret-0123456789' },
    });
    assert.deepEqual([patched.status, patched.body.events, patched.body.tenants], [200, ['unblocked'], null]);
    const read = await call({ method: 'GET', url: '/v1/webhooks/billing' });
    for (const answer of [created, list, patched, read]) {
      assert.ok(!JSON.stringify(answer.body).includes(SECRET), 'a secret in an answer');
      assert.ok(!JSON.stringify(answer.body).includes('another-secret'), 'a secret in an answer');
    }
    assert.equal((await call({ method: 'DELETE', url: '/v1/webhooks/billing' })).status, 204);
    assert.equal((await call({ method: 'GET', url: '/v1/webhooks/billing' })).status, 404);
    const audit = (await auditOf(driver, null)).filter((event) => event.target === 'billing');
    assert.deepEqual(
      audit.map((event) => [event.action, event.role, event.tenantId]),
      [
        ['webhook-endpoint.create', 'OPERATOR', null],
        ['webhook-endpoint.update', 'OPERATOR', null],
        ['webhook-endpoint.delete', 'OPERATOR', null],
      ],
    );
    assert.ok(!JSON.stringify(audit).includes('secret-0123'), 'a secret in the audit');
  });

  it('refuses bad input naming the field and what to fix, and publishes nothing', async () => {
    const before = driver.log.records(Topics.webhookEndpoints).length;
    const cases: [object, number, string, RegExp][] = [
      [{ url: PUBLIC_URL, secret: SECRET }, 400, 'MISSING_FIELD', /id/],
      [{ id: 'Billing!', url: PUBLIC_URL, secret: SECRET }, 400, 'INVALID_FIELD', /id.*lower-case letters/],
      [{ id: 'short', url: PUBLIC_URL, secret: 'abc' }, 400, 'INVALID_FIELD', /secret/],
      [
        { id: 'loop', url: 'http://127.0.0.1:8080/hook', secret: SECRET },
        400,
        'INVALID_FIELD',
        /^url: .*loopback.*RELAYGUARD_WEBHOOK_ALLOW_PRIVATE/,
      ],
      [
        { id: 'meta', url: 'http://169.254.169.254/latest', secret: SECRET },
        400,
        'INVALID_FIELD',
        /^url: .*linkLocal/,
      ],
      [
        { id: 'ftp', url: 'ftp://93.184.215.14/', secret: SECRET },
        400,
        'INVALID_FIELD',
        /^url: must be an http/,
      ],
      [{ id: 'ev', url: PUBLIC_URL, secret: SECRET, events: ['deleted'] }, 400, 'INVALID_FIELD', /events/],
      [{ id: 'pinned', url: PUBLIC_URL, secret: SECRET }, 409, 'ENDPOINT_CONFLICT', /RELAYGUARD_WEBHOOKS/],
      [{ id: 'x', url: PUBLIC_URL, secret: SECRET, extra: 1 }, 400, 'UNKNOWN_FIELD', /extra/],
    ];
    for (const [payload, status, error, message] of cases) {
      const answer = await call({ method: 'POST', url: '/v1/webhooks', payload });
      const label = `${JSON.stringify(payload)} -> ${answer.status} ${JSON.stringify(answer.body)}`;
      assert.deepEqual([answer.status, answer.body.error], [status, error], label);
      assert.match(answer.body.message, message, label);
      assert.ok(!answer.body.message.includes('abc"'), label);
    }
    const replay = await call({
      method: 'POST',
      url: '/v1/webhooks/pinned/replays',
      payload: { from: 'block-events', since: 'yesterday' },
    });
    assert.deepEqual([replay.status, replay.body.error, replay.body.field], [400, 'INVALID_FIELD', 'since']);
    assert.equal(
      (await call({ method: 'PATCH', url: '/v1/webhooks/pinned', payload: { events: ['blocked'] } })).status,
      409,
    );
    assert.equal(driver.log.records(Topics.webhookEndpoints).length, before);
  });

  it('shows the delivery log and replays an endpoint’s dead letters', async () => {
    await call({
      method: 'POST',
      url: '/v1/webhooks',
      payload: { id: 'notify', url: PUBLIC_URL, secret: SECRET },
    });
    const log = await call({ method: 'GET', url: '/v1/webhooks/notify/deliveries?limit=5' });
    assert.deepEqual(log, {
      status: 200,
      body: { endpointId: 'notify', deliveries: [], truncated: false, caughtUp: true },
    });
    const replay = await call({
      method: 'POST',
      url: '/v1/webhooks/notify/replays',
      payload: { from: 'dead-letters' },
    });
    assert.equal(replay.status, 202);
    assert.deepEqual(
      [replay.body.endpointId, replay.body.from, replay.body.events],
      ['notify', 'dead-letters', 0],
    );
    assert.equal((await call({ method: 'GET', url: '/v1/webhooks/nowhere/deliveries' })).status, 404);
  });
});
