// The Postfix policy server over real sockets, in front of the embedded pipeline: decisions at RCPT, events at
// END-OF-MESSAGE, and what a hostile or broken client can do to it — pipelining, one byte at a time, garbage,
// oversized attributes, requests that never end, a thousand connections at once, internal errors.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { type PolicyAttributes, PolicyClient } from '../../services/cli/simulation/policy-client.js';
import { TenantDirectory } from '../../services/core/directory.js';
import { Topics } from '../../services/core/topics.js';
import { Enforcer } from '../../services/enforcer/enforcer.js';
import { DEFAULT_POLICY_LIMITS } from '../../services/enforcer/postfix/protocol.js';
import { type PolicyServer, startPolicyServer } from '../../services/enforcer/postfix/server.js';
import { ManualClock } from '../../services/platform/clock.js';
import { EmbeddedCodec } from '../../services/platform/codec/embedded-codec.js';
import { loadConfig } from '../../services/platform/config.js';
import { createLogger, silentLogger } from '../../services/platform/logger.js';
import { MemoryEventLog } from '../../services/platform/memory/memory-event-log.js';
import { Metrics } from '../../services/platform/metrics.js';
import {
  blockAfter,
  type EnforcementHarness,
  endOfMessage,
  metricValue,
  onboard,
  rcpt,
  readTopic,
  startEnforcement,
} from '../support/enforcement.js';
import { startLoopbackPolicyServer } from '../support/loopback-policy-server.js';
import { waitFor } from '../support/tether.js';

const BLOCKED =
  'action=550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains';
const REJECT = BLOCKED.slice('action='.length);

const SPAMMY = {
  tenantId: 'spammy',
  acceptedDomain: 'spammy.example',
  senderIpRange: '192.0.2.0/24',
} as const;
const CALM = { tenantId: 'calm', acceptedDomain: 'calm.example', senderIpRange: '2001:db8:1::/48' } as const;

function text(attributes: PolicyAttributes): string {
  return `${Object.entries(attributes)
    .map(([name, value]) => `${name}=${value}\n`)
    .join('')}\n`;
}

/** Connects raw, sends bytes, and collects what the server writes until it closes the connection. */
async function rawExchange(
  server: Pick<PolicyServer, 'host' | 'port'>,
  write: (socket: Socket) => Promise<void> | void,
) {
  const socket = connect({ host: server.host, port: server.port });
  await once(socket, 'connect');
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  // A reset is one way for the server to hang up; only what it sent, and that it closed, matter here.
  socket.on('error', () => {});
  const closed = new Promise((resolve) => socket.once('close', resolve));
  await write(socket);
  await closed;
  return received;
}

describe('policy server', () => {
  let harness: EnforcementHarness;
  let client: PolicyClient;

  before(async () => {
    harness = await startEnforcement();
    await onboard(harness.driver, { ...SPAMMY, policy: blockAfter(3) });
    await onboard(harness.driver, CALM);
    client = await PolicyClient.connect(harness.policy.host, harness.policy.port);
    // Three unregistered messages accepted through END-OF-MESSAGE block the tenant.
    for (let i = 0; i < 3; i++) {
      assert.equal(await client.request(endOfMessage('192.0.2.25', `x@spam${i}.example`, `Q${i}`)), 'DUNNO');
    }
    await harness.driver.settle();
    await waitFor(() => harness.driver.runtime.directory.tenant('spammy')?.block, {
      description: 'the spammy tenant to be blocked',
    });
  });
  after(async () => {
    client.close();
    await harness.stop();
  });

  it('publishes one MessageSubmitted per END-OF-MESSAGE, with domains only', async () => {
    const events = await readTopic(harness.driver, Topics.messageSubmitted);
    assert.equal(events.length, 3);
    const first = events.find((event) => event.queueId === 'Q0')!;
    assert.deepEqual(
      { ...first },
      {
        eventId: '127.0.0.1/Q0',
        tenantId: 'spammy',
        occurredAt: harness.driver.clock.now(),
        envelopeSenderDomain: 'spam0.example',
        headerFromDomain: null,
        relayPath: 'ONPREM',
        connectorId: 'spammy-connector',
        clientAddress: '192.0.2.25',
        queueId: 'Q0',
        relayHost: '127.0.0.1',
        recipientCount: 2,
        sizeBytes: 4321,
      },
    );
  });

  it('rejects a blocked tenant unregistered senders at RCPT, with the exact reply, and nothing else', async () => {
    assert.equal(await client.request(rcpt('192.0.2.25', 'promo@spam-sender.example')), REJECT);
    assert.equal(await client.request(rcpt('192.0.2.25', 'it@mail.spammy.example')), 'DUNNO');
    assert.equal(await client.request(rcpt('192.0.2.25', '')), 'DUNNO', 'a bounce is no one domain');
    assert.equal(await client.request(rcpt('192.0.2.25', 'x@[198.51.100.7]')), REJECT, 'an address literal');
    assert.equal(await client.request(rcpt('2001:db8:1::25', 'promo@spam-sender.example')), 'DUNNO');
    const before = await metricValue(harness.driver, 'relayguard_unknown_clients_total');
    assert.equal(await client.request(rcpt('203.0.113.9', 'promo@spam-sender.example')), 'DUNNO');
    assert.equal(await metricValue(harness.driver, 'relayguard_unknown_clients_total'), before + 1);
    for (const state of ['CONNECT', 'HELO', 'MAIL', 'DATA', 'VRFY']) {
      const request = { ...rcpt('192.0.2.25', 'promo@spam-sender.example'), protocol_state: state };
      assert.equal(await client.request(request), 'DUNNO', state);
    }
    assert.ok(
      (await metricValue(harness.driver, 'relayguard_policy_requests_total', { action: 'REJECT' })) >= 2,
    );
    // The refusals name the scope of the block: the whole tenant's here.
    const refusals = { stage: 'RCPT', scope: 'TENANT' };
    assert.ok((await metricValue(harness.driver, 'relayguard_block_refusals_total', refusals)) >= 2);
  });

  it('resolves the tenant from the client certificate subject (xtext-encoded)', async () => {
    await harness.driver.runtime.admin!.putConnector(
      { subject: 'test', role: 'OPERATOR' },
      'spammy',
      'spammy-tls',
      {
        relayPath: 'ONPREM',
        senderIpRanges: [],
        tlsCertificateDomain: 'relay.spammy.example',
        enabled: true,
      },
    );
    const request = {
      ...rcpt('203.0.113.50', 'promo@spam-sender.example'),
      ccert_subject: 'Relay+2Espammy.example',
    };
    assert.equal(await client.request(request), REJECT);
    const notADomain = { ...request, ccert_subject: 'My+20Relay' };
    assert.equal(await client.request(notADomain), 'DUNNO', 'an unknown client, not an error');
  });

  it('answers pipelined requests in order', async () => {
    const senders = Array.from({ length: 60 }, (_, i) =>
      i % 3 === 0 ? `it@spammy.example` : `x${i}@spam-sender.example`,
    );
    const replies = await Promise.all(senders.map((sender) => client.request(rcpt('192.0.2.25', sender))));
    assert.deepEqual(
      replies,
      senders.map((sender) => (sender.endsWith('@spammy.example') ? 'DUNNO' : REJECT)),
    );
  });

  it('parses a request that arrives one byte at a time', async () => {
    const bytes = Buffer.from(text(rcpt('192.0.2.25', 'promo@spam-sender.example')));
    const received = await rawExchange(harness.policy, async (socket) => {
      for (const byte of bytes) {
        socket.write(Uint8Array.of(byte));
        await tick();
      }
      await waitFor(() => socket.bytesRead > 0, { description: 'the reply' });
      socket.end();
    });
    assert.equal(received, `${BLOCKED}\n\n`);
  });

  for (const [name, payload, reason] of [
    ['garbage lines', 'request=smtpd_access_policy\nGET / HTTP/1.1\n\n', 'malformed-line'],
    ['a request that is not a policy request', 'request=junk\nprotocol_state=RCPT\n\n', 'invalid-request'],
    ['a malformed client address', text(rcpt('999.1.2.3', 'a@b.example')), 'invalid-request'],
    [
      'a count that is not one',
      text({ ...endOfMessage('192.0.2.25', 'a@b.example', 'Q'), size: '-1' }),
      'invalid-request',
    ],
    ['an oversized attribute', `sender=${'a'.repeat(200_000)}`, 'attribute-too-long'],
    ['an empty request', '\n', 'empty-request'],
  ] as const) {
    it(`drops ${name} without a reply and counts it (${reason})`, async () => {
      const before = await metricValue(harness.driver, 'relayguard_policy_protocol_errors_total', { reason });
      const received = await rawExchange(harness.policy, (socket) => {
        socket.write(payload);
      });
      assert.equal(received, '', 'no reply: Postfix applies its default action');
      assert.equal(
        await metricValue(harness.driver, 'relayguard_policy_protocol_errors_total', { reason }),
        before + 1,
      );
      assert.equal(
        await client.request(rcpt('192.0.2.25', 'promo@spam-sender.example')),
        REJECT,
        'still serving',
      );
    });
  }

  it('holds 1,000 concurrent connections, bounded, and answers each correctly', async () => {
    const limits = DEFAULT_POLICY_LIMITS;
    const clients = await Promise.all(
      Array.from({ length: 1000 }, () => PolicyClient.connect(harness.policy.host, harness.policy.port)),
    );
    // The deadlines below bound a hang on a loaded machine; they do not measure speed.
    try {
      await waitFor(() => harness.policy.stats().connections >= 1001, {
        description: '1,001 open connections',
        timeoutMs: 60_000,
      });
      // Half of them park half a request: the server holds it, bounded by the per-request limit.
      clients.slice(0, 500).forEach((c, i) => {
        c.send(`request=smtpd_access_policy\nsender=${'p'.repeat(1000 + i)}`).catch(() => {});
      });
      await waitFor(() => harness.policy.stats().bufferedBytes >= 500 * 1000, {
        description: 'parked bytes',
        timeoutMs: 60_000,
      });
      const stats = harness.policy.stats();
      assert.ok(
        stats.bufferedBytes <= stats.connections * (limits.maxRequestBytes + limits.maxAttributeBytes),
      );
      const replies = await Promise.all(
        clients
          .slice(500)
          .map((c, i) =>
            c.request(rcpt(i % 2 ? '192.0.2.25' : '2001:db8:1::9', `x${i}@spam-sender.example`)),
          ),
      );
      assert.deepEqual(
        replies,
        replies.map((_, i) => (i % 2 ? REJECT : 'DUNNO')),
      );
    } finally {
      for (const c of clients) c.close();
    }
    await waitFor(() => harness.policy.stats().connections === 1, {
      description: 'the connections to close',
      timeoutMs: 60_000,
    });
    assert.equal(harness.policy.stats().bufferedBytes, 0);
  });
});

describe('policy server limits and failures', () => {
  it('drops a request that never ends, after the request timeout, and closes idle connections', async () => {
    const harness = await startEnforcement({ policy: { requestTimeoutMs: 200, idleTimeoutMs: 300 } });
    try {
      const started = Date.now();
      const received = await rawExchange(harness.policy, (socket) => {
        socket.write('request=smtpd_access_policy\nprotocol_state=RCPT\n');
      });
      assert.equal(received, '');
      assert.ok(Date.now() - started >= 150, 'not before the timeout');
      assert.equal(
        await metricValue(harness.driver, 'relayguard_policy_protocol_errors_total', {
          reason: 'request-timeout',
        }),
        1,
      );
      const idle = await PolicyClient.connect(harness.policy.host, harness.policy.port);
      assert.equal(await idle.request(rcpt('192.0.2.1', 'a@b.example')), 'DUNNO');
      await idle.closed;
    } finally {
      await harness.stop();
    }
  });

  it('refuses connections beyond the cap, and counts them', async () => {
    const harness = await startEnforcement({ policy: { maxConnections: 5 } });
    const clients: PolicyClient[] = [];
    try {
      for (let i = 0; i < 5; i++)
        clients.push(await PolicyClient.connect(harness.policy.host, harness.policy.port));
      await waitFor(() => harness.policy.stats().connections === 5, { description: 'five connections' });
      const refused = await PolicyClient.connect(harness.policy.host, harness.policy.port);
      await assert.rejects(refused.request(rcpt('192.0.2.1', 'a@b.example')));
      assert.equal(
        await metricValue(harness.driver, 'relayguard_policy_protocol_errors_total', {
          reason: 'connection-limit',
        }),
        1,
      );
      assert.equal(await clients[0]!.request(rcpt('192.0.2.1', 'a@b.example')), 'DUNNO');
    } finally {
      for (const c of clients) c.close();
      await harness.stop();
    }
  });

  it('sends no reply when the event cannot be published (internal error), and counts it', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 28, 9));
    const metrics = new Metrics({ processMetrics: false });
    const directory = new TenantDirectory();
    directory.apply({
      kind: 'connector',
      event: {
        eventId: 'e1',
        occurredAt: clock.now(),
        actor: 'test',
        tenantId: 't1',
        connectorId: 'c1',
        change: 'UPSERTED',
        relayPath: 'ONPREM',
        senderIpRanges: ['192.0.2.0/24'],
        tlsCertificateDomain: null,
        enabled: true,
        createdAt: clock.now(),
        createdBy: 'test',
        identifiersSince: {},
      },
    });
    const brokenLog = new MemoryEventLog({ clock });
    brokenLog.publish = async () => {
      throw new Error('broker unreachable');
    };
    const enforcer = new Enforcer({
      directory,
      log: brokenLog,
      codec: new EmbeddedCodec(),
      clock,
      logger: silentLogger,
      metrics,
      notReadyFallback: 'tempfail',
      blockedBouncesPerHour: 100,
    });
    const server = await startLoopbackPolicyServer(enforcer, metrics);
    try {
      const notReady = await PolicyClient.connect(server.host, server.port);
      assert.equal(
        await notReady.request(rcpt('192.0.2.1', 'a@b.example')),
        '451 4.7.1 Service temporarily unavailable, try again later',
        'before it has caught up: the configured fallback',
      );
      notReady.close();
      enforcer.markReady();
      const received = await rawExchange(server, (socket) => {
        socket.write(text(endOfMessage('192.0.2.1', 'a@b.example', 'Q1')));
      });
      assert.equal(received, '');
      const errors = (await metrics.policyProtocolErrors.get()).values;
      assert.deepEqual(
        errors.map((v) => [v.labels.reason, v.value]),
        [['internal-error', 1]],
      );
    } finally {
      await server.close();
    }
  });
});

describe('policy server client allowlist (RELAYGUARD_POSTFIX_ALLOWED_CLIENTS)', () => {
  let harness: EnforcementHarness;
  const logs: Record<string, unknown>[] = [];
  const servers: PolicyServer[] = [];

  /** A policy server on the harness's enforcer, listening on `host` and answering `allowed` only. */
  const serve = async (host: string, allowed: string) => {
    const server = await startPolicyServer({
      enforcer: harness.driver.runtime.enforcer!,
      metrics: harness.driver.runtime.metrics,
      logger: createLogger('warn', { write: (line: string) => void logs.push(JSON.parse(line)) }),
      ...loadConfig({ RELAYGUARD_POSTFIX_ALLOWED_CLIENTS: allowed }).postfixService,
      host,
      port: 0,
    });
    servers.push(server);
    return server;
  };
  const refusals = () =>
    metricValue(harness.driver, 'relayguard_policy_protocol_errors_total', { reason: 'client-not-allowed' });
  /** An allowed client gets answers on a connection that stays open. */
  const answers = async (server: PolicyServer) => {
    const client = await PolicyClient.connect('127.0.0.1', server.port);
    try {
      assert.equal(await client.request(rcpt('192.0.2.25', 'promo@spam-sender.example')), 'DUNNO');
      assert.equal(await client.request(rcpt('192.0.2.25', 'it@acme.example')), 'DUNNO');
    } finally {
      client.close();
    }
  };

  before(async () => {
    harness = await startEnforcement();
  });
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await harness.stop();
  });

  it('answers a client inside the allowlist', async () => {
    const before = await refusals();
    await answers(await serve('127.0.0.1', '10.0.0.0/8,127.0.0.1/32'));
    assert.equal(await refusals(), before);
  });

  it('closes a client outside it at once, unanswered, counted and logged', async () => {
    const server = await serve('127.0.0.1', '10.0.0.0/8,::1/128');
    const before = await refusals();
    const received = await rawExchange(server, (socket) => {
      socket.write(text(rcpt('192.0.2.25', 'promo@spam-sender.example')));
    });
    assert.equal(received, '', 'closed without a reply');
    assert.equal(await refusals(), before + 1);
    assert.equal(server.stats().connections, 0);
    const line = logs.find((entry) => entry.reason === 'client-not-allowed');
    assert.ok(line, 'a warning names the reason');
    assert.match(String(line.msg), /RELAYGUARD_POSTFIX_ALLOWED_CLIENTS/);
  });

  it('logs a client that retries in a loop once per interval, and counts every refusal', async () => {
    const server = await serve('127.0.0.1', '::1/128');
    const before = await refusals();
    const logged = logs.length;
    for (let i = 0; i < 5; i++) await rawExchange(server, () => {});
    assert.equal(await refusals(), before + 5);
    assert.equal(logs.length - logged, 1);
  });

  it('reads an IPv4 client of a dual-stack listener (::ffff:127.0.0.1) as IPv4', async () => {
    await answers(await serve('::', '127.0.0.0/8'));
    const ipv6Only = await serve('::', '::1/128');
    const before = await refusals();
    assert.equal(await rawExchange({ host: '127.0.0.1', port: ipv6Only.port }, () => {}), '');
    assert.equal(await refusals(), before + 1);
  });

  it('answers an IPv6 client in an IPv6 range', async () => {
    const server = await serve('::1', '::1/128');
    const client = await PolicyClient.connect('::1', server.port);
    try {
      assert.equal(await client.request(rcpt('192.0.2.25', 'it@acme.example')), 'DUNNO');
    } finally {
      client.close();
    }
  });
});
