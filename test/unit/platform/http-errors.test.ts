// One error policy for both HTTP APIs: every error code gets the same status and body from the admin API and
// the decision API, and docs/admin-api.md lists every code under the status it is answered with.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { AdminService } from '../../../services/admin/admin-service.js';
import { AuditTrail } from '../../../services/admin/audit-trail.js';
import { adminApi } from '../../../services/admin/http/admin-api.js';
import { type ErrorCode, ErrorCodes, RelayguardError } from '../../../services/core/errors.js';
import { decisionApi } from '../../../services/enforcer/decision-api.js';
import type { Enforcer } from '../../../services/enforcer/enforcer.js';
import { HTTP_ERROR_CODES, HTTP_STATUS, type HttpErrorCode } from '../../../services/platform/http-errors.js';
import { createHttpServer, type HttpServer } from '../../../services/platform/http-server.js';
import { silentLogger } from '../../../services/platform/logger.js';
import { Metrics } from '../../../services/platform/metrics.js';
import { API_TOKENS, bearer, TOKENS } from '../../support/admin-api.js';

describe('the HTTP error policy', () => {
  let http: Awaited<HttpServer>;
  /** What the services behind both APIs throw next. */
  let failure: unknown;
  const fail = () => {
    throw failure;
  };

  before(async () => {
    const metrics = new Metrics();
    http = createHttpServer({ logger: silentLogger, metrics, isReady: () => true });
    const common = { metrics, tokens: API_TOKENS, rateLimitPerMinute: 10_000 };
    await http.register(decisionApi, { ...common, enforcer: { decide: fail } as unknown as Enforcer });
    await http.register(adminApi, {
      ...common,
      prefix: '/v1',
      admin: { status: fail } as unknown as AdminService,
      auditTrail: new AuditTrail(),
      isReady: () => true,
    });
    await http.ready();
  });
  after(() => http.close());

  const answers = async () => {
    const decision = await http.inject({
      method: 'POST',
      url: '/v1/decisions',
      headers: bearer(TOKENS.operator),
      payload: { tenantId: 'acme', sender: 'it@acme.example' },
    });
    const admin = await http.inject({
      method: 'GET',
      url: '/v1/tenants/acme/status',
      headers: bearer(TOKENS.operator),
    });
    return { decision, admin };
  };

  it('answers every error code with the same status and body from both APIs', async () => {
    for (const code of Object.keys(ErrorCodes) as ErrorCode[]) {
      failure = new RelayguardError(code, `the service refused: ${code}`, { field: 'tenantId' });
      const { decision, admin } = await answers();
      const expected = ErrorCodes[code].retryable
        ? 503
        : code === 'SELF_SERVICE_DENIED'
          ? 403
          : HTTP_STATUS[code];
      assert.equal(decision.statusCode, expected, `decision API, ${code}`);
      assert.equal(admin.statusCode, expected, `admin API, ${code}`);
      assert.deepEqual(decision.json(), admin.json(), code);
      assert.equal(decision.json().error, ErrorCodes[code].retryable ? 'UNAVAILABLE' : code);
    }
  });

  it('answers an unexpected failure 500 INTERNAL, with what the caller should do', async () => {
    failure = new TypeError('a bug');
    const { decision, admin } = await answers();
    assert.deepEqual(
      [decision.statusCode, decision.json()],
      [500, { error: 'INTERNAL', message: 'the decision failed; the relay should fail open' }],
    );
    assert.equal(admin.statusCode, 500);
    assert.equal(admin.json().error, 'INTERNAL');
  });

  it('is listed in docs/admin-api.md: each code under the status it is answered with', async () => {
    const listed = documentedCodes(
      await readFile(new URL('../../../docs/admin-api.md', import.meta.url), 'utf8'),
    );
    for (const code of HTTP_ERROR_CODES) {
      const statuses = listed.get(code) ?? [];
      assert.ok(
        statuses.includes(HTTP_STATUS[code]),
        `docs/admin-api.md lists ${code} under ${HTTP_STATUS[code]}`,
      );
    }
    for (const [code, statuses] of listed) {
      assert.ok(
        HTTP_ERROR_CODES.includes(code as HttpErrorCode),
        `docs/admin-api.md lists ${code}, not a code`,
      );
      for (const status of statuses) {
        // SELF_SERVICE_DENIED is 403 when the tenant may not use self-service this time.
        const also: number[] = code === 'SELF_SERVICE_DENIED' ? [HTTP_STATUS.FORBIDDEN] : [];
        assert.ok(
          [HTTP_STATUS[code as HttpErrorCode], ...also].includes(status),
          `${code} listed under ${status}`,
        );
      }
    }
  });
});

/** The codes of the "Errors" table of docs/admin-api.md, each with the statuses of the rows that list it. */
function documentedCodes(markdown: string): Map<string, number[]> {
  const section = markdown.slice(
    markdown.indexOf('## Errors'),
    markdown.indexOf('\n## ', markdown.indexOf('## Errors') + 1),
  );
  const listed = new Map<string, number[]>();
  for (const row of section.matchAll(/^\| (\d{3}) +\| (.*?) \|/gm)) {
    for (const [, code] of row[2]!.matchAll(/`([A-Z_]+)`/g)) {
      listed.set(code!, [...(listed.get(code!) ?? []), Number(row[1])]);
    }
  }
  return listed;
}
