// The HTTP server (admin and decision APIs) shares its process, and so its file descriptors, with the policy
// port: slow HTTP clients are capped and timed out, and relays keep getting answers meanwhile (SECURITY.md T8).
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { PolicyClient } from '../../services/cli/simulation/policy-client.js';
import type { HttpLimits } from '../../services/platform/config.js';
import { createHttpServer } from '../../services/platform/http-server.js';
import { silentLogger } from '../../services/platform/logger.js';
import {
  type EnforcementHarness,
  exampleTenant,
  metricValue,
  onboard,
  rcpt,
  startEnforcement,
} from '../support/enforcement.js';
import { freePort, spawnTethered, waitFor, waitForStartup } from '../support/tether.js';

const DROPPED = 'relayguard_http_connections_dropped_total';

/** A connection that sends a request line and one header, and never the empty line that ends the headers. */
async function headerIncomplete(
  port: number,
): Promise<{ socket: Socket; closed: () => boolean; received: () => string }> {
  const socket = connect({ host: '127.0.0.1', port });
  let closed = false;
  let received = '';
  socket.on('close', () => {
    closed = true;
  });
  socket.on('error', () => {});
  socket.on('data', (chunk) => {
    received += chunk.toString('latin1');
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.write('GET /healthz HTTP/1.1\r\nHost: relayguard.example\r\n');
  return { socket, closed: () => closed, received: () => received };
}

describe('HTTP connection cap and timeouts', () => {
  let harness: EnforcementHarness;

  const startHttp = async (limits: HttpLimits) => {
    const http = createHttpServer({
      logger: silentLogger,
      metrics: harness.driver.runtime.metrics,
      isReady: () => true,
      limits,
    });
    await http.listen({ host: '127.0.0.1', port: 0 });
    const address = http.server.address();
    assert.ok(address !== null && typeof address === 'object');
    return { http, port: address.port };
  };

  before(async () => {
    harness = await startEnforcement();
    await onboard(harness.driver, exampleTenant('acme', '198.51.100.0/24'));
  });
  after(() => harness.stop());

  it('refuses slow connections beyond the cap, counted, while the policy port keeps answering', async () => {
    const cap = 25;
    const { http, port } = await startHttp({
      maxConnections: cap,
      headersTimeoutMs: 4_000,
      requestTimeoutMs: 4_000,
      keepAliveTimeoutMs: 1_000,
    });
    const relay = await PolicyClient.connect(harness.policy.host, harness.policy.port);
    const slow: Awaited<ReturnType<typeof headerIncomplete>>[] = [];
    try {
      const answers: string[] = [];
      for (let i = 0; i < 2 * cap; i++) {
        slow.push(await headerIncomplete(port));
        // A relay's request between every two slow connections: none may wait for the HTTP side.
        if (i % 2 === 0) answers.push(await relay.request(rcpt('198.51.100.7', `someone${i}@acme.example`)));
      }
      assert.equal(answers.length, cap);
      for (const answer of answers) assert.equal(answer, 'DUNNO');
      // Well before the headers timeout: exactly the connections beyond the cap are gone.
      await waitFor(() => slow.filter((connection) => connection.closed()).length === cap, {
        timeoutMs: 2_000,
        description: `${cap} of ${2 * cap} slow connections refused`,
      });
      assert.equal(slow.filter((connection) => !connection.closed()).length, cap);
      assert.equal(await metricValue(harness.driver, DROPPED, { reason: 'connection-limit' }), cap);
      assert.equal(await relay.request(rcpt('198.51.100.7', 'after@acme.example')), 'DUNNO');
    } finally {
      for (const connection of slow) connection.socket.destroy();
      relay.close();
      await http.close();
    }
  });

  it('closes a header-incomplete connection after the headers timeout, counted', async () => {
    const headersTimeoutMs = 300;
    const { http, port } = await startHttp({
      maxConnections: 10,
      headersTimeoutMs,
      requestTimeoutMs: 1_000,
      keepAliveTimeoutMs: 1_000,
    });
    const timeoutsBefore = await metricValue(harness.driver, DROPPED, { reason: 'timeout' });
    const started = performance.now();
    const connection = await headerIncomplete(port);
    try {
      await waitFor(connection.closed, { timeoutMs: 3_000, description: 'the slow connection to be closed' });
      assert.ok(performance.now() - started >= headersTimeoutMs, 'not closed before the headers timeout');
      assert.match(connection.received(), /^HTTP\/1\.1 408 /);
      assert.equal(await metricValue(harness.driver, DROPPED, { reason: 'timeout' }), timeoutsBefore + 1);
    } finally {
      connection.socket.destroy();
      await http.close();
    }
  });
});

// The reproduction in a process of its own, with few file descriptors: slow HTTP connections beyond what
// the process can open would make the policy port reset relays' connections (relays then fail open).
describe('HTTP exhaustion in one relayguard process', () => {
  it('keeps answering relays on the policy port while 2x the HTTP cap of slow connections are open', async () => {
    const cap = 60;
    // About 30 descriptors at rest: the cap fits, twice the cap does not.
    const fileDescriptors = 120;
    const [httpPort, postfixPort] = [await freePort(), await freePort()];
    const server = await spawnTethered(
      'prlimit',
      [
        `--nofile=${fileDescriptors}`,
        process.execPath,
        '--import',
        'tsx',
        'services/cli/main.ts',
        'enforcer',
      ],
      {
        env: {
          ...process.env,
          RELAYGUARD_HTTP_PORT: String(httpPort),
          RELAYGUARD_POSTFIX_PORT: String(postfixPort),
          RELAYGUARD_HTTP_MAX_CONNECTIONS: String(cap),
          RELAYGUARD_LOG_LEVEL: 'error',
        },
      },
    );
    const slow: Awaited<ReturnType<typeof headerIncomplete>>[] = [];
    const answer = async (sender: string) => {
      const relay = await PolicyClient.connect('127.0.0.1', postfixPort);
      try {
        return await relay.request(rcpt('198.51.100.7', sender));
      } finally {
        relay.close();
      }
    };
    try {
      await waitForStartup(
        server,
        'relayguard enforcer',
        async () => (await answer('probe@acme.example')) !== '',
        {
          timeoutMs: 30_000,
          intervalMs: 200,
        },
      );
      for (let i = 0; i < 2 * cap; i++) slow.push(await headerIncomplete(httpPort));
      for (let i = 0; i < 10; i++) assert.equal(typeof (await answer(`someone${i}@acme.example`)), 'string');
    } finally {
      for (const connection of slow) connection.socket.destroy();
      await server.stop();
    }
  });
});
