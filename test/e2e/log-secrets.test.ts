// What reaches the logs when a real `relayguard all` process (at log level trace, the most it ever writes) is
// driven the way relays, operators, tenant admins and attackers drive it: admin calls with valid, wrong and
// guessed tokens; Postfix policy requests and decision API questions with full mail addresses, well-formed and
// malformed; a flood that gets a tenant blocked and its mail rejected. Every byte the process writes is kept
// and scanned: no token and no full mail address may appear in it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PolicyClient } from '../../services/cli/simulation/policy-client.js';
import { projectRoot } from '../../services/platform/project-files.js';
import { ATTESTED, bearer } from '../support/admin-api.js';
import { onpremConnector } from '../support/builders.js';
import { blockAfter, endOfMessage, rcpt } from '../support/enforcement.js';
import { freePort, spawnTethered, type Tethered, waitFor } from '../support/tether.js';

const TOKENS = {
  operator: 'op-6f1d0c9e4b2a47d8a1c3e5f7b9d0a2c4',
  reader: 'rd-0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d',
  acmeAdmin: 'ta-5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b',
  relay: 'rl-3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f',
};
// An attacker's guess is as secret as a real token: it may be a real token of another deployment.
const GUESS = 'guess-9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a';
const CLIENT = '198.51.100.7';
/** Local parts that must never be logged: every address the test sends uses one of them. */
const LOCALS = ['private.person', 'ceo.secret', 'promo.victim', 'bounce.owner', 'malformed.sender'];
// Any address-shaped text: something@domain.tld (the logs have no other use for an @ before a domain).
const ADDRESS = /[^\s"'<>@=]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}/i;

describe('logs never carry tokens or mail addresses', () => {
  let server: Tethered;
  let output = '';
  let base = '';
  let postfixPort = 0;

  before(async () => {
    const httpPort = await freePort();
    postfixPort = await freePort();
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith('RELAYGUARD_')),
    );
    server = await spawnTethered(process.execPath, ['--import', 'tsx', 'services/cli/main.ts', 'all'], {
      cwd: projectRoot,
      env: {
        ...env,
        RELAYGUARD_HTTP_PORT: String(httpPort),
        RELAYGUARD_POSTFIX_PORT: String(postfixPort),
        RELAYGUARD_LOG_LEVEL: 'trace',
        RELAYGUARD_RATE_LIMIT_PER_MINUTE: '50',
        RELAYGUARD_TOKENS: `${TOKENS.operator}:operator,${TOKENS.reader}:reader,${TOKENS.acmeAdmin}:tenant-admin:acme,${TOKENS.relay}:relay`,
      },
    });
    const keep = (chunk: Buffer) => {
      output += chunk.toString();
    };
    server.child.stdout?.on('data', keep);
    server.child.stderr?.on('data', keep);
    base = `http://127.0.0.1:${httpPort}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, {
      timeoutMs: 60_000,
      description: 'relayguard all to be ready',
    });
  });

  after(() => server?.stop());

  const api = (method: string, path: string, token: string | null, body?: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: {
        ...(token ? bearer(token) : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  const policy = async (requests: readonly Parameters<PolicyClient['request']>[0][]) => {
    const client = await PolicyClient.connect('127.0.0.1', postfixPort);
    try {
      return await Promise.all(requests.map((request) => client.request(request)));
    } finally {
      client.close();
    }
  };

  it('scans everything the process wrote after admin calls, relay traffic, a block and bad input', async () => {
    // Admin: the operator onboards acme (blocking after 20 unregistered messages); others try what they may not.
    const domain = await api('PUT', '/v1/tenants/acme/accepted-domains/acme.example', TOKENS.operator, {
      matchSubdomains: true,
    });
    assert.ok(domain.status < 300, `accepted domain: ${domain.status}`);
    const connector = await api(
      'PUT',
      '/v1/tenants/acme/connectors/hq',
      TOKENS.acmeAdmin,
      onpremConnector(`${CLIENT}/32`),
    );
    assert.ok(connector.status < 300, `connector: ${connector.status}`);
    assert.equal((await api('PUT', '/v1/tenants/acme/policy', TOKENS.operator, blockAfter(20))).status, 200);
    assert.equal(
      (
        await api('POST', '/v1/tenants/acme/unblock', TOKENS.reader, {
          ticket: 'SUP-1',
          attestations: ATTESTED,
        })
      ).status,
      403,
    );
    assert.equal((await api('GET', '/v1/blocks', GUESS)).status, 401);
    assert.equal((await api('GET', '/v1/blocks', null)).status, 401);
    const badCertificate = await api('PUT', '/v1/tenants/acme/connectors/cert', TOKENS.operator, {
      relayPath: 'ONPREM',
      tlsCertificateDomain: `${LOCALS[1]}@acme.example`,
      enabled: true,
    });
    assert.equal(badCertificate.status, 400);

    // Relay traffic with full addresses: accepted registered mail, then a flood from unregistered domains.
    const registered = Array.from({ length: 5 }, (_, i) =>
      endOfMessage(CLIENT, `${LOCALS[0]}${i}@acme.example`, `REG${i}`),
    );
    const spam = Array.from({ length: 30 }, (_, i) =>
      endOfMessage(CLIENT, `${LOCALS[2]}${i}@spam${i}.example`, `SPAM${i}`),
    );
    assert.ok((await policy([...registered, ...spam])).every((action) => action === 'DUNNO'));
    await waitFor(
      async () => (await policy([rcpt(CLIENT, `${LOCALS[2]}@spam99.example`)]))[0]?.startsWith('550'),
      { timeoutMs: 30_000, description: 'the flood to block acme' },
    );
    assert.equal((await policy([rcpt(CLIENT, `${LOCALS[1]}@acme.example`)]))[0], 'DUNNO');

    // The null sender with a header From, over HTTP; and a malformed address, which is answered 400.
    const decision = await api('POST', '/v1/decisions', TOKENS.relay, {
      clientAddress: CLIENT,
      sender: '',
      headerFrom: `${LOCALS[3]}@spam3.example`,
    });
    assert.equal(decision.status, 200);
    const malformed = await api('POST', '/v1/decisions', TOKENS.relay, {
      tenantId: 'acme',
      sender: `${LOCALS[4]}@bad_domain..example`,
    });
    assert.equal(malformed.status, 400);
    // A Postfix request broken mid-way: logged and dropped.
    const client = await PolicyClient.connect('127.0.0.1', postfixPort);
    await assert.rejects(
      client.send(`request=smtpd_access_policy\nsender=${LOCALS[4]}@acme.example\nnot a line\n\n`),
    );
    client.close();
    // Guessing tokens until rate limited: each guess is answered 401, then 429.
    const guesses = await Promise.all(
      Array.from({ length: 60 }, (_, i) => api('GET', '/v1/blocks', `${GUESS}-${i}`).then((r) => r.status)),
    );
    assert.ok(guesses.includes(429), 'guesses from one address are rate limited');

    const exit = await server.stop();
    assert.equal(exit.code, 0, `relayguard all exited with ${exit.code ?? exit.signal}`);

    const lines = output.split('\n').filter((line) => line.startsWith('{'));
    // Not vacuous: the scanned logs saw the block, the dropped request and the refused requests.
    assert.ok(
      lines.some((line) => line.includes('tenant blocked')),
      'the block was logged',
    );
    assert.ok(
      lines.some((line) => /relay told to reject/.test(line)),
      'the rejection was logged (debug)',
    );
    assert.ok(lines.length > 20, `${lines.length} log lines`);

    for (const secret of [...Object.values(TOKENS), GUESS])
      assert.ok(!output.includes(secret), `a token reached the output: ${secret.slice(0, 6)}…`);
    for (const local of LOCALS)
      assert.ok(!output.includes(`${local}`), `"${local}" (a local part) was logged`);
    const address = ADDRESS.exec(output);
    assert.equal(address, null, `an address reached the output: ${address?.[0]}`);
  });
});
