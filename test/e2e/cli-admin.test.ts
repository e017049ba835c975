// The real `relayguard` CLI against a real `relayguard all` process: the embedded mode generates an operator
// token and prints it once; the admin commands use it over HTTP and exit with codes that tell usage, auth,
// server errors and refusals apart.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../services/cli/exit-codes.js';
import { closedPort, type RunningRelayguard, runCli, startRelayguardAll } from '../support/cli.js';

describe('relayguard admin CLI against relayguard all', () => {
  let server: RunningRelayguard;
  let url = '';
  let token = '';
  let banner = '';

  const cli = (
    args: string[],
    env: Record<string, string> = { RELAYGUARD_URL: url, RELAYGUARD_TOKEN: token },
  ) => runCli(args, env);

  before(async () => {
    server = await startRelayguardAll();
    ({ url, token, banner } = server);
  });

  after(() => server.stop());

  it('prints a generated operator token once, in the banner', () => {
    assert.match(banner, /no RELAYGUARD_TOKENS configured: generated an operator token \(shown only here\)/);
    assert.ok(token.length >= 32);
  });

  it('ends the banner with the next steps, for this instance', () => {
    const steps = banner.slice(banner.indexOf('next steps'));
    assert.match(steps, new RegExp(`export RELAYGUARD_URL=${url} RELAYGUARD_TOKEN=${token}\n`));
    assert.match(
      steps,
      new RegExp(`npm run relayguard -- simulate --target policy://127\\.0\\.0\\.1:${server.postfixPort} `),
    );
    assert.match(token, /^[0-9a-f]{48}$/, 'hex: never taken for an option after --token');
  });

  it('manages domains, connectors and the policy, as tables and as JSON', async () => {
    const added = await cli(['domains', 'add', 'acme', 'bücher.example', '--subdomains']);
    assert.equal(added.code, ExitCode.OK, added.stderr);
    assert.equal(added.stdout.trim(), 'registered bücher.example (xn--bcher-kva.example)');

    const list = await cli(['domains', 'list', 'acme', '--json']);
    assert.deepEqual(
      JSON.parse(list.stdout).acceptedDomains.map((d: { domain: string }) => d.domain),
      ['xn--bcher-kva.example'],
    );

    const created = await cli([
      'connectors',
      'put',
      'acme',
      'hq',
      '--path',
      'ONPREM',
      '--range',
      '198.51.100.0/24',
    ]);
    assert.equal(created.code, ExitCode.OK, created.stderr);
    assert.match(created.stdout, /^created connector\nCONNECTOR +PATH +RANGES/);
    // Options not given keep their value: disabling keeps the path and ranges.
    const disabled = await cli(['connectors', 'put', 'acme', 'hq', '--disabled', '--json']);
    const connector = JSON.parse(disabled.stdout).connector;
    assert.deepEqual(
      [connector.enabled, connector.relayPath, connector.senderIpRanges],
      [false, 'ONPREM', ['198.51.100.0/24']],
    );

    const review = await cli(['connectors', 'review', 'acme']);
    assert.match(
      review.stdout,
      /SCORE +CONNECTOR +ENABLED +REASONS\n.*\n\d+ +hq +no +created \d+ min ago, by operator#[0-9a-f]{6}/,
    );

    const policy = await cli([
      'policy',
      'set',
      'acme',
      '--mode',
      'MONITOR',
      '--min-unregistered',
      '800',
      '--json',
    ]);
    assert.deepEqual(JSON.parse(policy.stdout).overrides, { mode: 'MONITOR', minUnregistered: 800 });
    const merged = await cli(['policy', 'set', 'acme', '--forwarded-weight', '0.5']);
    assert.match(merged.stdout, /mode +MONITOR +ENFORCE +MONITOR/);
    assert.match(merged.stdout, /minUnregistered +800 +500 +800/);

    const status = await cli(['tenants', 'status', 'acme']);
    assert.match(status.stdout, /^TENANT +acme\n/);
    assert.match(status.stdout, /blocked +no\n/);
    assert.match(status.stdout, /window +U 0 +F 0 +T 0 +D 0/);

    const blocks = await cli(['tenants', 'blocks']);
    assert.equal(blocks.stdout.trim(), 'no tenant is blocked');
  });

  it('manages webhook endpoints, their delivery log and replays, with refusals in flag terms', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'relayguard-webhooks-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, 'whsec-0123456789abcdef\n');
    const endpoint = [
      '--endpoint-url',
      'https://93.184.215.14/hooks/relayguard',
      '--secret-file',
      secretFile,
    ];

    const loopback = await cli([
      'webhooks',
      'add',
      'ops',
      '--endpoint-url',
      'http://127.0.0.1:9/x',
      '--secret-file',
      secretFile,
    ]);
    assert.equal(loopback.code, ExitCode.USAGE, loopback.stderr);
    assert.match(loopback.stderr, /--endpoint-url: 127\.0\.0\.1 resolves to 127\.0\.0\.1 \(loopback\)/);
    const short = await cli([
      'webhooks',
      'add',
      'ops',
      '--endpoint-url',
      'https://93.184.215.14/',
      '--secret',
      'abc',
    ]);
    assert.equal(short.code, ExitCode.USAGE, short.stderr);
    assert.match(short.stderr, /--secret-file \/ --secret: /);

    const added = await cli(['webhooks', 'add', 'ops', ...endpoint, '--events', 'blocked']);
    assert.equal(added.code, ExitCode.OK, added.stderr);
    assert.match(added.stdout, /^registered ops\nENDPOINT +SOURCE +URL +EVENTS +TENANTS/);
    const again = await cli(['webhooks', 'add', 'ops', ...endpoint]);
    assert.equal(again.code, ExitCode.REFUSED, again.stderr);
    assert.match(again.stderr, /webhook endpoint ops exists.*\[ENDPOINT_CONFLICT\]/);

    const updated = await cli(['webhooks', 'update', 'ops', '--tenant', 'acme', 'globex', '--json']);
    assert.equal(updated.code, ExitCode.OK, updated.stderr);
    assert.deepEqual(JSON.parse(updated.stdout).tenants, ['acme', 'globex']);
    const list = await cli(['webhooks', 'list']);
    assert.match(
      list.stdout,
      /ops +api +https:\/\/93\.184\.215\.14\/hooks\/relayguard +blocked +acme,globex/,
    );
    assert.ok(!list.stdout.includes('whsec'), 'the list shows the secret');

    const deliveries = await cli(['webhooks', 'deliveries', 'ops']);
    assert.equal(deliveries.stdout.trim(), 'no deliveries yet');
    const unsaid = await cli(['webhooks', 'replay', 'ops']);
    assert.equal(unsaid.code, ExitCode.USAGE);
    assert.match(unsaid.stderr, /--dead-letters, or --from <iso>/);
    const badTime = await cli(['webhooks', 'replay', 'ops', '--from', 'yesterday']);
    assert.equal(badTime.code, ExitCode.USAGE, badTime.stderr);
    assert.match(badTime.stderr, /--from: not an ISO 8601 time/);
    const replay = await cli(['webhooks', 'replay', 'ops', '--from', '2026-01-01T00:00:00Z']);
    assert.equal(replay.code, ExitCode.OK, replay.stderr);
    assert.match(replay.stdout, /^replay [0-9a-f-]{36}: 0 event\(s\) queued for ops/);

    const removed = await cli(['webhooks', 'remove', 'ops']);
    assert.equal(removed.stdout.trim(), 'removed ops');
    const gone = await cli(['webhooks', 'deliveries', 'ops']);
    assert.equal(gone.code, ExitCode.REFUSED);
    assert.match(gone.stderr, /no webhook endpoint ops/);
  });

  it('exits with codes that tell usage, auth, server errors and refusals apart', async () => {
    const unusedPort = await closedPort();
    const [invalid, badToken, noToken, unreachable, notBlocked, badOption] = await Promise.all([
      cli(['domains', 'add', 'acme', 'bad..example']),
      cli(['tenants', 'blocks', '--token', 'not-the-token-at-all-0000']),
      cli(['tenants', 'blocks'], { RELAYGUARD_URL: url }),
      cli(['tenants', 'status', 'acme', '--url', `http://127.0.0.1:${unusedPort}`]),
      cli([
        'tenants',
        'unblock',
        'acme',
        '--ticket',
        'SUP-1',
        '--domains-registered',
        '--connectors-reviewed',
        '--servers-secured',
      ]),
      cli(['tenants', 'blocks', '--limit', '0']),
    ]);
    assert.equal(invalid.code, ExitCode.USAGE);
    assert.match(
      invalid.stderr,
      /domain: label "" of "bad..example" must be 1-63 letters.* \[INVALID_DOMAIN\]/,
    );
    assert.equal(badToken.code, ExitCode.AUTH);
    assert.match(badToken.stderr, /\[UNAUTHENTICATED\]/);
    assert.equal(noToken.code, ExitCode.USAGE);
    assert.match(noToken.stderr, /no token: pass --token <token> or set RELAYGUARD_TOKEN/);
    assert.equal(unreachable.code, ExitCode.SERVER);
    assert.match(unreachable.stderr, /cannot reach http:\/\/127.0.0.1:\d+: ECONNREFUSED/);
    assert.equal(notBlocked.code, ExitCode.REFUSED);
    assert.match(notBlocked.stderr, /tenant acme is not blocked: there is nothing to lift \[NOT_BLOCKED\]/);
    assert.equal(badOption.code, ExitCode.USAGE);
    assert.match(badOption.stderr, /--limit must be an integer >= 1 and <= 200/);
  });
});
