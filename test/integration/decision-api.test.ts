// POST /v1/decisions on the service's HTTP server (fastify inject, no socket), in front of the embedded pipeline.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decisionApi } from '../../services/enforcer/decision-api.js';
import { createHttpServer, type HttpServer } from '../../services/platform/http-server.js';
import { silentLogger } from '../../services/platform/logger.js';
import { messageSubmitted } from '../support/builders.js';
import { blockAfter, onboard } from '../support/enforcement.js';
import { type PipelineDriver, startPipeline } from '../support/pipeline-driver.js';

describe('HTTP decision API', () => {
  let driver: PipelineDriver;
  let http: HttpServer;

  before(async () => {
    driver = await startPipeline();
    const { runtime } = driver;
    await onboard(driver, {
      tenantId: 'acme',
      acceptedDomain: 'acme.example',
      senderIpRange: '198.51.100.0/24',
      policy: blockAfter(2),
    });
    await onboard(driver, {
      tenantId: 'other',
      acceptedDomain: 'other.example',
      senderIpRange: '203.0.113.0/24',
    });
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
    http = createHttpServer({ logger: silentLogger, metrics: runtime.metrics, isReady: () => true });
    await http.register(decisionApi, { enforcer: runtime.enforcer!, metrics: runtime.metrics });
  });
  after(async () => {
    await http.close();
    await driver.stop();
  });

  const decide = (payload: unknown) =>
    http.inject({ method: 'POST', url: '/v1/decisions', payload: payload as object });

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

  it('answers bad input with 400 and a message that says what to fix', async () => {
    const cases = [
      [{ clientAddress: '198.51.100.7' }, /body\.sender: required/],
      [
        { sender: 'a@b.example' },
        /name the tenant with tenantId, or give clientAddress or certificateDomain/,
      ],
      [{ tenantId: 'acme', sender: 'a@b.example', sendr: 'x' }, /body\.sendr: unknown field; the fields are/],
      [{ tenantId: 'acme', sender: 'no-domain' }, /sender: expected local@domain/],
      [{ tenantId: 'acme', sender: 'a@b.example', headerFrom: 'x@-bad-.example' }, /headerFrom: label/],
      [
        { clientAddress: '300.1.2.3', sender: 'a@b.example' },
        /clientAddress: "300.1.2.3" is not an IP address/,
      ],
      [{ tenantId: '', sender: 'a@b.example' }, /body\.tenantId: must not be empty/],
      [{ tenantId: 'acme', sender: { address: 'a@b.example' } }, /body\.sender: must be a string/],
    ] as const;
    for (const [payload, message] of cases) {
      const response = await decide(payload);
      assert.equal(response.statusCode, 400, JSON.stringify(payload));
      assert.match(response.json().message, message, JSON.stringify(payload));
    }
    const notJson = await http.inject({
      method: 'POST',
      url: '/v1/decisions',
      headers: { 'content-type': 'application/json' },
      payload: '{"sender":',
    });
    assert.equal(notJson.statusCode, 400);
  });

  it('is documented in /openapi.json from the same schemas', async () => {
    const doc = (await http.inject({ method: 'GET', url: '/openapi.json' })).json();
    const operation = doc.paths['/v1/decisions'].post;
    assert.deepEqual(operation.tags, ['decisions']);
    assert.equal(operation.requestBody.content['application/json'].schema.additionalProperties, false);
    assert.ok(operation.responses['200'] && operation.responses['400']);
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
