// Issue 14, reproduction 3 and "registered means verified": a tenant administrator can add any domain, but it
// counts as registered only once the tenant proved control of it — a TXT record relayguard finds on a real DNS
// server (Debian's dnsmasq on a free loopback port), or an operator's audited assertion — and no domain (or
// subtree) of another tenant, and no public suffix, can be claimed at all. acme is blocked throughout, so a
// domain that counted as registered too early would let its spam through at RCPT.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { wholeDirectory } from '../../services/app/runtime.js';
import type { PolicyClient } from '../../services/cli/simulation/policy-client.js';
import { type AdminServer, auditOf, bearer, OTHER_TENANT_ADMINS, TOKENS } from '../support/admin-api.js';
import { type DnsServer, startDnsServer } from '../support/dns-server.js';
import { type EnforcementHarness, REJECTED, rcpt } from '../support/enforcement.js';
import { type IsolationStage, startIsolationStage } from '../support/isolation-stage.js';
import type { PipelineDriver } from '../support/pipeline-driver.js';

const REJECT = REJECTED;
const BRAVO_TOKEN = OTHER_TENANT_ADMINS.bravo;

describe('accepted domains: registered means verified', () => {
  let dns: DnsServer;
  let stage: IsolationStage;
  let harness: EnforcementHarness;
  let app: AdminServer;
  let relay: PolicyClient;

  const putDomain = (token: string, tenantId: string, domain: string, matchSubdomains = false) =>
    app.inject({
      method: 'PUT',
      url: `/v1/tenants/${tenantId}/accepted-domains/${domain}`,
      headers: bearer(token),
      payload: { matchSubdomains },
    });
  const verify = (token: string, tenantId: string, domain: string, body: Record<string, unknown> = {}) =>
    app.inject({
      method: 'POST',
      url: `/v1/tenants/${tenantId}/accepted-domains/${domain}/verify`,
      headers: bearer(token),
      payload: body,
    });
  /** acme's relay asks at RCPT for a sender at this domain. */
  const acmeSends = (domain: string) => relay.request(rcpt('192.0.2.25', `promo@${domain}`));
  const registered = (tenantId: string, domain: string) =>
    harness.driver.runtime.directory.acceptedDomain(tenantId, domain) !== undefined;

  before(async () => {
    dns = await startDnsServer();
    ({ harness, app, relay } = stage = await startIsolationStage({
      env: { RELAYGUARD_DNS_SERVERS: dns.address },
    }));
  });
  after(async () => {
    await stage.stop();
    await dns.stop();
  });

  it('refuses public suffixes, with or without subdomains (reproduction 3)', async () => {
    for (const suffix of ['co.uk', 'com.br', 'github.io', 'CO.UK.']) {
      const response = await putDomain(TOKENS.acmeAdmin, 'acme', suffix, true);
      assert.equal(response.statusCode, 400, suffix);
      assert.equal(response.json().error, 'INVALID_DOMAIN');
      assert.match(response.json().message, /is a public suffix/);
    }
    assert.equal(await acmeSends('anything.co.uk'), REJECT);
  });

  it("keeps a tenant administrator's new domain pending, and its mail unregistered, until verified (reproduction 3)", async () => {
    const response = await putDomain(TOKENS.acmeAdmin, 'acme', 'spam-sender.example', true);
    assert.equal(response.statusCode, 201);
    const { verification } = response.json();
    assert.equal(verification.status, 'pending');
    assert.equal(verification.method, null);
    assert.equal(verification.txtRecord.name, 'spam-sender.example');
    assert.match(verification.txtRecord.value, /^relayguard-verification=[0-9a-f]{32}$/);
    assert.equal(registered('acme', 'spam-sender.example'), false);
    // acme is blocked: its spam from the domain it just added is still rejected, subdomains too.
    assert.equal(await acmeSends('spam-sender.example'), REJECT);
    assert.equal(await acmeSends('x.spam-sender.example'), REJECT);
    const listed = await app.inject({
      method: 'GET',
      url: '/v1/tenants/acme/accepted-domains',
      headers: bearer(TOKENS.acmeAdmin),
    });
    const entry = listed
      .json()
      .acceptedDomains.find((d: { domain: string }) => d.domain === 'spam-sender.example');
    assert.equal(entry.verification.status, 'pending');
  });

  it('verifies a domain by the TXT record relayguard looks up, and only by its own token', async () => {
    const put = await putDomain(TOKENS.acmeAdmin, 'acme', 'acme-shop.example');
    const expected: string = put.json().verification.txtRecord.value;
    const missing = await verify(TOKENS.acmeAdmin, 'acme', 'acme-shop.example');
    assert.equal(missing.statusCode, 422);
    assert.equal(missing.json().error, 'VERIFICATION_FAILED');
    assert.ok(missing.json().message.includes(`no TXT record "${expected}" at acme-shop.example`));
    // Another tenant's token, and a look-alike, prove nothing.
    const bravoPut = await putDomain(BRAVO_TOKEN, 'bravo', 'acme-shop.example');
    assert.equal(bravoPut.statusCode, 201, 'a pending claim blocks nobody');
    await dns.setTxtRecords({
      'acme-shop.example': [bravoPut.json().verification.txtRecord.value, `${expected}x`, 'v=spf1 -all'],
    });
    assert.equal((await verify(TOKENS.acmeAdmin, 'acme', 'acme-shop.example')).statusCode, 422);
    assert.equal(registered('acme', 'acme-shop.example'), false);

    await dns.setTxtRecords({ 'acme-shop.example': ['v=spf1 -all', expected] });
    const verified = await verify(TOKENS.acmeAdmin, 'acme', 'acme-shop.example');
    assert.equal(verified.statusCode, 200);
    assert.equal(verified.json().verification.status, 'verified');
    assert.equal(verified.json().verification.method, 'DNS_TXT');
    assert.equal(registered('acme', 'acme-shop.example'), true);
    assert.equal(await acmeSends('acme-shop.example'), 'DUNNO', 'registered mail of a blocked tenant flows');
    const audit = (await auditOf(harness.driver as PipelineDriver, 'acme')).filter(
      (event) => event.action === 'accepted-domain.verify',
    );
    assert.deepEqual(
      audit.map((event) => [event.target, event.details.verification]),
      [['acme-shop.example', 'DNS_TXT']],
    );
    // bravo holds a TXT record of its own there too, but the domain is acme's now.
    await dns.setTxtRecords({ 'acme-shop.example': [bravoPut.json().verification.txtRecord.value] });
    const late = await verify(BRAVO_TOKEN, 'bravo', 'acme-shop.example');
    assert.equal(late.statusCode, 409);
    assert.equal(late.json().error, 'CLAIM_CONFLICT');
    assert.doesNotMatch(late.json().message, /acme\b(?!-shop)/, 'the owner is not named');
    assert.equal(registered('bravo', 'acme-shop.example'), false);
  });

  it("refuses another tenant's verified domain, a name under its subtree and a subtree over it", async () => {
    // bravo.example is bravo's, subdomains included (the operator registered it).
    const cases: [string, boolean][] = [
      ['bravo.example', false],
      ['BRAVO.example.', false],
      ['mail.bravo.example', false],
      ['example', true],
    ];
    for (const [domain, matchSubdomains] of cases) {
      const response = await putDomain(TOKENS.acmeAdmin, 'acme', domain, matchSubdomains);
      if (domain === 'example') {
        // `example` alone is one label: not a domain at all.
        assert.equal(response.statusCode, 400, domain);
        continue;
      }
      assert.equal(response.statusCode, 409, domain);
      assert.equal(response.json().error, 'CLAIM_CONFLICT', domain);
    }
    assert.equal((await putDomain(TOKENS.operator, 'bravo', 'shop.bravo-group.example')).statusCode, 201);
    const over = await putDomain(TOKENS.acmeAdmin, 'acme', 'bravo-group.example', true);
    assert.equal(over.statusCode, 409);
    assert.match(over.json().message, /covers shop\.bravo-group\.example/);
    assert.equal((await putDomain(TOKENS.acmeAdmin, 'acme', 'bravo-group.example', false)).statusCode, 201);
    assert.equal(registered('acme', 'bravo.example'), false);
  });

  it('takes an operator assertion as verification, audited with its ticket; a tenant administrator cannot assert', async () => {
    await putDomain(TOKENS.acmeAdmin, 'acme', 'acme-legacy.example');
    const self = await verify(TOKENS.acmeAdmin, 'acme', 'acme-legacy.example', { method: 'OPERATOR' });
    assert.equal(self.statusCode, 403);
    assert.equal(self.json().error, 'OPERATOR_ONLY');
    assert.equal(registered('acme', 'acme-legacy.example'), false);
    const asserted = await verify(TOKENS.operator, 'acme', 'acme-legacy.example', {
      method: 'OPERATOR',
      ticket: 'SUP-77',
    });
    assert.equal(asserted.statusCode, 200);
    assert.equal(asserted.json().verification.method, 'OPERATOR');
    assert.equal(registered('acme', 'acme-legacy.example'), true);
    const audit = (await auditOf(harness.driver as PipelineDriver, 'acme')).find(
      (event) => event.target === 'acme-legacy.example' && event.action === 'accepted-domain.verify',
    );
    assert.equal(audit?.ticket, 'SUP-77');
    assert.equal(audit?.details.verification, 'OPERATOR');
  });

  it('lets one of two tenants verifying one domain at once win', async () => {
    const acme = await putDomain(TOKENS.acmeAdmin, 'acme', 'contested.example');
    const bravo = await putDomain(BRAVO_TOKEN, 'bravo', 'contested.example');
    await dns.setTxtRecords({
      'contested.example': [
        acme.json().verification.txtRecord.value,
        bravo.json().verification.txtRecord.value,
      ],
    });
    const results = await Promise.all([
      verify(TOKENS.acmeAdmin, 'acme', 'contested.example'),
      verify(BRAVO_TOKEN, 'bravo', 'contested.example'),
    ]);
    assert.deepEqual(results.map((response) => response.statusCode).sort(), [200, 409]);
    assert.equal(
      [registered('acme', 'contested.example'), registered('bravo', 'contested.example')].filter(Boolean)
        .length,
      1,
    );
  });

  it('reports a verified domain whose TXT record is gone at a re-check, and keeps it registered', async () => {
    const put = await putDomain(TOKENS.acmeAdmin, 'acme', 'acme-blog.example');
    const { txtRecord } = put.json().verification;
    await dns.setTxtRecords({ [txtRecord.name]: [txtRecord.value] });
    assert.equal((await verify(TOKENS.acmeAdmin, 'acme', 'acme-blog.example')).statusCode, 200);
    const admin = harness.driver.runtime.admin!;
    const lostAt = async () => {
      const listed = admin.listAcceptedDomains('acme').find((entry) => entry.domain === 'acme-blog.example');
      return listed?.verification.recordLostAt;
    };
    const lostGauge = async () =>
      (await harness.driver.runtime.metrics.domainVerificationLost.get()).values[0]?.value;
    await admin.recheckVerifiedDomains();
    assert.equal(await lostAt(), null);
    // Every record is gone now, those of the domains verified by the tests above too.
    const dnsVerified = [...wholeDirectory(harness.driver.runtime).tenants()].flatMap((record) =>
      record.acceptedDomains.filter((entry) => entry.verification?.method === 'DNS_TXT'),
    ).length;
    await dns.setTxtRecords({});
    await admin.recheckVerifiedDomains();
    assert.equal(await lostAt(), harness.driver.clock.now());
    assert.equal(await lostGauge(), dnsVerified);
    assert.equal(registered('acme', 'acme-blog.example'), true, 'reported, not enforced');
    await dns.setTxtRecords({ [txtRecord.name]: [txtRecord.value] });
    await admin.recheckVerifiedDomains();
    assert.equal(await lostAt(), null);
    assert.equal(await lostGauge(), dnsVerified - 1);
  });

  it('answers 503 when the DNS server does not answer, changing nothing', async () => {
    await putDomain(TOKENS.acmeAdmin, 'acme', 'acme-later.example');
    await dns.stop();
    const response = await verify(TOKENS.acmeAdmin, 'acme', 'acme-later.example');
    assert.equal(response.statusCode, 503);
    assert.equal(response.json().error, 'UNAVAILABLE');
    assert.match(response.json().message, /DNS lookup of acme-later\.example failed/);
    assert.equal(registered('acme', 'acme-later.example'), false);
    await dns.setTxtRecords({});
  });
});
