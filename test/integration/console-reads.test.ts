// The admin API's reads that the console needs beyond the remediation routes: who a token is (/v1/session), a
// tenant's live window minute by minute (/v1/tenants/:id/window) and its earlier blocks (/v1/tenants/:id/history),
// through inject() on the embedded pipeline. The role matrix of test/integration/admin-api.test.ts covers who
// may call them; here, what they answer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { AuditTrail } from '../../services/admin/audit-trail.js';
import { windowView } from '../../services/admin/console/window-view.js';
import type { AuditEvent } from '../../services/core/contracts.generated.js';
import { DEFAULT_POLICY, MINUTE_MS } from '../../services/core/policy.js';
import { addToWindow, emptyWindow, windowCounts } from '../../services/core/windows.js';
import { tokenSubject } from '../../services/platform/bearer-auth.js';
import {
  type AdminServer,
  API_TOKENS,
  ATTESTED,
  bearer,
  floodUnregistered,
  startAdminApi,
  TOKENS,
} from '../support/admin-api.js';
import { onpremConnector } from '../support/builders.js';
import {
  OPERATOR,
  type PipelineDriver,
  productionPipelineSuite,
  startPipeline,
} from '../support/pipeline-driver.js';

const START = Date.UTC(2026, 10, 28, 9);

describe('console reads', () => {
  let driver: PipelineDriver;
  let app: AdminServer;
  before(async () => {
    driver = await startPipeline({}, START);
    app = await startAdminApi(driver);
    await driver.runtime.admin!.putConnector(OPERATOR, 'acme', 'edge', onpremConnector('198.51.100.0/24'));
  });
  after(async () => {
    await app.close();
    await driver.stop();
  });

  const get = async (url: string, token: string) => {
    const response = await app.inject({ method: 'GET', url, headers: bearer(token) });
    return { status: response.statusCode, body: response.json() };
  };

  it("answers each token's role and tenant, never the token", async () => {
    for (const token of API_TOKENS.filter((entry) => entry.role !== 'relay')) {
      const { status, body } = await get('/v1/session', token.token);
      assert.equal(status, 200);
      assert.deepEqual(body, { subject: tokenSubject(token), role: token.role, tenantId: token.tenantId });
      assert.ok(!JSON.stringify(body).includes(token.token));
    }
  });

  it('answers the live window minute by minute, summing to the counters', async () => {
    const empty = await get('/v1/tenants/acme/window', TOKENS.acmeAdmin);
    assert.equal(empty.status, 200);
    assert.deepEqual(
      { start: empty.body.start, minutes: empty.body.minutes, domains: empty.body.domains },
      { start: null, minutes: [], domains: [] },
    );
    await floodUnregistered(driver, 'acme', 'edge', START + MINUTE_MS);
    const { status, body } = await get('/v1/tenants/acme/window', TOKENS.reader);
    assert.equal(status, 200);
    assert.equal(body.minutes.length, 60);
    assert.equal(body.end - body.start, 60 * MINUTE_MS);
    const sum = (key: string) =>
      body.minutes.reduce((total: number, minute: never) => total + minute[key], 0);
    assert.equal(sum('unregistered'), 600);
    assert.equal(sum('unregistered'), body.counters.unregistered);
    assert.equal(sum('total'), body.counters.total);
    assert.equal(sum('domainsLastSeen'), body.counters.distinctUnregisteredDomains);
    assert.deepEqual(
      body.connectors.map((entry: { key: string; messages: number }) => [entry.key, entry.messages]),
      [['edge', 600]],
    );
    assert.ok(body.domains.length > 0 && body.domains.length <= 20);
  });

  it('answers what other thresholds would decide for the live window, and refuses bad ones', async () => {
    const { status, body } = await get(
      '/v1/tenants/acme/policy/preview?minUnregistered=1000&minDistinctDomains=100',
      TOKENS.acmeAdmin,
    );
    assert.equal(status, 200);
    assert.equal(body.counters.unregistered, 600);
    assert.notEqual(body.inForce.decision, null, 'the flood is over the thresholds in force');
    assert.equal(body.candidate.decision, null);
    assert.deepEqual(body.candidate.thresholds, {
      ...body.inForce.thresholds,
      minUnregistered: 1000,
      minDistinctDomains: 100,
    });
    const zero = await get('/v1/tenants/acme/policy/preview?minUnregistered=0', TOKENS.reader);
    assert.equal(zero.status, 400);
    assert.equal(zero.body.field, 'minUnregistered');
    const unknown = await get('/v1/tenants/acme/policy/preview?mode=MONITOR', TOKENS.reader);
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error, 'UNKNOWN_FIELD');
  });

  it('answers the earlier blocks and the last lift', async () => {
    const before = await get('/v1/tenants/acme/history', TOKENS.acmeAdmin);
    assert.equal(before.status, 200);
    assert.equal(before.body.blockTimes.length, 1);
    assert.equal(before.body.lastUnblock, null);
    const lifted = await app.inject({
      method: 'POST',
      url: '/v1/tenants/acme/unblock',
      headers: bearer(TOKENS.operator),
      payload: { ticket: 'SUP-7', attestations: ATTESTED },
    });
    assert.equal(lifted.statusCode, 200);
    await driver.settle();
    const { body } = await get('/v1/tenants/acme/history', TOKENS.reader);
    assert.equal(body.lastUnblock.blockId, lifted.json().blockId);
    assert.equal(body.lastUnblock.ticket, 'SUP-7');
    assert.equal(body.lastUnblock.source, 'OPERATOR');
    const window = await get('/v1/tenants/acme/window', TOKENS.reader);
    assert.equal(window.body.counters.unregistered, 0, 'the lift cleared the window');
  });

  it("answers the tenant's audit trail, newest first, read back from the audit topic", async () => {
    await driver.settle();
    const { status, body } = await get('/v1/tenants/acme/audit', TOKENS.acmeAdmin);
    assert.equal(status, 200);
    assert.equal(body.caughtUp, true);
    assert.equal(body.truncated, false);
    assert.deepEqual(
      body.entries.map((entry: { action: string; target: string; ticket: string | null }) => [
        entry.action,
        entry.target,
        entry.ticket,
      ]),
      [
        ['tenant.unblock', body.entries[0].target, 'SUP-7'],
        ['connector.put', 'edge', null],
      ],
    );
    assert.equal(body.entries[0].details.domainsRegistered, 'true');
    const other = await get('/v1/tenants/globex/audit', TOKENS.reader);
    assert.deepEqual(other.body.entries, []);
  });

  it('answers 404 UNKNOWN_TENANT for a tenant the directory does not know', async () => {
    for (const route of ['window', 'history']) {
      const { status, body } = await get(`/v1/tenants/nobody/${route}`, TOKENS.operator);
      assert.equal(status, 404);
      assert.equal(body.error, 'UNKNOWN_TENANT');
    }
  });
});

describe('console reads on Kafka', () => {
  let app: AdminServer;
  // Registered before the suite's hooks: the admin API closes before the pipeline stops.
  after(() => app?.close());
  const suite = productionPipelineSuite({}, START);
  before(async () => {
    app = await startAdminApi(suite.driver);
  });

  it('reads the audit trail back from the audit topic', async () => {
    const admin = suite.driver.runtime.admin!;
    await admin.putAcceptedDomain(OPERATOR, 'acme', 'acme.example', false);
    await admin.putAcceptedDomain(OPERATOR, 'acme', 'mail.acme.example', true);
    await suite.driver.settle();
    const response = await app.inject({
      method: 'GET',
      url: '/v1/tenants/acme/audit',
      headers: bearer(TOKENS.reader),
    });
    assert.equal(response.statusCode, 200);
    const body = response.json();
    assert.equal(body.caughtUp, true);
    assert.deepEqual(
      body.entries.map((entry: { action: string; target: string }) => `${entry.action} ${entry.target}`),
      ['accepted-domain.put mail.acme.example', 'accepted-domain.put acme.example'],
    );
  });
});

describe('audit trail', () => {
  const record = (tenantId: string, n: number): AuditEvent => ({
    auditId: `${tenantId}-${n}`,
    occurredAt: n,
    actor: 'operator#abcdef',
    role: 'OPERATOR',
    action: 'connector.put',
    tenantId,
    target: `c${n}`,
    ticket: null,
    details: {},
  });

  it('keeps the newest records of the tenants changed most recently, each once', () => {
    const trail = new AuditTrail(3, 2);
    for (let n = 1; n <= 5; n++) trail.add(record('acme', n));
    trail.add(record('acme', 5));
    assert.deepEqual(
      trail.recent('acme').entries.map((entry) => entry.auditId),
      ['acme-5', 'acme-4', 'acme-3'],
    );
    assert.equal(trail.recent('acme').truncated, true);
    trail.add(record('globex', 1));
    trail.add(record('acme', 6));
    // A third tenant pushes out the one whose latest record is oldest: globex, not acme.
    trail.add(record('initech', 1));
    assert.deepEqual(trail.recent('globex'), { entries: [], truncated: false, caughtUp: false });
    assert.equal(trail.recent('acme').entries[0]!.auditId, 'acme-6');
    assert.equal(trail.recent('initech').entries.length, 1);
  });
});

describe('window view', () => {
  it('sums, minute by minute, to what the scorer counts', () => {
    const shape = { ...DEFAULT_POLICY, windowMinutes: 30, distinctDomainCap: 16 };
    const message = fc.record({
      // From minute 1: an event at time 0 is at or before a fresh window's reset time, and not counted.
      minute: fc.integer({ min: 1, max: 90 }),
      domain: fc.integer({ min: 0, max: 40 }),
      kind: fc.constantFrom('unregistered', 'forwarded', 'registered') as fc.Arbitrary<
        'unregistered' | 'forwarded' | 'registered'
      >,
    });
    fc.assert(
      fc.property(fc.array(message, { maxLength: 200 }), (messages) => {
        const window = emptyWindow();
        for (const m of messages) {
          addToWindow(
            window,
            { occurredAt: m.minute * MINUTE_MS, senderDomain: `d${m.domain}.example`, connectorId: 'c' },
            m.kind,
            shape,
            0,
            null,
          );
        }
        const view = windowView(window, shape.windowMinutes);
        const counts = windowCounts(window, 0);
        const sum = (key: 'unregistered' | 'forwarded' | 'total' | 'domainsLastSeen') =>
          view.minutes.reduce((total, minute) => total + minute[key], 0);
        assert.equal(view.minutes.length, messages.length === 0 ? 0 : shape.windowMinutes);
        assert.equal(sum('unregistered'), counts.unregistered);
        assert.equal(sum('forwarded'), counts.forwardedUnregistered);
        assert.equal(sum('total'), counts.total);
        assert.equal(sum('domainsLastSeen'), counts.distinctUnregisteredDomains);
      }),
    );
  });
});
