// Admin tokens (parsing RELAYGUARD_TOKENS, verification, subjects), the connector review ranking, and the A-label
// check of domain normalization the admin API relies on.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { reviewConnectors } from '../../../services/admin/connector-review.js';
import { actorOf, allows, refusal } from '../../../services/admin/http/auth.js';
import { TENANT_SCOPE } from '../../../services/core/block-event.js';
import type { ActiveBlock, Connector } from '../../../services/core/directory.js';
import { normalizeDomain } from '../../../services/core/domain-name.js';
import { isRelayguardError } from '../../../services/core/errors.js';
import { DEFAULT_POLICY } from '../../../services/core/policy.js';
import { TokenVerifier, tokenSubject } from '../../../services/platform/bearer-auth.js';
import { loadConfig } from '../../../services/platform/config.js';

const OPERATOR_TOKEN = 'op-7f3a9c2e5b8d1046';
const ADMIN_TOKEN = 'adm-4e9b2c7a1f5d8036';
const RELAY_TOKEN = 'rly-8c1e6a3f9d2b5740';
const READER_TOKEN = 'rd-5b2f8e1c9a7d3064';

function configError(tokens: string): string {
  try {
    loadConfig({ RELAYGUARD_TOKENS: tokens });
  } catch (error) {
    assert.ok(isRelayguardError(error) && error.code === 'INVALID_CONFIG');
    assert.equal(error.field, 'RELAYGUARD_TOKENS');
    return error.message;
  }
  assert.fail('expected INVALID_CONFIG');
}

describe('RELAYGUARD_TOKENS', () => {
  it('parses operator, reader, tenant-admin and relay tokens', () => {
    const config = loadConfig({
      RELAYGUARD_TOKENS: ` ${OPERATOR_TOKEN}:operator, ${READER_TOKEN}:reader,${ADMIN_TOKEN}:tenant-admin:acme.eu,${RELAY_TOKEN}:relay `,
    });
    assert.deepEqual(config.tokens, [
      { token: OPERATOR_TOKEN, role: 'operator', tenantId: null },
      { token: READER_TOKEN, role: 'reader', tenantId: null },
      { token: ADMIN_TOKEN, role: 'tenant-admin', tenantId: 'acme.eu' },
      { token: RELAY_TOKEN, role: 'relay', tenantId: null },
    ]);
    assert.deepEqual(loadConfig({}).tokens, []);
  });

  it('names the variable and the entry, says what to fix, and never echoes a token', () => {
    const cases: [string, RegExp][] = [
      ['short:operator', /entry 1: the token must be at least 16 characters/],
      [
        `${OPERATOR_TOKEN}:admin`,
        /entry 1: expected <token>:operator, <token>:reader, <token>:relay or <token>:tenant-admin:<tenantId>/,
      ],
      [`${RELAY_TOKEN}:relay:acme`, /entry 1: expected <token>:operator/],
      [`${OPERATOR_TOKEN}:operator:acme`, /entry 1: expected <token>:operator/],
      [
        `${OPERATOR_TOKEN}:operator,${ADMIN_TOKEN}:tenant-admin`,
        /entry 2: expected <token>:tenant-admin:<tenantId> with a tenant id of 1-128/,
      ],
      [`${ADMIN_TOKEN}:tenant-admin:bad id`, /entry 1: expected <token>:tenant-admin:<tenantId>/],
      [`${OPERATOR_TOKEN}:operator,${OPERATOR_TOKEN}:reader`, /entry 2: the same token appears twice/],
      // Long enough, and guessed at once.
      ['passwordpassword:operator', /entry 1: the token is guessable .*openssl rand -hex 24/],
      [`${OPERATOR_TOKEN}:operator,aaaaaaaaaaaaaaaaaaaa:reader`, /entry 2: the token is guessable/],
      ['0123456789abcdefghij:relay', /entry 1: the token is guessable/],
      ['MyRelayguardPassword1234:operator', /entry 1: the token is guessable/],
    ];
    for (const [value, expected] of cases) {
      const message = configError(value);
      assert.match(message, /RELAYGUARD_TOKENS: /);
      assert.match(message, expected);
      assert.doesNotMatch(
        message,
        /7f3a9c2e|4e9b2c7a|8c1e6a3f|short|password|aaaa|0123/,
        'no token in the message',
      );
    }
  });
});

describe('RELAYGUARD_TOKENS: random tokens pass the guessability check', () => {
  it('takes every token of `openssl rand -hex 24` and of -hex 12, whatever runs they happen to hold', () => {
    for (let i = 0; i < 2_000; i++) {
      const tokens = [randomBytes(24).toString('hex'), randomBytes(12).toString('hex')];
      const entries = tokens.map((token, at) => `${token}:${at === 0 ? 'operator' : 'relay'}`).join(',');
      assert.equal(loadConfig({ RELAYGUARD_TOKENS: entries }).tokens.length, 2, entries);
    }
  });
});

describe('TokenVerifier', () => {
  const verifier = new TokenVerifier([
    { token: OPERATOR_TOKEN, role: 'operator', tenantId: null },
    { token: ADMIN_TOKEN, role: 'tenant-admin', tenantId: 'acme' },
    { token: RELAY_TOKEN, role: 'relay', tenantId: null },
  ]);

  it('resolves a bearer token to its principal, named by a digest-based subject', () => {
    const principal = verifier.verify(`Bearer ${ADMIN_TOKEN}`)!;
    assert.equal(principal.tokenRole, 'tenant-admin');
    assert.equal(actorOf(principal).role, 'TENANT_ADMIN');
    assert.equal(principal.tenantId, 'acme');
    assert.match(principal.subject, /^tenant-admin:acme#[0-9a-f]{6}$/);
    assert.equal(
      principal.subject,
      tokenSubject({ token: ADMIN_TOKEN, role: 'tenant-admin', tenantId: 'acme' }),
    );
    assert.ok(!principal.subject.includes(ADMIN_TOKEN.slice(0, 6)));
    assert.equal(actorOf(verifier.verify(`bearer ${OPERATOR_TOKEN}`)!).role, 'OPERATOR');
  });

  it('lets a relay token pass no admin access rule, and says what it is for', () => {
    const relay = verifier.verify(`Bearer ${RELAY_TOKEN}`)!;
    assert.match(relay.subject, /^relay#[0-9a-f]{6}$/);
    for (const access of ['tenant-read', 'tenant-write', 'operator', 'global-read'] as const) {
      assert.equal(allows(relay, access, 'acme'), false, access);
      assert.match(refusal(relay, access, 'acme'), /a relay token may only ask for decisions/);
    }
    assert.throws(() => actorOf(relay), /relay token/);
  });

  it('refuses missing, malformed, unknown and prefix tokens', () => {
    for (const header of [
      undefined,
      '',
      OPERATOR_TOKEN,
      `Basic ${OPERATOR_TOKEN}`,
      'Bearer ',
      `Bearer ${OPERATOR_TOKEN.slice(0, -1)}`,
      `Bearer ${OPERATOR_TOKEN}x`,
      `Bearer ${OPERATOR_TOKEN} extra`,
    ]) {
      assert.equal(verifier.verify(header), null, String(header));
    }
  });
});

describe('connector review', () => {
  const HOUR = 3_600_000;
  const now = Date.UTC(2026, 10, 28, 12);
  const blockedAt = now - HOUR;
  const connector = (
    id: string,
    createdAt: number,
    createdBy: string,
    changes: Partial<Connector> = {},
  ): Connector => ({
    tenantId: 'acme',
    connectorId: id,
    relayPath: 'ONPREM',
    senderIpRanges: ['192.0.2.0/24'],
    tlsCertificateDomain: null,
    enabled: true,
    createdAt,
    createdBy,
    updatedAt: createdAt,
    updatedBy: createdBy,
    changedAt: createdAt,
    identifiersSince: {},
    ...changes,
  });
  const block = (connectors: [string, number][]): ActiveBlock => ({
    blockId: 'acme@x',
    blockedAt,
    mode: 'ENFORCE',
    reason: 'VOLUME',
    policyVersion: 'v',
    probation: false,
    ...TENANT_SCOPE,
    evidence: {
      windowStart: blockedAt - HOUR,
      windowEnd: blockedAt,
      unregistered: 600,
      forwardedUnregistered: 0,
      total: 700,
      distinctUnregisteredDomains: 60,
      thresholds: DEFAULT_POLICY.thresholds,
      topDomains: [],
      connectors: connectors.map(([connectorId, messages]) => ({
        connectorId,
        messages,
        createdAt: null,
        total: messages,
        distinctUnregisteredDomains: 1,
      })),
    },
    connectorsAtBlock: {},
  });

  it('ranks the connector created before the spike that carried the volume first, with its reasons', () => {
    const review = reviewConnectors({
      now,
      connectors: [
        connector('hq', now - 90 * 24 * HOUR, 'operator#aaaaaa'),
        connector('branch', now - 60 * 24 * HOUR, 'operator#aaaaaa', {
          changedAt: blockedAt - 3 * HOUR,
          updatedBy: 'tenant-admin:acme#bbbbbb',
        }),
        connector('relay-new', blockedAt - 2 * HOUR, 'tenant-admin:acme#bbbbbb'),
      ],
      block: block([
        ['relay-new', 540],
        ['hq', 60],
      ]),
      window: new Map(),
    });
    assert.deepEqual(
      review.map((r) => [r.connectorId, r.score, r.reasons.map((reason) => reason.code)]),
      [
        ['relay-new', 81, ['carried-unregistered-volume', 'created-shortly-before-spike', 'new-creator']],
        ['branch', 20, ['changed-shortly-before-spike']],
        ['hq', 4, ['carried-unregistered-volume']],
      ],
    );
    assert.equal(
      review[0]!.reasons[0]!.detail,
      "carried 540 unregistered messages in the block's evidence (90% of them)",
    );
    assert.equal(review[0]!.reasons[1]!.detail, 'created 2 h before the block, by tenant-admin:acme#bbbbbb');
    assert.deepEqual(review[0]!.unregisteredMessages, { evidence: 540, window: 0 });
  });

  it('without a block ranks by the live window and recent creation, and lists unconfigured ids', () => {
    const review = reviewConnectors({
      now,
      connectors: [connector('hq', now - 90 * 24 * HOUR, 'op'), connector('lab', now - 24 * HOUR, 'op')],
      block: null,
      window: new Map([
        ['hq', 10],
        ['unknown', 30],
      ]),
    });
    assert.deepEqual(
      review.map((r) => [r.connectorId, r.configured, r.score, r.reasons.map((reason) => reason.code)]),
      [
        ['unknown', false, 30, ['carried-unregistered-volume', 'not-configured']],
        ['lab', true, 15, ['created-recently']],
        ['hq', true, 10, ['carried-unregistered-volume']],
      ],
    );
    assert.match(review[0]!.reasons[1]!.detail, /the relay named no connector/);
  });
});

describe('normalizeDomain A-labels', () => {
  it('checks the punycode of xn-- labels given in ASCII', () => {
    assert.equal(normalizeDomain('XN--BCHER-KVA.example'), 'xn--bcher-kva.example');
    assert.throws(() => normalizeDomain('xn--a.example'), /not a valid internationalized domain name/);
  });
});
