// Drives the real `relayguard` executable as a user's shell would: one-shot commands with their output and exit
// code, and `relayguard all` started on free ports (its banner read for the URL, the token and the policy port).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { projectRoot } from '../../services/platform/project-files.js';

export const MAIN = 'services/cli/main.ts';

/** The smallest simulation that blocks its one compromised tenant: a few seconds, for tests of the CLI itself. */
export const SMALL_SIMULATION: readonly string[] = [
  'simulate',
  '--tenants',
  '1',
  '--forwarders',
  '0',
  '--minutes',
  '5',
  '--compromise-at',
  '1',
];

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** The environment of a user's shell, minus any relayguard settings of the machine running the tests. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith('RELAYGUARD_') && !key.startsWith('npm_') && key !== 'INIT_CWD',
    ),
  );
  return { ...env, RELAYGUARD_LOG_LEVEL: 'warn', ...extra };
}

/** Runs `relayguard <args>` to its end (killed after timeoutMs, which then shows as code -1). */
export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  options: { timeoutMs?: number; cwd?: string } = {},
): Promise<CliRun> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { cwd: options.cwd ?? projectRoot, env: cleanEnv(env), timeout: options.timeoutMs ?? 60_000 },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: unknown }).code as number) : 0;
        resolve({
          code: typeof code === 'number' ? code : -1,
          stdout,
          stderr,
          ms: performance.now() - started,
        });
      },
    );
  });
}

/** A loopback port nothing listens on (bound, then released). */
export function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export interface RunningRelayguard {
  readonly process: ChildProcess;
  readonly banner: string;
  readonly url: string;
  readonly token: string;
  /** The Postfix policy port, as the banner's check_policy_service line names it. */
  readonly postfixPort: number;
  stop(): Promise<void>;
}

/** `relayguard all` in embedded mode on free ports; resolves once its banner names the generated token. */
export async function startRelayguardAll(env: Record<string, string> = {}): Promise<RunningRelayguard> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'all'], {
    cwd: projectRoot,
    env: cleanEnv({ RELAYGUARD_HTTP_PORT: '0', RELAYGUARD_POSTFIX_PORT: '0', ...env }),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let banner = '';
  // The banner is complete once it names the token; wait for that line, not for a time.
  for await (const chunk of child.stdout!) {
    banner += String(chunk);
    if (/admin token: +\S+\n/.test(banner) && /http: +\S+/.test(banner)) break;
  }
  return {
    process: child,
    banner,
    url: /http: +(\S+)/.exec(banner)![1]!,
    token: /admin token: +(\S+)/.exec(banner)![1]!,
    postfixPort: Number(/check_policy_service inet:[^\s]+:(\d+)/.exec(banner)?.[1]),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
