// POST /v1/decisions on the service's HTTP server (fastify inject, no socket), in front of the embedded pipeline:
// answers, validation, and the bearer tokens it shares with the admin API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decisionApi } from '../../services/enforcer/decision-api.js';
import { createHttpServer, type HttpServer } from '../../services/platform/http-server.js';
import { silentLogger } from '../../services/platform/logger.js';
import { API_TOKENS, bearer, startAdminApi, TOKENS } from '../support/admin-api.js';
import { messageSubmitted } from '../support/builders.js';
import { blockAfter, exampleTenant, metricValue, onboard } from '../support/enforcement.js';
import { type PipelineDriver, startPipeline } from '../support/pipeline-driver.js';

describe('HTTP decision API', () => {
  let driver: PipelineDriver;
  let http: Awaited<HttpServer>;

  /** The decision API on a server of its own: `guesses` without a valid token, `perToken` for each token. */
  const startDecisionApi = async (guesses = 10_000, perToken = 10_000) => {
    const { runtime } = driver;
    const server = createHttpServer({
      logger: silentLogger,
      metrics: runtime.metrics,
      isReady: () => true,
      failedTokensPerMinute: guesses,
    });
    await server.register(decisionApi, {
      enforcer: runtime.enforcer!,
      metrics: runtime.metrics,
      tokens: API_TOKENS,
      rateLimitPerMinute: perToken,
    });
    return server;
  };

  before(async () => {
    driver = await startPipeline();
    const { runtime } = driver;
    await onboard(driver, exampleTenant('acme', '198.51.100.0/24', blockAfter(2)));
    await onboard(driver, exampleTenant('other', '203.0.113.0/24'));
    await driver.publish(
      [1, 2].map((i) =>
        messageSubmitted({
          tenantId: 'acme',
          occurredAt: driver.clock.now(),
          envelopeSenderDomain: `spam${i}.example`,
          connectorId: 'acme-connector',
        }),
      ),
    );
    await driver.settle();
    assert.ok(runtime.directory.tenant('acme')?.block, 'acme is blocked');
    http = await startDecisionApi();
  });
  after(async () => {
    await http.close();
    await driver.stop();
  });

  const decide = (payload: unknown, token: string = TOKENS.relay, server = http) =>
    server.inject({
      method: 'POST',
      url: '/v1/decisions',
      headers: bearer(token),
      payload: payload as object,
    });
  const QUESTION = { tenantId: 'acme', sender: 'it@acme.example' };

  const refused = (status: number) =>
    metricValue(driver, 'relayguard_decision_requests_refused_total', { status_code: String(status) });

  it('answers relay and operator tokens; refuses the other roles with 403, counted', async () => {
    const forbiddenBefore = await refused(403);
    assert.equal((await decide(QUESTION, TOKENS.relay)).statusCode, 200);
    assert.equal((await decide(QUESTION, TOKENS.operator)).statusCode, 200);
    for (const token of [TOKENS.reader, TOKENS.acmeAdmin]) {
      const response = await decide(QUESTION, token);
      assert.equal(response.statusCode, 403);
      assert.equal(response.json().error, 'FORBIDDEN');
      assert.match(response.json().message, /token may not ask for decisions; use a relay token/);
    }
    assert.equal(await refused(403), forbiddenBefore + 2);
  });

  it('refuses a missing, unknown or malformed token with 401, in the admin API shape', async () => {
    const admin = await startAdminApi(driver);
    try {
      const unauthenticatedBefore = await refused(401);
      const adminRefusal = await admin.inject({ method: 'GET', url: '/v1/tenants/acme/policy' });
      assert.equal(adminRefusal.statusCode, 401);
      for (const headers of [
        {},
        bearer('not-a-configured-token-at-all'),
        { authorization: `Basic ${TOKENS.relay}` },
        { authorization: `Bearer ${TOKENS.relay.slice(0, -1)}` },
      ]) {
        const response = await http.inject({
          method: 'POST',
          url: '/v1/decisions',
          headers,
          payload: QUESTION,
        });
        assert.equal(response.statusCode, 401, JSON.stringify(headers));
        assert.deepEqual(response.json(), adminRefusal.json());
        assert.equal(response.headers['www-authenticate'], adminRefusal.headers['www-authenticate']);
      }
      assert.equal(await refused(401), unauthenticatedBefore + 4, 'each counted');
    } finally {
      await admin.close();
    }
  });

  it('answers a 401 before validating the body: an unauthenticated caller learns nothing of the API', async () => {
    const response = await decide({ sendr: 'x' }, 'not-a-configured-token-at-all');
    assert.equal(response.statusCode, 401);
  });

  it('limits guesses per client address, apart from the valid tokens', async () => {
    const limited = await startDecisionApi(3);
    const limitedBefore = await refused(429);
    try {
      for (let i = 0; i < 3; i++) {
        assert.equal((await decide(QUESTION, `guess-${i}-0123456789abcdef`, limited)).statusCode, 401);
      }
      const overLimit = await decide(QUESTION, TOKENS.relay.replace('relay', 'relai'), limited);
      assert.equal(overLimit.statusCode, 429);
      assert.equal(overLimit.json().error, 'RATE_LIMITED');
      assert.equal(overLimit.headers['retry-after'], '60');
      assert.equal(await refused(429), limitedBefore + 1, 'the 429 counted');
      // A relay's valid token asks for every message: beyond the guessing budget, on a budget of its own.
      for (let i = 0; i < 10; i++) {
        assert.equal((await decide(QUESTION, TOKENS.relay, limited)).statusCode, 200);
      }
    } finally {
      await limited.close();
    }
  });

  it('limits each relay token on its own budget (RELAYGUARD_RELAY_RATE_LIMIT_PER_MINUTE)', async () => {
    const limited = await startDecisionApi(10_000, 5);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await decide(QUESTION, TOKENS.relay, limited)).statusCode);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
      const overLimit = await decide(QUESTION, TOKENS.relay, limited);
      assert.equal(overLimit.json().error, 'RATE_LIMITED');
      assert.match(overLimit.json().message, /at most 5 requests a minute/);
      assert.equal(overLimit.headers['retry-after'], '60');
      // Another token has its own budget.
      assert.equal((await decide(QUESTION, TOKENS.operator, limited)).statusCode, 200);
    } finally {
      await limited.close();
    }
  });

  it('shares one guessing budget with the admin API on the same server', async () => {
    const server = await startAdminApi(driver, { rateLimitPerMinute: 5, decisions: true });
    try {
      const guess = (i: number) => bearer(`guess-${i}-7d1c9e3a5f0b2846`);
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const admin = await server.inject({ method: 'GET', url: '/v1/blocks', headers: guess(i) });
        statuses.push(admin.statusCode);
        statuses.push((await decide(QUESTION, `guess-${i}-2b8e4f6a0c9d1357`, server)).statusCode);
      }
      // Five guesses in all, whichever API they went to; the sixth is refused.
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    } finally {
      await server.close();
    }
  });

  it('refuses every request when no token is configured', async () => {
    const { runtime } = driver;
    const closed = createHttpServer({ logger: silentLogger, metrics: runtime.metrics, isReady: () => true });
    await closed.register(decisionApi, {
      enforcer: runtime.enforcer!,
      metrics: runtime.metrics,
      tokens: [],
      rateLimitPerMinute: 10_000,
    });
    try {
      assert.equal((await decide(QUESTION, TOKENS.relay, closed)).statusCode, 401);
    } finally {
      await closed.close();
    }
  });

  it('rejects a blocked tenant unregistered sender, naming the action, codes and text', async () => {
    const response = await decide({ clientAddress: '198.51.100.7', sender: 'promo@spam-sender.example' });
    assert.equal(response.statusCode, 200);
    const body = response.json();
    assert.deepEqual(
      { ...body, blockId: typeof body.blockId },
      {
        action: 'REJECT',
        smtpCode: 550,
        enhancedCode: '5.7.750',
        text: 'Service unavailable. Client blocked from sending from unregistered domains',
        reason: 'blocked-unregistered-sender',
        tenantId: 'acme',
        connectorId: 'acme-connector',
        blockId: 'string',
        scope: 'TENANT',
      },
    );
  });

  it('accepts registered senders, bounces by header From, other tenants, and unknown clients', async () => {
    const cases = [
      [{ tenantId: 'acme', sender: 'it@mail.acme.example' }, 'registered-domain', 'acme'],
      [{ tenantId: 'acme', sender: '', headerFrom: 'it@acme.example' }, 'registered-domain', 'acme'],
      [{ tenantId: 'acme', sender: '' }, 'null-sender', 'acme'],
      [{ clientAddress: '203.0.113.5', sender: 'promo@spam-sender.example' }, 'not-blocked', 'other'],
      [{ clientAddress: '192.0.2.99', sender: 'promo@spam-sender.example' }, 'unknown-client', null],
    ] as const;
    for (const [payload, reason, tenantId] of cases) {
      const response = await decide(payload);
      assert.equal(response.statusCode, 200, JSON.stringify(payload));
      assert.deepEqual(
        [response.json().action, response.json().reason, response.json().tenantId, response.json().smtpCode],
        ['ACCEPT', reason, tenantId, null],
        JSON.stringify(payload),
      );
    }
  });

  it("answers bad input with 400, the admin API's codes, and a message that says what to fix", async () => {
    const cases = [
      [{ clientAddress: '198.51.100.7' }, 'MISSING_FIELD', /^sender: required/],
      [
        { sender: 'a@b.example' },
        'MISSING_FIELD',
        /^body: name the tenant with tenantId, or give clientAddress or certificateDomain/,
      ],
      [
        { tenantId: 'acme', sender: 'a@b.example', sendr: 'x' },
        'UNKNOWN_FIELD',
        /^sendr: not a known field; remove it \(allowed: tenantId, clientAddress/,
      ],
      [{ tenantId: 'acme', sender: 'no-domain' }, 'INVALID_DOMAIN', /sender: expected local@domain/],
      [
        { tenantId: 'acme', sender: 'a@b.example', headerFrom: 'x@-bad-.example' },
        'INVALID_DOMAIN',
        /headerFrom: label/,
      ],
      [
        { clientAddress: '300.1.2.3', sender: 'a@b.example' },
        'INVALID_ADDRESS',
        /clientAddress: "300.1.2.3" is not an IP address/,
      ],
      [{ tenantId: '', sender: 'a@b.example' }, 'INVALID_FIELD', /^tenantId: must not be empty/],
      [{ tenantId: 'acme', sender: { address: 'a@b.example' } }, 'INVALID_FIELD', /^sender: must be string/],
    ] as const;
    for (const [payload, code, message] of cases) {
      const response = await decide(payload);
      assert.equal(response.statusCode, 400, JSON.stringify(payload));
      assert.equal(response.json().error, code, JSON.stringify(payload));
      assert.match(response.json().message, message, JSON.stringify(payload));
    }
    const notJson = await http.inject({
      method: 'POST',
      url: '/v1/decisions',
      headers: { 'content-type': 'application/json', ...bearer(TOKENS.relay) },
      payload: '{"sender":',
    });
    assert.deepEqual([notJson.statusCode, notJson.json().error], [400, 'INVALID_FIELD']);
    // A form or text body gets the admin API's 415, in the shape docs/admin-api.md gives.
    for (const type of ['application/x-www-form-urlencoded', 'text/plain']) {
      const form = await http.inject({
        method: 'POST',
        url: '/v1/decisions',
        headers: { 'content-type': type, ...bearer(TOKENS.relay) },
        payload: 'tenantId=acme&sender=a@b.example',
      });
      assert.equal(form.statusCode, 415, type);
      assert.equal(form.json().error, 'UNSUPPORTED_MEDIA_TYPE', type);
    }
  });

  it('answers an unknown route with JSON naming it, not the framework page', async () => {
    const response = await http.inject({ method: 'GET', url: '/' });
    assert.equal(response.statusCode, 404);
    assert.deepEqual(response.json(), {
      error: 'NOT_FOUND',
      message: 'no route GET /; /openapi.json lists the routes',
    });
  });

  it('is documented in /openapi.json from the same schemas', async () => {
    const doc = (await http.inject({ method: 'GET', url: '/openapi.json' })).json();
    const operation = doc.paths['/v1/decisions'].post;
    assert.deepEqual(operation.tags, ['decisions']);
    assert.equal(operation.requestBody.content['application/json'].schema.additionalProperties, false);
    for (const status of ['200', '400', '401', '403', '429']) assert.ok(operation.responses[status], status);
    assert.deepEqual(operation.security, [{ bearer: [] }]);
  });

  it('counts decisions and their duration under stage "http"', async () => {
    const metrics = await driver.runtime.metrics.registry.getSingleMetricAsString(
      'relayguard_decisions_total',
    );
    assert.match(metrics, /relayguard_decisions_total\{stage="http",action="REJECT"\} [1-9]/);
    const duration = await driver.runtime.metrics.registry.getSingleMetricAsString(
      'relayguard_policy_request_duration_seconds',
    );
    assert.match(duration, /relayguard_policy_request_duration_seconds_count\{stage="http"\} [1-9]/);
  });
});
