// Child processes for tests that cannot outlive the test process, free loopback ports, and polling.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fstatSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';

export interface TetherOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * The child watches its own stdin and exits on EOF (the Kafka mock launcher does): its stdin pipe is
   * the tether and no watchdog process is needed. stdin is then a pipe for the caller to write to.
   */
  exitsOnStdinEof?: boolean;
  /** 'pipe' (default) to read the output, 'ignore' to drop it. A piped stream must be read. */
  stdout?: 'pipe' | 'ignore' | 'inherit';
  stderr?: 'pipe' | 'ignore' | 'inherit';
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Tethered {
  child: ChildProcess;
  /** The pid of the command itself (not of a wrapper shell). */
  pid: number;
  /** Settles when the process has exited; never rejects. */
  exited: Promise<Exit>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL when it is still alive after graceMs; resolves once it has exited. */
  stop(graceMs?: number): Promise<Exit>;
  /** SIGKILL; resolves once it has exited. */
  kill(): Promise<Exit>;
}

// The watchdog is a shell that blocks reading a pipe nobody writes to. Its write end lives only in this
// process (libuv opens pipes close-on-exec, so no other child inherits it), so the read returns EOF
// exactly when this process exits or dies — even by SIGKILL — and the watchdog then kills the child
// by pid. `read` is a builtin: the watchdog is one process, killed with one signal when not needed.
const WATCHDOG = 'while read -r _; do :; done; kill -KILL "$1" 2>/dev/null';

/**
 * Spawns `command` so that it dies with this process: when this process exits or is killed, the
 * child is killed too (stdin-EOF watchdog). The child itself is a direct child, so its pid, exit code
 * and signal are exact.
 */
export async function spawnTethered(
  command: string,
  args: readonly string[],
  options: TetherOptions = {},
): Promise<Tethered> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: [options.exitsOnStdinEof ? 'pipe' : 'ignore', options.stdout ?? 'pipe', options.stderr ?? 'pipe'],
  });
  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  // 'spawn' or 'error' (e.g. ENOENT): a missing binary is a clear rejection, not a hang.
  await new Promise<void>((resolve, reject) => {
    const onSpawn = () => {
      child.off('error', onError);
      resolve();
    };
    const onError = (error: Error) => {
      child.off('spawn', onSpawn);
      reject(new Error(`cannot start ${command}: ${error.message}`, { cause: error }));
    };
    child.once('spawn', onSpawn);
    child.once('error', onError);
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${command}: no pid`);
  exitWithTestRunner();

  if (!options.exitsOnStdinEof) {
    const watchdog = spawn('sh', ['-c', WATCHDOG, 'tether-watchdog', String(pid)], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    // The watchdog must never keep this process alive: it exists to outlive it by a moment.
    watchdog.unref();
    (watchdog.stdin as Socket | null)?.unref();
    // Killed by its own pid once the child is gone, so it never signals a pid that was reused.
    void exited.then(() => {
      if (watchdog.exitCode === null && watchdog.signalCode === null) watchdog.kill('SIGKILL');
    });
  }

  return {
    child,
    pid,
    exited,
    hasExited: () => exit !== undefined,
    async stop(graceMs = 5_000) {
      if (exit) return exit;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    async kill() {
      if (!exit) child.kill('SIGKILL');
      return exited;
    },
  };
}

let watchingTestRunner = false;

/**
 * Under `node --test` each test file runs in a child process whose stdin is a pipe from the runner,
 * open until the runner goes. When the runner is killed, the test file would live on as an orphan
 * (with everything it started) until its tests finish, or forever if one hangs. Exiting on that EOF
 * closes every tether pipe, so the watchdogs and the Kafka mock take their processes down too.
 */
function exitWithTestRunner(): void {
  if (watchingTestRunner || !process.env.NODE_TEST_CONTEXT?.startsWith('child')) return;
  watchingTestRunner = true;
  // Only a pipe from the runner means anything: /dev/null or a terminal would end (or never end) early.
  const stdinType = fstatSync(0);
  if (!stdinType.isSocket() && !stdinType.isFIFO()) return;
  const stdin = process.stdin as unknown as Socket;
  stdin.once('end', () => {
    process.stderr.write('test runner is gone: exiting, which stops the processes this test file started\n');
    process.exit(1);
  });
  stdin.resume();
  // Watching must not keep a finished test file alive.
  stdin.unref();
}

/** A TCP port that was free on 127.0.0.1 a moment ago (the kernel picks it; another process may race). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port from listen(0)');
  return address.port;
}

/**
 * `count` distinct TCP ports free on 127.0.0.1 a moment ago: each is held until all are picked, since the kernel
 * may hand a just-closed port out again (one process's two listeners on one port fail to start).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer().listen(0, '127.0.0.1'));
  try {
    await Promise.all(servers.map((server) => once(server, 'listening')));
    return servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port from listen(0)');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  description?: string;
  /** Stops waiting (rejects with the signal's reason), e.g. when the awaited process has died. */
  signal?: AbortSignal;
}

type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/**
 * Polls `condition` until it returns a truthy value, and returns that value. A condition that throws
 * counts as "not yet"; its last error is part of the timeout message.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 50, description = 'condition', signal }: WaitForOptions = {},
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const value = await condition();
      if (value) return value as Truthy<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${cause}`, {
        cause: lastError,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

interface HasAfter {
  after(fn: () => unknown): void;
}

/**
 * node:test runs `t.after` hooks in registration order, so "register the cleanup right after
 * creating the thing" stops a server before the clients created after it. kafkajs then spins: a
 * consumer disconnecting from a cluster that is already gone loops at 100% CPU (kafkajs 2.2.4).
 * `const defer = cleanupStack(t); defer(() => mock.stop())` runs the deferred functions last in,
 * first out, all of them even when one throws (then the errors are rethrown together).
 */
export function cleanupStack(t: HasAfter): (fn: () => unknown) => void {
  const stack: Array<() => unknown> = [];
  t.after(async () => {
    const errors: unknown[] = [];
    for (let fn = stack.pop(); fn !== undefined; fn = stack.pop()) {
      try {
        await fn();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'cleanup failed');
  });
  return (fn) => {
    stack.push(fn);
  };
}

/** Runs `body` on a fresh fixture from `setup`, then cleans the fixture up, whether the body passed or threw. */
export async function withFixture<F extends { cleanup(): Promise<void> }>(
  setup: () => Promise<F>,
  body: (fixture: F) => Promise<void>,
): Promise<void> {
  const fixture = await setup();
  try {
    await body(fixture);
  } finally {
    await fixture.cleanup();
  }
}

/**
 * Waits for a freshly spawned server to answer `isReady`: keeps the tail of its output for the error message,
 * stops waiting at once when it exits (bad argument, port taken), and kills it when it never gets ready. Once
 * ready its output no longer matters: the pipes are only drained.
 */
export async function waitForStartup(
  server: Tethered,
  name: string,
  isReady: () => boolean | Promise<boolean>,
  options: Omit<WaitForOptions, 'signal'> = {},
): Promise<void> {
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4_000);
  };
  server.child.stdout?.on('data', keep);
  server.child.stderr?.on('data', keep);
  const died = new AbortController();
  void server.exited.then((exit) =>
    died.abort(new Error(`${name} exited (${exit.signal ?? exit.code}) during startup: ${log.trim()}`)),
  );
  try {
    await waitFor(isReady, { ...options, signal: died.signal });
  } catch (error) {
    await server.kill();
    throw error;
  } finally {
    server.child.stdout?.off('data', keep).resume();
    server.child.stderr?.off('data', keep).resume();
  }
}
