// The remediation story of the seed document, end to end through the admin API on the embedded pipeline: a
// compromised tenant is blocked -> its status shows the evidence and the review names the newly created
// connector that carried the spam -> the tenant admin registers the missing domain and disables that connector
// -> the operator unblocks with attestations and a ticket -> mail from the newly registered domain is accepted
// and the old evidence does not block the tenant again -> the audit topic holds each step.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import type { MessageSubmitted } from '../../services/core/contracts.generated.js';
import { type AdminServer, ATTESTED, auditOf, bearer, startAdminApi, TOKENS } from '../support/admin-api.js';
import { messageSubmitted } from '../support/builders.js';
import { type DnsServer, startDnsServer } from '../support/dns-server.js';
import { type PipelineDriver, startPipeline } from '../support/pipeline-driver.js';

const MINUTE = 60_000;
const ONBOARDED = Date.UTC(2026, 9, 1, 9);
const SPIKE = Date.UTC(2026, 10, 28, 9);

describe('remediation of a compromised tenant', () => {
  let driver: PipelineDriver;
  let app: AdminServer;
  let dns: DnsServer;
  const operator = bearer(TOKENS.operator);
  const tenantAdmin = bearer(TOKENS.acmeAdmin);
  const spam: MessageSubmitted[] = [];

  const call = async (options: InjectOptions) => {
    const response = await app.inject(options);
    return { status: response.statusCode, body: response.body === '' ? undefined : response.json() };
  };
  /** Saves one of acme's on-premises connectors, sending from one range. */
  const putConnector = (
    headers: { authorization: string },
    connectorId: string,
    senderIpRange: string,
    enabled: boolean,
  ) =>
    call({
      method: 'PUT',
      url: `/v1/tenants/acme/connectors/${connectorId}`,
      headers,
      payload: { relayPath: 'ONPREM', senderIpRanges: [senderIpRange], enabled },
    });
  /** Asks to lift acme's block with these attestations and the story's ticket. */
  const unblock = (headers: { authorization: string }, attestations: object) =>
    call({
      method: 'POST',
      url: '/v1/tenants/acme/unblock',
      headers,
      payload: { ticket: 'SUP-4711', attestations },
    });
  const decide = (clientAddress: string, sender: string) =>
    driver.runtime.enforcer!.decide({ clientAddress, sender }, 'RCPT');

  before(async () => {
    dns = await startDnsServer();
    // The seed's story blocks the whole tenant: under the default scope (auto) only the rogue connector would be
    // blocked, the remediation of which test/e2e/connector-scope-operator.test.ts follows.
    driver = await startPipeline(
      { RELAYGUARD_DNS_SERVERS: dns.address, RELAYGUARD_BLOCK_SCOPE: 'tenant' },
      ONBOARDED,
    );
    app = await startAdminApi(driver);
  });
  after(async () => {
    await app.close();
    await driver.stop();
    await dns.stop();
  });

  it('blocks the tenant whose new connector relays spam', async () => {
    // Onboarding, two months before: the registered domain and the on-premises server's connector.
    assert.equal(
      (
        await call({
          method: 'PUT',
          url: '/v1/tenants/acme/accepted-domains/acme.example',
          headers: operator,
          payload: { matchSubdomains: true },
        })
      ).status,
      201,
    );
    const hq = await putConnector(operator, 'acme-hq', '198.51.100.0/24', true);
    assert.equal(hq.status, 201);

    // The attacker, with the tenant admin's credentials, adds a connector for the compromised server.
    driver.clock.set(SPIKE - 2 * 60 * MINUTE);
    const rogue = await putConnector(tenantAdmin, 'relay-7', '203.0.113.0/24', true);
    assert.equal(rogue.status, 201);

    // Normal mail, some of it from acme-mail.example, a domain the tenant uses but never registered; then spam.
    const normal = Array.from({ length: 100 }, (_, i) =>
      messageSubmitted({
        tenantId: 'acme',
        occurredAt: SPIKE + i * 3000,
        envelopeSenderDomain: i % 5 === 0 ? 'acme-mail.example' : 'acme.example',
        connectorId: 'acme-hq',
      }),
    );
    spam.push(
      ...Array.from({ length: 600 }, (_, i) =>
        messageSubmitted({
          tenantId: 'acme',
          occurredAt: SPIKE + 2 * MINUTE + i * 800,
          envelopeSenderDomain: `offer${i % 90}.example`,
          connectorId: 'relay-7',
        }),
      ),
    );
    driver.clock.set(SPIKE + 12 * MINUTE);
    await driver.publish([...normal, ...spam]);
    await driver.settle();
    assert.equal(
      decide('203.0.113.9', 'x@offer1.example').action,
      'REJECT',
      'spam through the new connector is rejected',
    );
    const blocked = decide('198.51.100.7', 'billing@acme-mail.example');
    assert.equal(blocked.action, 'REJECT', 'the unregistered domain of the tenant is rejected while blocked');
  });

  it("shows the evidence in the tenant's status and names the new connector first in the review", async () => {
    const status = await call({
      method: 'GET',
      url: '/v1/tenants/acme/status',
      headers: bearer(TOKENS.reader),
    });
    assert.equal(status.status, 200);
    assert.equal(status.body.blocked, true);
    assert.equal(status.body.mode, 'ENFORCE');
    const evidence = status.body.block.evidence;
    assert.ok(evidence.unregistered >= 100, `U = ${evidence.unregistered}`);
    assert.ok(evidence.topDomains.some((d: { domain: string }) => d.domain.startsWith('offer')));
    const carried = evidence.connectors.map((c: { connectorId: string }) => c.connectorId);
    assert.equal(carried[0], 'relay-7');
    assert.equal(evidence.connectors[0].createdAt, SPIKE - 2 * 60 * MINUTE);
    assert.ok(status.body.remediation.warnings.some((w: string) => w.includes('connector relay-7')));
    // A spam domain of the evidence is named without reading as advice to register it.
    const spamDomain = evidence.topDomains[0].domain;
    const aboutDomain = status.body.remediation.warnings.find((w: string) => w.includes(spamDomain));
    assert.match(
      aboutDomain,
      /register it only if the tenant sends from it \(spam domains stay unregistered\)/,
    );
    assert.doesNotMatch(aboutDomain, /still unregistered/);

    const review = await call({
      method: 'GET',
      url: '/v1/tenants/acme/connectors/review',
      headers: tenantAdmin,
    });
    assert.equal(review.status, 200);
    const [first, second] = review.body.connectors;
    assert.equal(first.connectorId, 'relay-7');
    assert.deepEqual(
      first.reasons.map((r: { code: string }) => r.code),
      ['carried-unregistered-volume', 'created-shortly-before-spike', 'new-creator'],
    );
    assert.equal(second.connectorId, 'acme-hq');
    assert.ok(first.score > second.score);
  });

  it('lets the tenant admin register the missing domain and disable the connector, but not lift the block', async () => {
    const domain = await call({
      method: 'PUT',
      url: '/v1/tenants/acme/accepted-domains/acme-mail.example',
      headers: tenantAdmin,
      payload: { matchSubdomains: false },
    });
    assert.equal(domain.status, 201);
    assert.equal(
      decide('198.51.100.7', 'billing@acme-mail.example').action,
      'REJECT',
      'pending until verified',
    );
    // The tenant proves it owns the domain: the TXT record the answer named, then a verification.
    const { txtRecord } = domain.body.verification;
    await dns.setTxtRecords({ [txtRecord.name]: [txtRecord.value] });
    const verified = await call({
      method: 'POST',
      url: '/v1/tenants/acme/accepted-domains/acme-mail.example/verify',
      headers: tenantAdmin,
      payload: {},
    });
    assert.equal(verified.status, 200);
    assert.equal(verified.body.verification.status, 'verified');
    const disabled = await putConnector(tenantAdmin, 'relay-7', '203.0.113.0/24', false);
    assert.equal(disabled.status, 200);
    assert.equal(disabled.body.connector.enabled, false);
    assert.equal(decide('198.51.100.7', 'billing@acme-mail.example').action, 'ACCEPT', 'registered now');
    assert.equal(decide('198.51.100.7', 'x@offer1.example').action, 'REJECT', 'still blocked for the rest');
    assert.equal(decide('203.0.113.9', 'x@offer1.example').action, 'ACCEPT');
    assert.equal(
      (decide('203.0.113.9', 'x@offer1.example') as { reason?: string }).reason,
      'unknown-client',
      'the disabled connector identifies no mail',
    );

    const refused = await unblock(tenantAdmin, ATTESTED);
    assert.equal(refused.status, 403);
    const status = await call({ method: 'GET', url: '/v1/tenants/acme/status', headers: tenantAdmin });
    assert.equal(status.body.blocked, true);
    assert.ok(!status.body.remediation.warnings.some((w: string) => w.includes('connector relay-7')));
  });

  it('lets the operator unblock with attestations and a ticket', async () => {
    driver.clock.set(SPIKE + 40 * MINUTE);
    const missing = await unblock(operator, { domainsRegistered: true, connectorsReviewed: true });
    assert.equal(missing.status, 422);
    assert.equal(missing.body.error, 'ATTESTATION_MISSING');
    const lifted = await unblock(operator, ATTESTED);
    assert.equal(lifted.status, 200);
    assert.equal(lifted.body.tenantId, 'acme');
    assert.equal(lifted.body.unblockedAt, SPIKE + 40 * MINUTE);
    await driver.settle();
    const status = await call({ method: 'GET', url: '/v1/tenants/acme/status', headers: operator });
    assert.equal(status.body.blocked, false);
    assert.equal(status.body.counters.unregistered, 0, 'the unblock cleared the window');
    const blocks = await call({ method: 'GET', url: '/v1/blocks', headers: operator });
    assert.deepEqual(blocks.body.blocks, []);
  });

  it('accepts mail from the newly registered domain, and the old evidence does not block again', async () => {
    const registered = Array.from({ length: 600 }, (_, i) =>
      messageSubmitted({
        tenantId: 'acme',
        occurredAt: SPIKE + 41 * MINUTE + i * 500,
        envelopeSenderDomain: 'acme-mail.example',
        connectorId: 'acme-hq',
      }),
    );
    // The spam again, as a redelivery would bring it: its time is before the unblock.
    const replayed = spam.map((event, i) => ({ ...event, eventId: `replay-${i}` }));
    driver.clock.set(SPIKE + 50 * MINUTE);
    await driver.publish([...replayed, ...registered]);
    await driver.settle();
    assert.equal(decide('198.51.100.7', 'billing@acme-mail.example').action, 'ACCEPT');
    assert.equal(decide('198.51.100.7', 'x@offer1.example').action, 'ACCEPT', 'not blocked');
    const blocks = (await driver.blockEvents()).filter((e) => e.tenantId === 'acme');
    assert.deepEqual(
      blocks.map((e) => e.kind),
      ['BLOCKED', 'UNBLOCKED'],
    );
    const status = await call({ method: 'GET', url: '/v1/tenants/acme/status', headers: operator });
    assert.equal(status.body.blocked, false);
    assert.equal(status.body.counters.unregistered, 0);
    assert.equal(status.body.counters.total, 600, 'the registered mail counts, the replayed spam does not');
  });

  it('holds each step in the audit topic, with who, what, when and the ticket', async () => {
    const audit = await auditOf(driver, 'acme');
    const blockId = (await driver.blockEvents()).find((e) => e.tenantId === 'acme')!.blocked!.blockId;
    const operatorSubject = audit[0]!.actor;
    const adminSubject = audit.find((event) => event.role === 'TENANT_ADMIN')!.actor;
    assert.match(operatorSubject, /^operator#[0-9a-f]{6}$/);
    assert.match(adminSubject, /^tenant-admin:acme#[0-9a-f]{6}$/);
    assert.deepEqual(
      audit.map((event) => [event.action, event.target, event.role]),
      [
        ['accepted-domain.put', 'acme.example', 'OPERATOR'],
        ['connector.put', 'acme-hq', 'OPERATOR'],
        ['connector.put', 'relay-7', 'TENANT_ADMIN'],
        ['accepted-domain.put', 'acme-mail.example', 'TENANT_ADMIN'],
        ['accepted-domain.verify', 'acme-mail.example', 'TENANT_ADMIN'],
        ['connector.put', 'relay-7', 'TENANT_ADMIN'],
        ['tenant.unblock', blockId, 'OPERATOR'],
      ],
    );
    const unblock = audit.at(-1)!;
    assert.equal(unblock.ticket, 'SUP-4711');
    assert.equal(unblock.occurredAt, SPIKE + 40 * MINUTE);
    assert.equal(unblock.details.serversSecured, 'true');
    assert.equal(audit[0]!.occurredAt, ONBOARDED);
    for (const event of audit) assert.ok(!JSON.stringify(event).includes(TOKENS.operator.slice(0, 12)));
  });
});
