// The admin API on a connector-scoped block (issue #22), through fastify's inject() on the real embedded
// pipeline: the status and the blocks list show the scope, the review ranks the blocked connectors first, an
// unblock lifts some connectors (the remaining block restated in a new generation) or all, refuses connectors it
// cannot lift in the caller's terms, and checks roles and tenant ownership as the whole-block unblock does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import type { TenantBlockEvent } from '../../services/core/contracts.generated.js';
import { blockGeneration } from '../../services/core/episodes.js';
import { Topics } from '../../services/core/topics.js';
import {
  type AdminServer,
  ATTESTED,
  auditOf,
  bearer,
  putSchoolConnectors,
  startAdminApi,
  TOKENS,
} from '../support/admin-api.js';
import { blockedEvent, blockRecords, evidenceConnectors } from '../support/block-events.js';
import { OPERATOR, type PipelineDriver, startPipeline } from '../support/pipeline-driver.js';

const START = Date.UTC(2026, 11, 1, 9);
const HOUR = 3_600_000;

/** acme's two on-premises servers carried the spam; its forwarding connector carries students' mail. */
function connectorBlock(tenantId: string, connectorIds: string[]): TenantBlockEvent {
  const event = blockedEvent(tenantId, `${tenantId}@2026-12-01T09:00Z`, { at: START });
  const connectors = evidenceConnectors(
    {
      ...Object.fromEntries(connectorIds.map((connectorId, i) => [connectorId, 400 - i * 100])),
      [`${tenantId}-forwarding`]: 5,
    },
    30,
  );
  return {
    ...event,
    blocked: {
      ...event.blocked!,
      scope: 'CONNECTOR',
      connectorIds,
      scopeReason: `connectors ${connectorIds.join(', ')} carried 700 of 705 unregistered messages; the tenant's other connectors stay under the thresholds`,
      evidence: { ...event.blocked!.evidence, connectors },
    },
  };
}

describe('admin API: connector-scoped blocks', () => {
  let driver: PipelineDriver;
  let app: AdminServer;
  const operator = bearer(TOKENS.operator);
  const acmeAdmin = bearer(TOKENS.acmeAdmin);

  async function call(options: InjectOptions) {
    const response = await app.inject(options);
    return { status: response.statusCode, body: response.body === '' ? undefined : response.json() };
  }
  const status = async (tenantId: string) =>
    (await call({ method: 'GET', url: `/v1/tenants/${tenantId}/status`, headers: operator })).body;
  const blocksOf = async (tenantId: string) =>
    (await driver.blockEvents()).filter((event) => event.tenantId === tenantId);
  /** The operator lifts these connectors of the tenant's block (or asks with a list that is not one). */
  const liftConnectors = (tenantId: string, ticket: string, connectorIds: unknown) =>
    call({
      method: 'POST',
      url: `/v1/tenants/${tenantId}/unblock`,
      headers: operator,
      payload: { ticket, attestations: ATTESTED, connectorIds },
    });

  before(async () => {
    // The connectors exist before the blocks: the directory knows what each carried at the block.
    driver = await startPipeline({}, START - HOUR);
    app = await startAdminApi(driver);
    await putSchoolConnectors(driver, ['acme', 'globex', 'initech']);
    const tenantBlock = blockedEvent('globex', 'globex@2026-12-01T09:00Z', { at: START });
    const events = [
      connectorBlock('acme', ['acme-onprem-1', 'acme-onprem-2']),
      tenantBlock,
      connectorBlock('initech', ['initech-onprem-1', 'initech-onprem-2']),
    ];
    await driver.log.publish(Topics.tenantBlocks, await blockRecords(driver.runtime.adapters.codec, events));
    await driver.settle();
  });
  after(async () => {
    await app.close();
    await driver.stop();
  });

  it('shows the scope, the blocked connectors and why, with disabling them as the first remedies', async () => {
    const acme = await status('acme');
    assert.equal(acme.blocked, true);
    assert.equal(acme.block.scope, 'CONNECTOR');
    assert.deepEqual(acme.block.connectorIds, ['acme-onprem-1', 'acme-onprem-2']);
    assert.match(acme.block.scopeReason, /^connectors acme-onprem-1, acme-onprem-2 carried 700 of 705/);
    assert.equal(acme.block.widenedFrom, null);
    assert.deepEqual(acme.block.liftedConnectorIds, []);
    assert.equal(acme.block.evidence.connectors[0].total, 400);
    assert.deepEqual(
      acme.remediation.remedies.map((r: { action: string; connectorId: string | null }) => [
        r.action,
        r.connectorId,
      ]),
      [
        ['disable-connector', 'acme-onprem-1'],
        ['disable-connector', 'acme-onprem-2'],
        ['secure-servers', null],
        ['lift-connectors', null],
      ],
    );
    const page = await call({ method: 'GET', url: '/v1/blocks', headers: bearer(TOKENS.reader) });
    assert.deepEqual(
      page.body.blocks.map((b: { tenantId: string; scope: string; connectorIds: string[] }) => [
        b.tenantId,
        b.scope,
        b.connectorIds,
      ]),
      [
        ['acme', 'CONNECTOR', ['acme-onprem-1', 'acme-onprem-2']],
        ['globex', 'TENANT', []],
        ['initech', 'CONNECTOR', ['initech-onprem-1', 'initech-onprem-2']],
      ],
    );
  });

  it('ranks the blocked connectors first in the review', async () => {
    const review = await call({
      method: 'GET',
      url: '/v1/tenants/acme/connectors/review',
      headers: acmeAdmin,
    });
    assert.deepEqual(
      review.body.connectors.map((c: { connectorId: string; blocked: boolean }) => [
        c.connectorId,
        c.blocked,
      ]),
      [
        ['acme-onprem-1', true],
        ['acme-onprem-2', true],
        ['acme-forwarding', false],
      ],
    );
  });

  it('refuses connectors it cannot lift with a 400 that says why, and changes nothing', async () => {
    const before = (await driver.blockEvents()).length;
    const unblock = (tenantId: string, connectorIds: unknown) =>
      liftConnectors(tenantId, 'SUP-1', connectorIds);
    const tenantWide = await unblock('globex', ['globex-onprem-1']);
    assert.equal(tenantWide.status, 400);
    assert.equal(tenantWide.body.error, 'INVALID_FIELD');
    assert.equal(tenantWide.body.field, 'connectorIds');
    assert.match(tenantWide.body.message, /covers the whole of tenant globex, not single connectors/);
    const notBlocked = await unblock('acme', ['acme-forwarding']);
    assert.equal(notBlocked.status, 400);
    assert.match(notBlocked.body.message, /^connectorIds: acme-forwarding is not blocked by block acme@/);
    assert.equal((await unblock('acme', [])).status, 400);
    assert.equal((await unblock('acme', ['../x'])).status, 400);
    assert.equal((await driver.blockEvents()).length, before);
  });

  it('checks roles and tenant ownership as the whole-block unblock does', async () => {
    const body = { attestations: ATTESTED, connectorIds: ['acme-onprem-1'] };
    for (const [token, url] of [
      [TOKENS.reader, '/v1/tenants/acme/unblock'],
      [TOKENS.acmeAdmin, '/v1/tenants/acme/unblock'],
      [TOKENS.globexAdmin, '/v1/tenants/acme/self-service-unblock'],
      [TOKENS.reader, '/v1/tenants/acme/self-service-unblock'],
    ] as const) {
      const refused = await call({
        method: 'POST',
        url,
        headers: bearer(token),
        payload: { ticket: 'T', ...body },
      });
      assert.equal(refused.status, 403, `${token} ${url}`);
    }
  });

  it('lifts one connector: one BLOCKED event restating the remaining block in a new generation, audited', async () => {
    const liftedAt = driver.clock.now();
    const lifted = await liftConnectors('acme', 'SUP-7', ['acme-onprem-1']);
    assert.equal(lifted.status, 200, JSON.stringify(lifted.body));
    assert.equal(lifted.body.blockId, 'acme@2026-12-01T09:00Z');
    assert.deepEqual(lifted.body.liftedConnectorIds, ['acme-onprem-1']);
    assert.deepEqual(lifted.body.remainingBlock.connectorIds, ['acme-onprem-2']);
    assert.equal(lifted.body.probationUntil, null);
    await driver.settle();

    const events = await blocksOf('acme');
    const restated = events.at(-1)!;
    assert.equal(events.filter((e) => e.kind === 'UNBLOCKED').length, 0);
    assert.equal(restated.kind, 'BLOCKED');
    assert.equal(restated.blocked!.blockId, lifted.body.remainingBlock.blockId);
    assert.equal(blockGeneration(restated.blocked!.blockId), liftedAt);
    assert.deepEqual(restated.blocked!.liftedConnectorIds, ['acme-onprem-1']);

    const acme = await status('acme');
    assert.equal(acme.blocked, true);
    assert.deepEqual(acme.block.connectorIds, ['acme-onprem-2']);
    assert.deepEqual(acme.block.liftedConnectorIds, ['acme-onprem-1']);
    const audit = (await auditOf(driver, 'acme')).at(-1)!;
    assert.equal(audit.action, 'tenant.unblock-connectors');
    assert.equal(audit.target, 'acme@2026-12-01T09:00Z');
    assert.equal(audit.ticket, 'SUP-7');
    assert.equal(audit.details.liftedConnectorIds, 'acme-onprem-1');
    assert.equal(audit.details.remainingBlockId, restated.blocked!.blockId);
  });

  it('keeps a connector secured before a lift of another remediated in the block that remains', async () => {
    // After the block, the second server gets the secured server's new range; then the operator lifts the first.
    driver.clock.set(START + HOUR);
    await driver.runtime.admin!.putConnector(OPERATOR, 'initech', 'initech-onprem-2', {
      relayPath: 'ONPREM',
      senderIpRanges: ['203.0.113.0/24'],
      enabled: true,
    });
    const lifted = await liftConnectors('initech', 'SUP-8', ['initech-onprem-1']);
    assert.equal(lifted.status, 200, JSON.stringify(lifted.body));
    await driver.settle();
    const initech = await status('initech');
    assert.deepEqual(initech.block.connectorIds, ['initech-onprem-2']);
    const remediated = initech.remediation.selfServiceChecks.find(
      (check: { check: string }) => check.check === 'connectors-remediated',
    );
    assert.equal(remediated.passed, true, remediated.detail);
  });

  it("lets the tenant's admin lift its last blocked connector once it is disabled: the block is lifted", async () => {
    const selfService = () =>
      call({
        method: 'POST',
        url: '/v1/tenants/acme/self-service-unblock',
        headers: acmeAdmin,
        payload: { attestations: ATTESTED, connectorIds: ['acme-onprem-2'] },
      });
    const refused = await selfService();
    assert.equal(refused.status, 422);
    assert.match(
      refused.body.message,
      /connector acme-onprem-2 carried 300 unregistered messages and is still enabled/,
    );
    const disabled = await call({
      method: 'PUT',
      url: '/v1/tenants/acme/connectors/acme-onprem-2',
      headers: acmeAdmin,
      payload: { relayPath: 'ONPREM', senderIpRanges: ['198.51.1.0/24'], enabled: false },
    });
    assert.equal(disabled.status, 200);
    const lifted = await selfService();
    assert.equal(lifted.status, 200, JSON.stringify(lifted.body));
    assert.equal(lifted.body.remainingBlock, null);
    assert.deepEqual(lifted.body.liftedConnectorIds, []);
    assert.ok(lifted.body.probationUntil > driver.clock.now());
    await driver.settle();
    assert.equal((await blocksOf('acme')).at(-1)!.kind, 'UNBLOCKED');
    assert.equal((await status('acme')).blocked, false);
    assert.equal((await auditOf(driver, 'acme')).at(-1)!.action, 'tenant.self-service-unblock');
  });
});
