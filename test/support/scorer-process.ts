// `relayguard scorer` as a child process (the way it runs in production), for tests that stop, kill or break
// it: its JSON log lines are collected, `ready` resolves when it logs that it is ready.
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnTethered, type Tethered } from './tether.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ServiceProcess {
  readonly process: Tethered;
  /** Parsed pino lines of its stdout (the banner's plain lines are skipped). */
  readonly logs: Array<Record<string, unknown>>;
  /** Resolves when it logged "relayguard is ready"; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** The tail of what it wrote to stderr. */
  stderr(): string;
}

/** Starts `relayguard <service>` with `env` (e.g. a ProductionStack's) on an ephemeral HTTP port. */
export async function startServiceProcess(
  env: Readonly<Record<string, string>>,
  service: 'scorer' | 'enforcer' | 'admin' | 'webhooks' | 'all' = 'scorer',
): Promise<ServiceProcess> {
  const proc = await spawnTethered(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'services', 'cli', 'main.ts'), service],
    {
      cwd: REPO_ROOT,
      // Free ports unless the test names its own: a fixed default would collide with anything else on this machine.
      env: {
        PATH: process.env.PATH,
        RELAYGUARD_HTTP_PORT: '0',
        RELAYGUARD_POSTFIX_PORT: '0',
        RELAYGUARD_LOG_LEVEL: 'info',
        ...env,
      },
      stderr: 'pipe',
    },
  );
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  proc.child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: proc.child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === 'relayguard is ready') resolve();
    });
    void proc.exited.then((exit) =>
      reject(
        new Error(
          `relayguard ${service} exited (${exit.signal ?? exit.code}) before it was ready: ${stderr}`,
        ),
      ),
    );
  });
  ready.catch(() => undefined);
  return { process: proc, logs, ready, stderr: () => stderr };
}
