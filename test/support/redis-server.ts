// A real redis-server (Debian's) for tests, on a free loopback port, dying with the test process.
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnTethered, type Tethered, waitForStartup } from './tether.js';

export interface RedisServer {
  url: string;
  port: number;
  /** The TLS port, when started with `tls`. */
  tlsPort?: number;
  /** The redis-server process; changes on restart(). */
  readonly pid: number;
  /** SIGTERM and wait for the exit; removes the data directory. */
  stop(): Promise<void>;
  /** Stops and starts again on the same port. Data is lost unless `args` turned persistence on. */
  restart(): Promise<void>;
  /** SIGKILL, as a crash; the server stays down until restart(). */
  kill(): Promise<void>;
}

export interface StartRedisOptions {
  /** Extra redis-server arguments, after the defaults (so they win), e.g. ['--appendonly', 'yes']. */
  args?: readonly string[];
  startTimeoutMs?: number;
  /** A TLS port for clients beside the plain one (which the readiness check uses), with this certificate. */
  tls?: { readonly certFile: string; readonly keyFile: string; readonly caFile: string };
}

const MAX_PORT_ATTEMPTS = 3;

export async function startRedis({
  args = [],
  startTimeoutMs = 10_000,
  tls,
}: StartRedisOptions = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'relayguard-redis-'));
  // freePort() can race with another process taking the port; fresh ports are then worth a retry.
  let port = await freePort();
  let tlsPort = tls ? await freePort() : undefined;
  const launchArgs = () =>
    tls
      ? [
          ...args,
          ...['--tls-port', String(tlsPort), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile],
          ...['--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', 'no'],
        ]
      : args;
  let server: Tethered | undefined;
  for (let attempt = 1; server === undefined; attempt++) {
    try {
      server = await launchRedis(port, dir, launchArgs(), startTimeoutMs);
    } catch (error) {
      if (attempt >= MAX_PORT_ATTEMPTS || !String(error).includes('Address already in use')) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
      port = await freePort();
      if (tls) tlsPort = await freePort();
    }
  }

  let current: Tethered = server;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    tlsPort,
    get pid() {
      return current.pid;
    },
    async stop() {
      await current.stop();
      await rm(dir, { recursive: true, force: true });
    },
    async restart() {
      await current.stop();
      current = await launchRedis(port, dir, launchArgs(), startTimeoutMs);
    },
    async kill() {
      await current.kill();
    },
  };
}

async function launchRedis(
  port: number,
  dir: string,
  extraArgs: readonly string[],
  timeoutMs: number,
): Promise<Tethered> {
  const server = await spawnTethered(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      // Logs go to stdout, which we keep (bounded) for the error message of a failed start.
      '--logfile',
      '',
      ...extraArgs,
    ],
    { stderr: 'pipe', stdout: 'pipe' },
  ).catch((error: unknown) => {
    throw new Error(`${String(error)} — run scripts/test-env/ensure-deps.sh`, { cause: error });
  });

  await waitForStartup(server, 'redis-server', async () => (await serverPid(port)) === server.pid, {
    timeoutMs,
    intervalMs: 20,
    description: `redis-server (pid ${server.pid}) to answer on 127.0.0.1:${port}`,
  });
  return server;
}

/**
 * The pid of the redis-server answering on `port`, from INFO (an error reply such as -LOADING, or a
 * refused connection, means not ready). Checking the pid, not just PONG, matters because a port
 * freePort() handed out can be taken by another test's server before ours binds and exits.
 */
function serverPid(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(1_000, () => socket.destroy(new Error('INFO timed out')));
    socket.on('connect', () => socket.write('INFO server\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const pid = /process_id:(\d+)\r\n/.exec(reply)?.[1];
      if (pid !== undefined || reply.startsWith('-')) {
        socket.end();
        resolve(pid === undefined ? undefined : Number(pid));
      }
    });
    socket.on('error', reject);
  });
}
