// Cross-tenant claims on the production stack (a real Apache Kafka broker, the Schema Registry double, a real
// Redis), where claims travel through the compacted connectors topic: two admin replicas and an enforcer, each
// with its own directory materialized from Kafka. A claim overlapping another tenant's is refused whichever
// replica it goes to, and when two tenants claim the same range and certificate at the same moment through the
// two replicas, exactly one of them owns it everywhere.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminApi } from '../../services/admin/http/admin-api.js';
import { productionAdapters } from '../../services/app/adapters.js';
import {
  decisionDirectory,
  type Runtime,
  type ServiceName,
  startRuntime,
} from '../../services/app/runtime.js';
import { loadConfig } from '../../services/platform/config.js';
import { createHttpServer, type HttpServer } from '../../services/platform/http-server.js';
import { silentLogger } from '../../services/platform/logger.js';
import { API_TOKENS, bearer, TOKENS } from '../support/admin-api.js';
import { type ProductionStack, startProductionStack } from '../support/production-stack.js';
import { waitFor } from '../support/tether.js';

interface Replica {
  readonly runtime: Runtime;
  readonly http: HttpServer | undefined;
}

describe('tenant isolation on Kafka + Schema Registry + Redis', () => {
  let stack: ProductionStack;
  const replicas: Replica[] = [];
  let adminA: HttpServer;
  let adminB: HttpServer;
  let enforcer: Runtime;

  const start = async (services: ServiceName[]): Promise<Replica> => {
    const config = loadConfig({ ...stack.env, RELAYGUARD_LOG_LEVEL: 'silent' });
    const runtime = await startRuntime(config, {
      services,
      logger: silentLogger,
      adapters: productionAdapters(config, silentLogger),
    });
    let http: HttpServer | undefined;
    if (runtime.admin) {
      http = createHttpServer({ logger: silentLogger, metrics: runtime.metrics, isReady: () => true });
      await http.register(adminApi, {
        prefix: '/v1',
        admin: runtime.admin,
        auditTrail: runtime.auditTrail!,
        tokens: API_TOKENS,
        metrics: runtime.metrics,
        rateLimitPerMinute: 10_000,
        isReady: () => true,
      });
    }
    const replica = { runtime, http };
    replicas.push(replica);
    await runtime.ready;
    return replica;
  };

  const putConnector = (
    server: HttpServer,
    tenantId: 'acme' | 'globex',
    connectorId: string,
    claim: { ranges: string[]; certificate: string | null },
  ) =>
    server.inject({
      method: 'PUT',
      url: `/v1/tenants/${tenantId}/connectors/${connectorId}`,
      headers: bearer(tenantId === 'acme' ? TOKENS.acmeAdmin : TOKENS.globexAdmin),
      payload: {
        relayPath: 'ONPREM',
        senderIpRanges: claim.ranges,
        tlsCertificateDomain: claim.certificate,
        enabled: true,
      },
    });

  /** Every directory (both admin replicas and the enforcer) holds these connectors. */
  const everywhere = (connectors: readonly [string, string][]) =>
    waitFor(
      () =>
        replicas.every(({ runtime }) =>
          connectors.every(([tenantId, id]) => runtime.directory.connector(tenantId, id) !== undefined),
        ),
      { timeoutMs: 30_000, description: `${connectors.join(', ')} in every directory` },
    );

  /** Who each directory says owns the address and the certificate. */
  const owners = (address: string, certificate: string) =>
    replicas.map(({ runtime }) => [
      decisionDirectory(runtime).resolveByAddress(address)?.tenantId ?? null,
      decisionDirectory(runtime).resolveByCertificate(certificate)?.tenantId ?? null,
    ]);

  before(async () => {
    stack = await startProductionStack();
    adminA = (await start(['admin'])).http!;
    adminB = (await start(['admin'])).http!;
    enforcer = (await start(['enforcer'])).runtime;
  });
  after(async () => {
    for (const { runtime, http } of replicas) {
      await http?.close();
      await runtime.stop();
    }
    await stack?.stop();
  });

  it("refuses, through either replica, a claim inside, around or on another tenant's range or certificate", async () => {
    const acme = await putConnector(adminA, 'acme', 'hq', {
      ranges: ['203.0.113.0/24'],
      certificate: 'mx.acme.example',
    });
    assert.equal(acme.statusCode, 201, acme.body);
    await everywhere([['acme', 'hq']]);
    const squats = [
      { ranges: ['203.0.113.7/32'], certificate: null },
      { ranges: ['203.0.0.0/16'], certificate: null },
      { ranges: ['::ffff:203.0.113.0/120'], certificate: null },
      { ranges: [], certificate: 'MX.Acme.Example.' },
    ];
    for (const [i, claim] of squats.entries()) {
      for (const replica of [adminA, adminB]) {
        const refused = await putConnector(replica, 'globex', `squat-${i}`, claim);
        assert.equal(refused.statusCode, 409, `${JSON.stringify(claim)}: ${refused.body}`);
        assert.equal(refused.json().error, 'CLAIM_CONFLICT');
      }
    }
    assert.deepEqual(owners('203.0.113.7', 'mx.acme.example'), [
      ['acme', 'acme'],
      ['acme', 'acme'],
      ['acme', 'acme'],
    ]);
    assert.equal(decisionDirectory(enforcer).resolveByAddress('203.0.113.7')?.connector.connectorId, 'hq');
  });

  it('gives a range and a certificate two tenants claim at once through two replicas to exactly one, everywhere', async () => {
    const claim = { ranges: ['198.51.100.0/24'], certificate: 'mx.shared.example' };
    const [acme, globex] = await Promise.all([
      putConnector(adminA, 'acme', 'race', claim),
      putConnector(adminB, 'globex', 'race', claim),
    ]);
    const accepted = [acme, globex].map((response) => response.statusCode);
    assert.ok(
      accepted.every((status) => status === 201 || status === 409),
      `${acme.body} / ${globex.body}`,
    );
    assert.ok(accepted.includes(201), 'one of them won');
    const saved: [string, string][] = [];
    if (acme.statusCode === 201) saved.push(['acme', 'race']);
    if (globex.statusCode === 201) saved.push(['globex', 'race']);
    await everywhere(saved);
    const seen = owners('198.51.100.7', 'mx.shared.example');
    const [winner] = seen[0]!;
    assert.ok(winner === 'acme' || winner === 'globex', `owner ${winner}`);
    assert.deepEqual(
      seen,
      replicas.map(() => [winner, winner]),
      'both admin replicas and the enforcer agree on one owner of the range and the certificate',
    );
    // The loser, if both were accepted, identifies nothing with it; a later claim by it is refused.
    const loser = winner === 'acme' ? 'globex' : 'acme';
    const again = await putConnector(loser === 'acme' ? adminA : adminB, loser, 'race-again', claim);
    assert.equal(again.statusCode, 409, again.body);
  });
});
