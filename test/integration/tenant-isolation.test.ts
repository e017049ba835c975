// Issue 14 as a hostile tenant administrator plays it: acme's admin tries to take bravo's and delta's relays
// through the admin API, and the relays' own policy requests show whose mail it is afterwards. acme is blocked,
// so any of bravo's or delta's mail attributed to acme would be answered 550 5.7.750.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { wholeDirectory } from '../../services/app/runtime.js';
import { PolicyClient } from '../../services/cli/simulation/policy-client.js';
import { type AdminServer, bearer, OTHER_TENANT_ADMINS, TOKENS } from '../support/admin-api.js';
import { onpremConnector } from '../support/builders.js';
import {
  blockAfter,
  blockThroughRelay,
  type EnforcementHarness,
  exampleTenant,
  onboard,
  REJECTED,
  rcpt,
  startEnforcement,
} from '../support/enforcement.js';
import { type IsolationStage, startIsolationStage } from '../support/isolation-stage.js';
import { OPERATOR } from '../support/pipeline-driver.js';

const REJECT = REJECTED;
const BRAVO_TOKEN = OTHER_TENANT_ADMINS.bravo;
const DELTA_TOKEN = OTHER_TENANT_ADMINS.delta;

describe('tenant isolation: relays', () => {
  let stage: IsolationStage;
  let harness: EnforcementHarness;
  let app: AdminServer;
  let relay: PolicyClient;

  const put = (token: string, tenantId: string, connectorId: string, body: Record<string, unknown>) =>
    app.inject({
      method: 'PUT',
      url: `/v1/tenants/${tenantId}/connectors/${connectorId}`,
      headers: bearer(token),
      payload: { relayPath: 'ONPREM', senderIpRanges: [], enabled: true, ...body },
    });
  /** A relay's RCPT request, optionally with the client certificate Postfix saw. */
  const ask = (clientAddress: string, sender: string, certificate?: string) =>
    relay.request({ ...rcpt(clientAddress, sender), ...(certificate ? { ccert_subject: certificate } : {}) });

  before(async () => {
    ({ harness, app, relay } = stage = await startIsolationStage({
      onboardMore: async (driver) => {
        await driver.runtime.admin!.putConnector(
          OPERATOR,
          'bravo',
          'bravo-v6',
          onpremConnector('2001:db8:b::/48'),
        );
        await onboard(driver, exampleTenant('delta', '198.51.100.0/24'));
        await driver.runtime.admin!.putConnector(OPERATOR, 'delta', 'delta-mx', {
          relayPath: 'ONPREM',
          senderIpRanges: [],
          tlsCertificateDomain: 'mx.delta.example',
          enabled: true,
        });
      },
    }));
  });
  after(() => stage.stop());

  it("refuses another tenant's certificate name in any spelling, and delta's mail stays delta's (reproduction 1)", async () => {
    for (const spelling of ['MX.Delta.Example.', 'mx.delta.example', 'mX.dElTa.ExAmPlE']) {
      const response = await put(TOKENS.acmeAdmin, 'acme', 'cert2', { tlsCertificateDomain: spelling });
      assert.equal(response.statusCode, 409, spelling);
      assert.equal(response.json().error, 'CLAIM_CONFLICT');
      assert.equal(response.json().field, 'tlsCertificateDomain');
      assert.match(
        response.json().message,
        /mx\.delta\.example already identifies another tenant's connector/,
      );
      assert.doesNotMatch(
        response.json().message,
        /delta-mx|\bdelta\b(?!\.example)/,
        "names no other tenant's detail",
      );
    }
    assert.equal(await ask('192.0.2.25', 'promo@elsewhere.example'), REJECT, 'acme itself is blocked');
    // delta's own mail, from delta's address and certificate, is delta's (not blocked): accepted.
    assert.equal(await ask('198.51.100.9', 'promo@elsewhere.example', 'mx.delta.example'), 'DUNNO');
    assert.equal(harness.driver.runtime.directory.connector('acme', 'cert2'), undefined);
  });

  it("refuses ranges that are, lie inside or cover another tenant's, and over-broad ranges (reproduction 2)", async () => {
    const cases: [string, number, string][] = [
      ['203.0.113.7/32', 409, 'CLAIM_CONFLICT'],
      ['203.0.113.0/24', 409, 'CLAIM_CONFLICT'],
      ['203.0.0.0/16', 409, 'CLAIM_CONFLICT'],
      ['2001:db8::/32', 409, 'CLAIM_CONFLICT'],
      ['::ffff:203.0.113.7/128', 409, 'CLAIM_CONFLICT'],
      ['0.0.0.0/0', 403, 'OPERATOR_ONLY'],
      ['::/0', 403, 'OPERATOR_ONLY'],
      ['10.0.0.0/8', 403, 'OPERATOR_ONLY'],
      ['10.0.0.1/8', 400, 'INVALID_ADDRESS'],
    ];
    for (const [range, status, error] of cases) {
      const response = await put(TOKENS.acmeAdmin, 'acme', 'squat', { senderIpRanges: [range] });
      assert.equal(response.statusCode, status, range);
      assert.equal(response.json().error, error, range);
      assert.equal(response.json().field, 'senderIpRanges[0]', range);
    }
    const hostBits = await put(TOKENS.acmeAdmin, 'acme', 'squat', { senderIpRanges: ['10.0.0.1/8'] });
    assert.match(hostBits.json().message, /has host bits set; the range it names is 10\.0\.0\.0\/8/);
    // An operator may claim a catch-all for a tenant, but not over another tenant's ranges.
    const operatorCatchAll = await put(TOKENS.operator, 'acme', 'squat', { senderIpRanges: ['0.0.0.0/0'] });
    assert.equal(operatorCatchAll.statusCode, 409);
    // bravo's mail from inside its own range is bravo's, not blocked acme's.
    assert.equal(await ask('203.0.113.7', 'promo@elsewhere.example'), 'DUNNO');
    assert.equal(await ask('2001:db8:b::25', 'promo@elsewhere.example'), 'DUNNO');
    assert.equal(harness.driver.runtime.directory.connector('acme', 'squat'), undefined);
  });

  it('keeps a disabled connector owning its range: bravo re-enables it and its mail stays bravo’s', async () => {
    const disable = await put(BRAVO_TOKEN, 'bravo', 'bravo-connector', {
      senderIpRanges: ['203.0.113.0/24'],
      enabled: false,
    });
    assert.equal(disable.statusCode, 200);
    const squat = await put(TOKENS.acmeAdmin, 'acme', 'squat', { senderIpRanges: ['203.0.113.0/24'] });
    assert.equal(squat.statusCode, 409);
    assert.equal(
      await ask('203.0.113.7', 'promo@elsewhere.example'),
      'DUNNO',
      'a disabled range is nobody’s',
    );
    const enable = await put(BRAVO_TOKEN, 'bravo', 'bravo-connector', { senderIpRanges: ['203.0.113.0/24'] });
    assert.equal(enable.statusCode, 200);
    assert.equal(
      harness.driver.runtime.enforcer!.resolve({ clientAddress: '203.0.113.7' })?.tenantId,
      'bravo',
    );
  });

  it('stores an IPv4-mapped IPv6 range as the IPv4 range it is, so it matches', async () => {
    const response = await put(TOKENS.acmeAdmin, 'acme', 'mapped', {
      senderIpRanges: ['::ffff:192.0.2.128/121'],
    });
    assert.equal(response.statusCode, 201);
    assert.deepEqual(response.json().connector.senderIpRanges, ['192.0.2.128/25']);
    assert.equal(
      harness.driver.runtime.enforcer!.resolve({ clientAddress: '192.0.2.130' })?.connector?.connectorId,
      'mapped',
    );
  });

  it('lets only an operator mark a connector FORWARDED, whose unregistered mail weighs 0 (reproduction 4)', async () => {
    const exempt = await put(TOKENS.acmeAdmin, 'acme', 'acme-connector', {
      relayPath: 'FORWARDED',
      senderIpRanges: ['192.0.2.0/24'],
    });
    assert.equal(exempt.statusCode, 403);
    assert.equal(exempt.json().error, 'OPERATOR_ONLY');
    assert.equal(exempt.json().field, 'relayPath');
    assert.equal(harness.driver.runtime.directory.connector('acme', 'acme-connector')?.relayPath, 'ONPREM');
    const created = await put(TOKENS.acmeAdmin, 'acme', 'new-forwarder', {
      relayPath: 'FORWARDED',
      senderIpRanges: ['192.0.2.64/26'],
    });
    assert.equal(created.statusCode, 403);
    // An operator's FORWARDED connector stays so when the tenant saves it again.
    const reviewed = await put(TOKENS.operator, 'acme', 'forwarder', {
      relayPath: 'FORWARDED',
      senderIpRanges: ['192.0.2.64/26'],
    });
    assert.equal(reviewed.statusCode, 201);
    const resaved = await put(TOKENS.acmeAdmin, 'acme', 'forwarder', {
      relayPath: 'FORWARDED',
      senderIpRanges: ['192.0.2.64/26'],
      enabled: false,
    });
    assert.equal(resaved.statusCode, 200);
  });

  it('lets exactly one of many concurrent claims on one range win, whichever tenants make them', async () => {
    const claims = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        i % 2 === 0
          ? put(TOKENS.acmeAdmin, 'acme', `race-${i}`, { senderIpRanges: ['100.64.7.0/24'] })
          : put(DELTA_TOKEN, 'delta', `race-${i}`, { senderIpRanges: ['100.64.7.0/24'] }),
      ),
    );
    const statuses = claims.map((response) => response.statusCode);
    assert.equal(statuses.filter((status) => status === 201).length, 1, String(statuses));
    assert.equal(statuses.filter((status) => status === 409).length, 5, String(statuses));
  });
});

describe('tenant isolation: sender forms that used to go unscored (reproduction 5)', () => {
  let harness: EnforcementHarness;
  let relay: PolicyClient;

  before(async () => {
    harness = await startEnforcement({ env: { RELAYGUARD_BLOCKED_BOUNCES_PER_HOUR: '2' } });
    const { driver } = harness;
    const tenants = [
      ['bounces', '100.64.1.0/24'],
      ['literals', '100.64.2.0/24'],
      ['junk', '100.64.3.0/24'],
    ] as const;
    for (const [tenantId, senderIpRange] of tenants) {
      await onboard(driver, exampleTenant(tenantId, senderIpRange, blockAfter(3)));
    }
    relay = await PolicyClient.connect(harness.policy.host, harness.policy.port);
  });
  after(async () => {
    relay.close();
    await harness.stop();
  });

  const floodAndBlock = (tenantId: string, clientAddress: string, sender: (i: number) => string) =>
    blockThroughRelay(harness, relay, tenantId, clientAddress, { sender });

  it('counts null-sender mail without a header From, and lets a blocked tenant relay only a trickle of it', async () => {
    await floodAndBlock('bounces', '100.64.1.9', () => '');
    const evidence = wholeDirectory(harness.driver.runtime).tenant('bounces')!.block!.evidence;
    assert.deepEqual(
      evidence.topDomains.map((entry) => entry.domain),
      ['null-sender.invalid'],
    );
    // Bounces still flow while the tenant is blocked, up to its allowance (2 an hour here); a flood does not.
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await relay.request(rcpt('100.64.1.9', '')));
    assert.deepEqual(answers, ['DUNNO', 'DUNNO', REJECT, REJECT]);
    assert.equal(
      await relay.request(rcpt('100.64.1.9', 'it@bounces.example')),
      'DUNNO',
      'registered mail flows',
    );
  });

  it('counts address-literal senders, and rejects them while the tenant is blocked', async () => {
    await floodAndBlock('literals', '100.64.2.9', (i) => `x@[192.0.2.${i}]`);
    assert.equal(await relay.request(rcpt('100.64.2.9', 'x@[192.0.2.200]')), REJECT);
  });

  it('counts unparsable senders, and rejects them while the tenant is blocked', async () => {
    await floodAndBlock('junk', '100.64.3.9', (i) => `junk-${i}`);
    assert.equal(await relay.request(rcpt('100.64.3.9', 'junk')), REJECT);
  });
});
