// Debian's postfwd (postfwd2: a Perl policy server, pre-forking) on a free loopback port, for benchmark 4 to
// compare with. postfwd2 always daemonizes (its --nodaemon mode reads stdin), so it is stopped by the pids
// it leaves: the master from its pid file, and the cache and policy daemons it forked (each of which stops
// its own children on SIGTERM).
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PolicyClient } from '../services/cli/simulation/policy-client.js';
import { freePort, waitFor } from '../test/support/tether.js';

export interface Postfwd {
  readonly port: number;
  stop(): Promise<void>;
}

export interface PostfwdRule {
  /** Clients in these CIDR ranges ... */
  readonly clientRanges: readonly string[];
  /** ... sending from these domains are rejected with `reply`. */
  readonly senderDomains: readonly string[];
  readonly reply: string;
}

/** The pid's parent and state from /proc, or undefined when it is gone. */
async function procStat(pid: number): Promise<{ ppid: number; state: string } | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(ppid), state: state! };
}

/** The pid and all its descendants. */
async function processTree(root: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await procStat(Number(entry));
    if (stat) parents.set(Number(entry), stat.ppid);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  }
  return tree;
}

/** Running, not a zombie: an orphan's zombie stays until its new parent reaps it. */
async function running(pid: number): Promise<boolean> {
  const stat = await procStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

export async function startPostfwd(rule: PostfwdRule): Promise<Postfwd> {
  // postfwd drops to nobody: its files must be readable by all.
  const dir = await mkdtemp(join(tmpdir(), 'relayguard-postfwd-'));
  await chmod(dir, 0o755);
  const file = async (name: string, text: string) => {
    await writeFile(join(dir, name), text, { mode: 0o644 });
    return join(dir, name);
  };
  const ranges = await file('ranges', `${rule.clientRanges.join('\n')}\n`);
  const domains = await file('domains', `${rule.senderDomains.join('\n')}\n`);
  const rules = await file(
    'rules',
    `id=BLOCKED; client_address=file:${ranges}; sender_domain==file:${domains}; action=${rule.reply}\n`,
  );
  const pidFile = join(dir, 'postfwd.pid');
  const [port, cachePort] = [await freePort(), await freePort()];
  await promisify(execFile)('postfwd2', [
    '--file',
    rules,
    '--interface',
    '127.0.0.1',
    '--port',
    String(port),
    '--cache_socket',
    `tcp:127.0.0.1:${cachePort}`,
    '--pidfile',
    pidFile,
    '--user',
    'nobody',
    '--group',
    'nogroup',
    '--nodns',
    '--perfmon',
  ]).catch((error: unknown) => {
    throw new Error(`cannot start postfwd2 (apt-get install postfwd): ${String(error)}`, { cause: error });
  });
  const master = Number(
    (
      await waitFor(() => readFile(pidFile, 'utf8'), { description: 'postfwd2 to write its pid file' })
    ).trim(),
  );

  // The whole tree at once: a policy daemon's children outlive it for a while when it goes first.
  const stop = async () => {
    const pids = await processTree(master);
    for (const pid of pids) if (await running(pid)) process.kill(pid, 'SIGTERM');
    const gone = async () => (await Promise.all(pids.map(running))).every((up) => !up);
    try {
      await waitFor(gone, { timeoutMs: 10_000, description: 'postfwd2 to exit' });
    } catch {
      for (const pid of pids) if (await running(pid)) process.kill(pid, 'SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // Answering is the sign of readiness: the policy daemon forks its children after the master returns.
    await waitFor(
      async () => {
        const client = await PolicyClient.connect('127.0.0.1', port);
        try {
          return (await client.request({ request: 'smtpd_access_policy', protocol_state: 'RCPT' })) !== '';
        } finally {
          client.close();
        }
      },
      { timeoutMs: 20_000, description: `postfwd2 on 127.0.0.1:${port} to answer` },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, stop };
}
