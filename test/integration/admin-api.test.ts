// The admin API through fastify's inject(): every route for every role, every validation error with a message
// that says what to fix, IDN in both forms, pagination, the self-service unblock, rate limiting, OpenAPI and
// the request metrics. The pipeline underneath is the real embedded one.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { Topics } from '../../services/core/topics.js';
import {
  type AdminServer,
  ATTESTED,
  auditOf,
  bearer,
  floodUnregistered,
  startAdminApi,
  TOKENS,
} from '../support/admin-api.js';
import { onpremConnector } from '../support/builders.js';
import { OPERATOR, type PipelineDriver, startPipeline } from '../support/pipeline-driver.js';

const START = Date.UTC(2026, 10, 28, 9);
const DAY = 86_400_000;

async function setup(): Promise<{ driver: PipelineDriver; app: AdminServer }> {
  const driver = await startPipeline({}, START);
  return { driver, app: await startAdminApi(driver) };
}

async function call(app: AdminServer, options: InjectOptions) {
  const response = await app.inject(options);
  return { status: response.statusCode, body: response.body === '' ? undefined : response.json(), response };
}

/** acme's admin saves acme's connector acme-hq with these settings. */
const saveAcmeHq = (app: AdminServer, payload: object) =>
  call(app, {
    method: 'PUT',
    url: '/v1/tenants/acme/connectors/acme-hq',
    headers: bearer(TOKENS.acmeAdmin),
    payload,
  });

/** acme's admin lifts acme's block itself. */
const selfServiceUnblock = (app: AdminServer, payload: object) =>
  call(app, {
    method: 'POST',
    url: '/v1/tenants/acme/self-service-unblock',
    headers: bearer(TOKENS.acmeAdmin),
    payload,
  });

/** acme's status as acme's admin reads it. */
const acmeStatus = async (app: AdminServer) =>
  (await call(app, { method: 'GET', url: '/v1/tenants/acme/status', headers: bearer(TOKENS.acmeAdmin) }))
    .body;

describe('admin API: every route for every role', () => {
  let driver: PipelineDriver;
  let app: AdminServer;
  before(async () => {
    ({ driver, app } = await setup());
    const admin = driver.runtime.admin!;
    for (const tenant of ['acme', 'globex'])
      await admin.putAcceptedDomain(OPERATOR, tenant, `${tenant}.example`, false);
  });
  after(async () => {
    await app.close();
    await driver.stop();
  });

  type Access = 'tenant-read' | 'tenant-write' | 'operator' | 'global-read' | 'session';
  const routes: { method: InjectOptions['method']; url: string; payload?: object; access: Access }[] = [
    {
      method: 'PUT',
      url: '/v1/tenants/acme/accepted-domains/new.example',
      payload: { matchSubdomains: false },
      access: 'tenant-write',
    },
    { method: 'DELETE', url: '/v1/tenants/acme/accepted-domains/new.example', access: 'tenant-write' },
    { method: 'GET', url: '/v1/tenants/acme/accepted-domains', access: 'tenant-read' },
    {
      method: 'PUT',
      url: '/v1/tenants/acme/connectors/hq',
      payload: { relayPath: 'ONPREM', senderIpRanges: ['192.0.2.0/24'], enabled: true },
      access: 'tenant-write',
    },
    { method: 'GET', url: '/v1/tenants/acme/connectors', access: 'tenant-read' },
    { method: 'GET', url: '/v1/tenants/acme/connectors/review', access: 'tenant-read' },
    { method: 'DELETE', url: '/v1/tenants/acme/connectors/hq', access: 'tenant-write' },
    { method: 'GET', url: '/v1/tenants/acme/status', access: 'tenant-read' },
    {
      method: 'POST',
      url: '/v1/tenants/acme/unblock',
      payload: { ticket: 'SUP-1', attestations: ATTESTED },
      access: 'operator',
    },
    {
      method: 'POST',
      url: '/v1/tenants/acme/self-service-unblock',
      payload: { attestations: ATTESTED },
      access: 'tenant-write',
    },
    { method: 'GET', url: '/v1/blocks', access: 'global-read' },
    { method: 'GET', url: '/v1/tenants/acme/policy', access: 'tenant-read' },
    { method: 'PUT', url: '/v1/tenants/acme/policy', payload: {}, access: 'operator' },
    { method: 'GET', url: '/v1/session', access: 'session' },
    { method: 'GET', url: '/v1/tenants/acme/window', access: 'tenant-read' },
    { method: 'GET', url: '/v1/tenants/acme/history', access: 'tenant-read' },
    { method: 'GET', url: '/v1/tenants/acme/audit', access: 'tenant-read' },
    { method: 'GET', url: '/v1/tenants/acme/policy/preview', access: 'tenant-read' },
    { method: 'GET', url: '/v1/webhooks', access: 'operator' },
    {
      method: 'POST',
      url: '/v1/webhooks',
      payload: { id: 'ops', url: 'https://93.184.215.14/hook', secret: 'whsec-0123456789abcdef' },
      access: 'operator',
    },
    { method: 'GET', url: '/v1/webhooks/ops', access: 'operator' },
    { method: 'PATCH', url: '/v1/webhooks/ops', payload: { events: ['blocked'] }, access: 'operator' },
    { method: 'GET', url: '/v1/webhooks/ops/deliveries', access: 'operator' },
    {
      method: 'POST',
      url: '/v1/webhooks/ops/replays',
      payload: { from: 'dead-letters' },
      access: 'operator',
    },
    { method: 'DELETE', url: '/v1/webhooks/ops', access: 'operator' },
  ];
  const roles: { name: string; headers: Record<string, string>; may: (access: Access) => boolean | 401 }[] = [
    { name: 'operator', headers: bearer(TOKENS.operator), may: () => true },
    {
      name: 'reader',
      headers: bearer(TOKENS.reader),
      may: (a) => a === 'tenant-read' || a === 'global-read' || a === 'session',
    },
    {
      name: 'tenant-admin of acme',
      headers: bearer(TOKENS.acmeAdmin),
      may: (a) => a === 'tenant-read' || a === 'tenant-write' || a === 'session',
    },
    {
      name: 'tenant-admin of globex',
      headers: bearer(TOKENS.globexAdmin),
      may: (a) => a === 'session',
    },
    { name: 'relay', headers: bearer(TOKENS.relay), may: () => false },
    { name: 'no token', headers: {}, may: () => 401 },
    { name: 'a bad token', headers: bearer('not-a-configured-token-at-all'), may: () => 401 },
    { name: 'a malformed header', headers: { authorization: `Basic ${TOKENS.operator}` }, may: () => 401 },
  ];

  for (const role of roles) {
    it(`answers ${role.name} on every route`, async () => {
      for (const route of routes) {
        const auditBefore = driver.log.records(Topics.audit).length;
        const { status, body, response } = await call(app, { ...route, headers: role.headers });
        const label = `${role.name}: ${route.method} ${route.url} -> ${status} ${JSON.stringify(body)}`;
        const may = role.may(route.access);
        if (may === 401) {
          assert.equal(status, 401, label);
          assert.equal(body.error, 'UNAUTHENTICATED', label);
          assert.match(response.headers['www-authenticate'] as string, /^Bearer/);
        } else if (may) {
          // Allowed: answered by the service (success, or its own refusal such as 409 NOT_BLOCKED), never 401/403.
          assert.ok(status < 500 && status !== 401 && status !== 403, label);
        } else {
          assert.equal(status, 403, label);
          assert.equal(body.error, 'FORBIDDEN', label);
          assert.match(
            body.message,
            /manages tenant globex only|only an operator|may only read|operator or reader|only ask for decisions/,
            label,
          );
        }
        if (may !== true)
          assert.equal(
            driver.log.records(Topics.audit).length,
            auditBefore,
            `${label}: refused, yet audited`,
          );
      }
    });
  }

  it('lets a tenant admin manage its own tenant, and names the tenant when refusing another', async () => {
    const own = await call(app, {
      method: 'PUT',
      url: '/v1/tenants/acme/accepted-domains/mine.example',
      headers: bearer(TOKENS.acmeAdmin),
      payload: { matchSubdomains: true },
    });
    assert.equal(own.status, 201);
    const other = await call(app, {
      method: 'PUT',
      url: '/v1/tenants/globex/accepted-domains/mine.example',
      headers: bearer(TOKENS.acmeAdmin),
      payload: { matchSubdomains: true },
    });
    assert.equal(other.status, 403);
    assert.equal(other.body.message, 'this token manages tenant acme only, not globex');
    assert.equal(driver.runtime.directory.acceptedDomain('globex', 'mine.example'), undefined);
    const [audit] = (await auditOf(driver, 'acme')).filter((event) => event.target === 'mine.example');
    assert.equal(audit!.actor, `tenant-admin:acme#${sha6(TOKENS.acmeAdmin)}`);
    assert.equal(audit!.role, 'TENANT_ADMIN');
  });
});

describe('admin API: validation errors say what to fix', () => {
  let driver: PipelineDriver;
  let app: AdminServer;
  const headers = bearer(TOKENS.operator);
  before(async () => {
    ({ driver, app } = await setup());
    await driver.runtime.admin!.putConnector(
      OPERATOR,
      'globex',
      'globex-hq',
      onpremConnector('198.51.100.0/24'),
    );
  });
  after(async () => {
    await app.close();
    await driver.stop();
  });

  const connector = (overrides: object) => ({
    method: 'PUT' as const,
    url: '/v1/tenants/acme/connectors/edge',
    payload: { relayPath: 'ONPREM', senderIpRanges: ['192.0.2.0/24'], enabled: true, ...overrides },
  });
  /** A domain put whose body is sent as written, with this Content-Type. */
  const rawDomainPut = (payload: string, contentType: string) => ({
    method: 'PUT' as const,
    url: '/v1/tenants/acme/accepted-domains/ok.example',
    payload,
    headers: { 'content-type': contentType },
  });
  const domainPut = (domain: string, payload: unknown = { matchSubdomains: false }) => ({
    method: 'PUT' as const,
    url: `/v1/tenants/acme/accepted-domains/${encodeURIComponent(domain)}`,
    payload: payload as object,
  });
  const cases: {
    name: string;
    request: InjectOptions;
    status: number;
    error: string;
    field?: string;
    message: RegExp;
  }[] = [
    {
      name: 'empty domain label',
      request: domainPut('bad..example'),
      status: 400,
      error: 'INVALID_DOMAIN',
      field: 'domain',
      message: /label "" .* must be 1-63 letters, digits or hyphens/,
    },
    {
      name: 'leading hyphen',
      request: domainPut('-bad.example'),
      status: 400,
      error: 'INVALID_DOMAIN',
      field: 'domain',
      message: /not starting or ending with a hyphen/,
    },
    {
      name: 'single label',
      request: domainPut('localhost'),
      status: 400,
      error: 'INVALID_DOMAIN',
      field: 'domain',
      message: /needs at least two labels \(like example.com\)/,
    },
    {
      name: 'label over 63',
      request: domainPut(`${'a'.repeat(64)}.example`),
      status: 400,
      error: 'INVALID_DOMAIN',
      field: 'domain',
      message: /1-63 letters/,
    },
    {
      name: 'space in a domain',
      request: domainPut('exa mple.com'),
      status: 400,
      error: 'INVALID_DOMAIN',
      field: 'domain',
      message: /letters, digits or hyphens/,
    },
    {
      name: 'numeric top-level label',
      request: domainPut('192.0.2.1'),
      status: 400,
      error: 'INVALID_DOMAIN',
      field: 'domain',
      message: /all-numeric top-level label/,
    },
    {
      name: 'invalid IDN',
      request: domainPut('xn--a.example'),
      status: 400,
      error: 'INVALID_DOMAIN',
      field: 'domain',
      message: /not a valid internationalized domain name/,
    },
    {
      name: 'certificate domain',
      request: connector({ tlsCertificateDomain: 'no_underscores.example' }),
      status: 400,
      error: 'INVALID_DOMAIN',
      field: 'tlsCertificateDomain',
      message: /^tlsCertificateDomain: label "no_underscores"/,
    },
    {
      name: 'prefix over 32',
      request: connector({ senderIpRanges: ['192.0.2.0/24', '10.0.0.0/33'] }),
      status: 400,
      error: 'INVALID_ADDRESS',
      field: 'senderIpRanges[1]',
      message: /senderIpRanges\[1\]: "10.0.0.0\/33" is not a CIDR range like 192.0.2.0\/24/,
    },
    {
      name: 'octet over 255',
      request: connector({ senderIpRanges: ['300.1.1.0/24'] }),
      status: 400,
      error: 'INVALID_ADDRESS',
      field: 'senderIpRanges[0]',
      message: /is not a CIDR range/,
    },
    {
      name: 'IPv6 prefix over 128',
      request: connector({ senderIpRanges: ['2001:db8::/129'] }),
      status: 400,
      error: 'INVALID_ADDRESS',
      field: 'senderIpRanges[0]',
      message: /2001:db8::\/32/,
    },
    {
      name: 'not an address',
      request: connector({ senderIpRanges: ['relay.example'] }),
      status: 400,
      error: 'INVALID_ADDRESS',
      field: 'senderIpRanges[0]',
      message: /not a CIDR range/,
    },
    {
      name: "another tenant's range",
      request: connector({ senderIpRanges: ['198.51.100.0/24'] }),
      status: 409,
      error: 'CLAIM_CONFLICT',
      field: 'senderIpRanges[0]',
      message: /198\.51\.100\.0\/24 is, contains or lies inside a range of another tenant's connector/,
    },
    {
      name: 'nothing identifies the connector',
      request: connector({ senderIpRanges: [] }),
      status: 400,
      error: 'MISSING_FIELD',
      field: 'senderIpRanges',
      message: /at least one range or a tlsCertificateDomain/,
    },
    {
      name: 'too many ranges',
      request: connector({
        senderIpRanges: Array.from({ length: 257 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`),
      }),
      status: 400,
      error: 'INVALID_FIELD',
      field: 'senderIpRanges',
      message: /must NOT have more than 256 items/,
    },
    {
      name: 'unknown body field',
      request: connector({ owner: 'mallory' }),
      status: 400,
      error: 'UNKNOWN_FIELD',
      field: 'owner',
      message:
        /owner: not a known field; remove it \(allowed: relayPath, senderIpRanges, tlsCertificateDomain, enabled\)/,
    },
    {
      name: 'unknown nested field',
      request: {
        method: 'POST',
        url: '/v1/tenants/acme/unblock',
        payload: { ticket: 'T', attestations: { ...ATTESTED, sure: true } },
      },
      status: 400,
      error: 'UNKNOWN_FIELD',
      field: 'attestations.sure',
      message: /attestations.sure: not a known field/,
    },
    {
      name: 'unknown query parameter',
      request: { method: 'GET', url: '/v1/blocks?page=2' },
      status: 400,
      error: 'UNKNOWN_FIELD',
      field: 'page',
      message: /allowed: limit, cursor/,
    },
    {
      name: 'missing field',
      request: connector({ relayPath: undefined }),
      status: 400,
      error: 'MISSING_FIELD',
      field: 'relayPath',
      message: /relayPath: required: the relay path/,
    },
    {
      name: 'string for a boolean (no coercion)',
      request: domainPut('ok.example', { matchSubdomains: 'true' }),
      status: 400,
      error: 'INVALID_FIELD',
      field: 'matchSubdomains',
      message: /matchSubdomains: must be boolean/,
    },
    {
      name: 'unknown relay path',
      request: connector({ relayPath: 'SMTP' }),
      status: 400,
      error: 'INVALID_FIELD',
      field: 'relayPath',
      message: /must be one of ONPREM, FORWARDED, APPLICATION/,
    },
    {
      name: 'bad tenant id',
      request: { method: 'GET', url: '/v1/tenants/acme%20corp/status' },
      status: 400,
      error: 'INVALID_FIELD',
      field: 'tenantId',
      message: /tenantId: must be 1-128 letters, digits/,
    },
    {
      name: 'ratio above 1',
      request: { method: 'PUT', url: '/v1/tenants/acme/policy', payload: { minUnregisteredRatio: 1.5 } },
      status: 400,
      error: 'INVALID_FIELD',
      field: 'minUnregisteredRatio',
      message: /minUnregisteredRatio: must be <= 1 \(U\/T threshold of the volume rule/,
    },
    {
      name: 'fractional threshold',
      request: { method: 'PUT', url: '/v1/tenants/acme/policy', payload: { minUnregistered: 2.5 } },
      status: 400,
      error: 'INVALID_FIELD',
      field: 'minUnregistered',
      message: /minUnregistered: must be integer/,
    },
    {
      name: 'unknown mode',
      request: { method: 'PUT', url: '/v1/tenants/acme/policy', payload: { mode: 'OFF' } },
      status: 400,
      error: 'INVALID_FIELD',
      field: 'mode',
      message: /must be one of ENFORCE, MONITOR/,
    },
    {
      name: 'page size 0',
      request: { method: 'GET', url: '/v1/blocks?limit=0' },
      status: 400,
      error: 'INVALID_FIELD',
      field: 'limit',
      message: /limit: must be >= 1/,
    },
    {
      name: 'forged cursor',
      request: { method: 'GET', url: '/v1/blocks?cursor=garbage' },
      status: 400,
      error: 'INVALID_FIELD',
      field: 'cursor',
      message: /repeat the request without it/,
    },
    {
      name: 'missing ticket',
      request: { method: 'POST', url: '/v1/tenants/acme/unblock', payload: { attestations: ATTESTED } },
      status: 400,
      error: 'MISSING_FIELD',
      field: 'ticket',
      message: /ticket: required: support ticket reference/,
    },
    {
      name: 'invalid JSON',
      request: rawDomainPut('{"matchSubdomains": tru', 'application/json'),
      status: 400,
      error: 'INVALID_FIELD',
      field: 'body',
      message: /not valid JSON/,
    },
    {
      name: 'not JSON',
      request: rawDomainPut('matchSubdomains=true', 'application/x-www-form-urlencoded'),
      status: 415,
      error: 'UNSUPPORTED_MEDIA_TYPE',
      message: /Content-Type: application\/json/,
    },
    {
      name: 'a text body',
      request: rawDomainPut('matchSubdomains', 'text/plain'),
      status: 415,
      error: 'UNSUPPORTED_MEDIA_TYPE',
      message: /Content-Type: application\/json/,
    },
    {
      name: 'oversized body',
      request: connector({ padding: 'x'.repeat(40_000) }),
      status: 413,
      error: 'BODY_TOO_LARGE',
      message: /larger than 32768 bytes/,
    },
    {
      name: 'unknown domain',
      request: { method: 'DELETE', url: '/v1/tenants/globex/accepted-domains/never.example' },
      status: 404,
      error: 'NOT_FOUND',
      field: 'domain',
      message: /never.example is not an accepted domain of globex/,
    },
    {
      name: 'unknown connector',
      request: { method: 'DELETE', url: '/v1/tenants/globex/connectors/nope' },
      status: 404,
      error: 'NOT_FOUND',
      field: 'connectorId',
      message: /globex has no connector nope/,
    },
    {
      name: 'unknown tenant',
      request: { method: 'GET', url: '/v1/tenants/nobody/status' },
      status: 404,
      error: 'UNKNOWN_TENANT',
      field: 'tenantId',
      message: /no tenant nobody/,
    },
    {
      name: 'unknown route',
      request: { method: 'GET', url: '/v1/tenants/globex/nothing' },
      status: 404,
      error: 'NOT_FOUND',
      message: /\/openapi.json lists the routes/,
    },
    {
      name: 'unblock of a tenant not blocked',
      request: {
        method: 'POST',
        url: '/v1/tenants/globex/unblock',
        payload: { ticket: 'T', attestations: ATTESTED },
      },
      status: 409,
      error: 'NOT_BLOCKED',
      message: /globex is not blocked/,
    },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.status} ${c.error}`, async () => {
      const auditBefore = driver.log.records(Topics.audit).length;
      const { status, body } = await call(app, {
        ...c.request,
        headers: { ...headers, ...c.request.headers },
      });
      assert.equal(status, c.status, JSON.stringify(body));
      assert.deepEqual(
        Object.keys(body).sort(),
        c.field ? ['error', 'field', 'message'] : ['error', 'message'],
      );
      assert.equal(body.error, c.error);
      assert.equal(body.field, c.field);
      assert.match(body.message, c.message);
      assert.equal(
        driver.log.records(Topics.audit).length,
        auditBefore,
        'a rejected request changes nothing',
      );
    });
  }
});

describe('admin API: internationalized domains', () => {
  let driver: PipelineDriver;
  let app: AdminServer;
  const headers = bearer(TOKENS.acmeAdmin);
  before(async () => ({ driver, app } = await setup()));
  after(async () => {
    await app.close();
    await driver.stop();
  });

  it('accepts either form, stores the ASCII form once, and removes it by either form', async () => {
    const unicode = await call(app, {
      method: 'PUT',
      url: `/v1/tenants/acme/accepted-domains/${encodeURIComponent('Bücher.Example.')}`,
      headers,
      payload: { matchSubdomains: true },
    });
    assert.equal(unicode.status, 201);
    const { verification, ...entry } = unicode.body;
    assert.deepEqual(entry, {
      tenantId: 'acme',
      domain: 'xn--bcher-kva.example',
      unicode: 'bücher.example',
      matchSubdomains: true,
      created: true,
    });
    assert.equal(verification.txtRecord.name, 'xn--bcher-kva.example');
    const ascii = await call(app, {
      method: 'PUT',
      url: '/v1/tenants/acme/accepted-domains/xn--bcher-kva.example',
      headers,
      payload: { matchSubdomains: false },
    });
    assert.equal(ascii.status, 200);
    assert.equal(ascii.body.created, false);
    const list = await call(app, { method: 'GET', url: '/v1/tenants/acme/accepted-domains', headers });
    assert.deepEqual(
      list.body.acceptedDomains.map((d: { domain: string; unicode: string }) => [d.domain, d.unicode]),
      [['xn--bcher-kva.example', 'bücher.example']],
    );
    const events = driver.log.records(Topics.acceptedDomains);
    assert.deepEqual(
      [...new Set(events.map((record) => record.key))],
      ['acme/xn--bcher-kva.example'],
      'one compacted key for both forms',
    );
    const removed = await call(app, {
      method: 'DELETE',
      url: `/v1/tenants/acme/accepted-domains/${encodeURIComponent('bücher.example')}`,
      headers,
    });
    assert.equal(removed.status, 204);
    assert.equal(driver.runtime.directory.acceptedDomain('acme', 'xn--bcher-kva.example'), undefined);
  });

  it('accepts a Unicode certificate domain and stores it in ASCII', async () => {
    const put = await call(app, {
      method: 'PUT',
      url: '/v1/tenants/acme/connectors/cert',
      headers,
      payload: {
        relayPath: 'APPLICATION',
        senderIpRanges: [],
        tlsCertificateDomain: 'mx.bücher.example',
        enabled: true,
      },
    });
    assert.equal(put.status, 201);
    assert.equal(put.body.connector.tlsCertificateDomain, 'mx.xn--bcher-kva.example');
  });
});

describe('admin API: blocks, pagination and the self-service unblock', () => {
  let driver: PipelineDriver;
  let app: AdminServer;
  const operator = bearer(TOKENS.operator);
  before(async () => {
    ({ driver, app } = await setup());
    const admin = driver.runtime.admin!;
    for (const [i, tenant] of ['acme', 'globex', 'initech', 'umbrella', 'hooli'].entries()) {
      await admin.putConnector(OPERATOR, tenant, `${tenant}-hq`, onpremConnector(`198.51.${i}.0/24`));
    }
  });
  after(async () => {
    await app.close();
    await driver.stop();
  });

  it('lists blocked tenants newest first, a page at a time', async () => {
    const order = ['globex', 'initech', 'umbrella', 'hooli'];
    for (const [i, tenant] of order.entries()) {
      await floodUnregistered(driver, tenant, `${tenant}-hq`, START + i * 11 * 60_000);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `limit=3&cursor=${cursor}` : 'limit=3';
      const page = await call(app, {
        method: 'GET',
        url: `/v1/blocks?${query}`,
        headers: bearer(TOKENS.reader),
      });
      assert.equal(page.status, 200);
      seen.push(...page.body.blocks.map((b: { tenantId: string }) => b.tenantId));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    assert.deepEqual(seen, [...order].reverse());
    assert.equal(pages, 2);
  });

  it('refuses a self-service unblock while the connector that carried the spam is unchanged (422)', async () => {
    await floodUnregistered(driver, 'acme', 'acme-hq', START + 50 * 60_000);
    const auditBefore = driver.log.records(Topics.audit).length;
    // Saving the connector unchanged is not a change.
    await saveAcmeHq(app, { relayPath: 'ONPREM', senderIpRanges: ['198.51.0.0/24'], enabled: true });
    const refused = await selfServiceUnblock(app, { attestations: { ...ATTESTED, serversSecured: false } });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error, 'SELF_SERVICE_DENIED');
    const failed = refused.body.checks
      .filter((c: { passed: boolean }) => !c.passed)
      .map((c: { check: string }) => c.check);
    assert.deepEqual(failed, ['connectors-remediated', 'attestations']);
    assert.match(
      refused.body.message,
      /connector acme-hq carried \d+ unregistered messages and is still enabled with the sender ranges and certificate it had at the block: disable it, remove it or change them/,
    );
    assert.match(refused.body.message, /serversSecured must be true/);
    assert.equal(
      driver.log.records(Topics.audit).length,
      auditBefore + 1,
      'only the connector save was audited',
    );
    assert.equal((await acmeStatus(app)).blocked, true);
  });

  it('lifts the first block in 30 days once the connector is disabled, with the tenant on probation', async () => {
    const disabled = await saveAcmeHq(app, {
      relayPath: 'ONPREM',
      senderIpRanges: ['198.51.0.0/24'],
      enabled: false,
    });
    assert.equal(disabled.status, 200);
    const status = await acmeStatus(app);
    assert.deepEqual(
      status.remediation.selfServiceChecks.map((c: { check: string; passed: boolean }) => [
        c.check,
        c.passed,
      ]),
      [
        ['first-block-in-30-days', true],
        ['connectors-remediated', true],
      ],
    );
    const now = driver.clock.now();
    const lifted = await selfServiceUnblock(app, { ticket: 'self-1', attestations: ATTESTED });
    assert.equal(lifted.status, 200, JSON.stringify(lifted.body));
    assert.equal(lifted.body.probationUntil, now + 7 * DAY);
    await driver.settle();
    const after = await acmeStatus(app);
    assert.equal(after.blocked, false);
    assert.equal(after.probationUntil, now + 7 * DAY);
    assert.deepEqual(after.thresholds, {
      minUnregistered: 250,
      minUnregisteredRatio: 0.25,
      minDistinctDomains: 25,
      minUnregisteredWithDistinct: 50,
    });
    const unblock = (await driver.blockEvents()).filter(
      (e) => e.tenantId === 'acme' && e.kind === 'UNBLOCKED',
    );
    assert.equal(unblock.length, 1);
    assert.equal(unblock[0]!.unblocked!.source, 'SELF_SERVICE');
    assert.equal(unblock[0]!.unblocked!.actor, `tenant-admin:acme#${sha6(TOKENS.acmeAdmin)}`);
    const audit = (await auditOf(driver, 'acme')).at(-1)!;
    assert.equal(audit.action, 'tenant.self-service-unblock');
    assert.equal(audit.ticket, 'self-1');
  });

  it('refuses a self-service unblock of a second block within 30 days (403), and an operator still may, keeping the probation', async () => {
    await driver.runtime.admin!.putConnector(OPERATOR, 'acme', 'acme-hq', onpremConnector('198.51.0.0/24'));
    await floodUnregistered(driver, 'acme', 'acme-hq', START + 2 * DAY, 'again');
    const status = await acmeStatus(app);
    assert.equal(status.blocked, true);
    assert.equal(status.block.probation, true, 'blocked on halved thresholds');
    await saveAcmeHq(app, { relayPath: 'ONPREM', senderIpRanges: ['198.51.0.0/24'], enabled: false });
    const refused = await selfServiceUnblock(app, { attestations: ATTESTED });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error, 'SELF_SERVICE_DENIED');
    assert.match(refused.body.message, /already blocked on 2026-11-28T09:5\d.* lifted by an operator/);
    const lifted = await call(app, {
      method: 'POST',
      url: '/v1/tenants/acme/unblock',
      headers: operator,
      payload: { ticket: 'SUP-2', attestations: ATTESTED },
    });
    assert.equal(lifted.status, 200);
    // The first unblock put the tenant on probation for 7 days; the operator's lift keeps it, to the same end.
    assert.equal(lifted.body.probationUntil, status.probationUntil);
    assert.ok(lifted.body.probationUntil > driver.clock.now());
    await driver.settle();
    const after = await acmeStatus(app);
    assert.equal(after.blocked, false);
    assert.equal(after.probationUntil, status.probationUntil);
    assert.equal(after.thresholds.minUnregistered, 250, 'thresholds still halved');
  });

  it('answers 409 to a self-service unblock of a tenant that is not blocked', async () => {
    const { status, body } = await selfServiceUnblock(app, { attestations: ATTESTED });
    assert.equal(status, 409);
    assert.equal(body.error, 'NOT_BLOCKED');
  });

  it('refuses an operator unblock with a false attestation (422) and changes nothing', async () => {
    const { status, body } = await call(app, {
      method: 'POST',
      url: '/v1/tenants/globex/unblock',
      headers: operator,
      payload: { ticket: 'SUP-3', attestations: { domainsRegistered: true, connectorsReviewed: false } },
    });
    assert.equal(status, 422);
    assert.equal(body.error, 'ATTESTATION_MISSING');
    assert.equal(body.field, 'attestations.connectorsReviewed');
    assert.match(body.message, /connectorsReviewed, serversSecured must be true/);
    assert.equal((await driver.runtime.admin!.status('globex')).blocked, true);
  });
});

describe('admin API: self-service judges remediation by what the connector carries, not when it was saved', () => {
  let driver: PipelineDriver;
  let app: AdminServer;
  const acmeAdmin = bearer(TOKENS.acmeAdmin);
  const hq = {
    relayPath: 'ONPREM' as const,
    senderIpRanges: ['198.51.0.0/24', '203.0.113.0/28'],
    enabled: true,
  };
  before(async () => {
    ({ driver, app } = await setup());
    await driver.runtime.admin!.putConnector(OPERATOR, 'acme', 'acme-hq', hq);
    await floodUnregistered(driver, 'acme', 'acme-hq', START);
  });
  after(async () => {
    await app.close();
    await driver.stop();
  });

  const saveHq = async (settings: object) => {
    driver.clock.set(driver.clock.now() + 60_000);
    const saved = await saveAcmeHq(app, { ...hq, ...settings });
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
  };
  const selfService = () => selfServiceUnblock(app, { ticket: 'self-1', attestations: ATTESTED });
  const assertRefusedUnremediated = async () => {
    const refused = await selfService();
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.deepEqual(
      refused.body.checks
        .filter((c: { passed: boolean }) => !c.passed)
        .map((c: { check: string }) => c.check),
      ['connectors-remediated'],
    );
    assert.match(
      refused.body.message,
      /connector acme-hq .* still enabled with the sender ranges and certificate/,
    );
  };

  it('refuses after the connector is disabled and enabled again with the same settings', async () => {
    await saveHq({ enabled: false });
    await saveHq({ enabled: true });
    await assertRefusedUnremediated();
  });

  it('refuses after the ranges are changed and changed back, or only reordered', async () => {
    await saveHq({ senderIpRanges: ['198.51.0.0/25'] });
    await saveHq({});
    await assertRefusedUnremediated();
    await saveHq({ senderIpRanges: [...hq.senderIpRanges].reverse() });
    await assertRefusedUnremediated();
  });

  it('counts an evidence domain registered after the block as registered only once verified', async () => {
    const domainWarning = async () =>
      (await acmeStatus(app)).remediation.warnings.some((w: string) => w.startsWith('domain spam0.example '));
    const added = await call(app, {
      method: 'PUT',
      url: '/v1/tenants/acme/accepted-domains/spam0.example',
      headers: acmeAdmin,
      payload: { matchSubdomains: false },
    });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.equal(added.body.verification.status, 'pending');
    assert.equal(await domainWarning(), true, 'pending: still unregistered');
    const verified = await call(app, {
      method: 'POST',
      url: '/v1/tenants/acme/accepted-domains/spam0.example/verify',
      headers: bearer(TOKENS.operator),
      payload: { method: 'OPERATOR', ticket: 'SUP-9' },
    });
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    assert.equal(await domainWarning(), false, 'verified by an operator: registered');
  });

  it('counts a connector that carries other ranges than at the block as remediated, and lifts the block', async () => {
    await saveHq({ senderIpRanges: ['198.51.0.0/24'] });
    const status = await acmeStatus(app);
    assert.ok(!status.remediation.warnings.some((w: string) => w.includes('connector acme-hq')));
    const lifted = await selfService();
    assert.equal(lifted.status, 200, JSON.stringify(lifted.body));
    assert.equal(lifted.body.probationUntil, driver.clock.now() + 7 * DAY);
  });
});

describe('admin API: policy, rate limit, OpenAPI and metrics', () => {
  let driver: PipelineDriver;
  let app: AdminServer;
  before(async () => {
    driver = await startPipeline({}, START);
    app = await startAdminApi(driver, { rateLimitPerMinute: 5 });
    await driver.runtime.admin!.putAcceptedDomain(OPERATOR, 'acme', 'acme.example', false);
  });
  after(async () => {
    await app.close();
    await driver.stop();
  });

  it('replaces the overrides and shows what is in force', async () => {
    const put = await call(app, {
      method: 'PUT',
      url: '/v1/tenants/acme/policy',
      headers: bearer(TOKENS.operator),
      payload: { mode: 'MONITOR', minUnregistered: 800 },
    });
    assert.equal(put.status, 200);
    assert.deepEqual(put.body.overrides, { mode: 'MONITOR', minUnregistered: 800 });
    assert.equal(put.body.effective.mode, 'MONITOR');
    assert.equal(put.body.effective.thresholds.minUnregistered, 800);
    assert.equal(put.body.global.thresholds.minUnregistered, 500);
    const read = await call(app, {
      method: 'GET',
      url: '/v1/tenants/acme/policy',
      headers: bearer(TOKENS.acmeAdmin),
    });
    assert.deepEqual(read.body, put.body);
  });

  it('limits each token on its own and answers 429 in the error shape', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push(
        (await call(app, { method: 'GET', url: '/v1/blocks', headers: bearer(TOKENS.reader) })).status,
      );
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
    const limited = await call(app, { method: 'GET', url: '/v1/blocks', headers: bearer(TOKENS.reader) });
    assert.equal(limited.body.error, 'RATE_LIMITED');
    assert.match(limited.body.message, /at most 5 requests a minute/);
    // Another token has its own budget.
    assert.equal(
      (await call(app, { method: 'GET', url: '/v1/blocks', headers: bearer(TOKENS.operator) })).status,
      200,
    );
  });

  it('serves an OpenAPI document built from the route schemas', async () => {
    const { status, body } = await call(app, { method: 'GET', url: '/openapi.json' });
    assert.equal(status, 200);
    assert.equal(body.openapi, '3.1.0');
    for (const path of [
      '/v1/tenants/{tenantId}/accepted-domains/{domain}',
      '/v1/tenants/{tenantId}/accepted-domains',
      '/v1/tenants/{tenantId}/connectors/{connectorId}',
      '/v1/tenants/{tenantId}/connectors',
      '/v1/tenants/{tenantId}/connectors/review',
      '/v1/tenants/{tenantId}/status',
      '/v1/tenants/{tenantId}/unblock',
      '/v1/tenants/{tenantId}/self-service-unblock',
      '/v1/blocks',
      '/v1/tenants/{tenantId}/policy',
    ]) {
      assert.ok(body.paths[path], `${path} is documented`);
    }
    const put = body.paths['/v1/tenants/{tenantId}/connectors/{connectorId}'].put;
    const schema = put.requestBody.content['application/json'].schema;
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(schema.required, ['relayPath', 'senderIpRanges', 'enabled']);
    assert.ok(put.responses['4XX'] ?? put.responses['4xx'], 'error responses documented');
    assert.deepEqual(put.security, [{ bearer: [] }]);
  });

  it('counts requests by route pattern, never by raw URL', async () => {
    await call(app, { method: 'GET', url: '/v1/tenants/acme/status', headers: bearer(TOKENS.operator) });
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(
      metrics,
      /relayguard_admin_requests_total\{route="\/v1\/tenants\/:tenantId\/status",method="GET",status_code="200"\} 1/,
    );
    assert.match(
      metrics,
      /relayguard_admin_requests_total\{route="\/v1\/blocks",method="GET",status_code="429"\}/,
    );
    assert.doesNotMatch(metrics, /route="\/v1\/tenants\/acme/);
  });
});

function sha6(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 6);
}
