// A real Postfix (Debian's) for tests: its own configuration, queue and data directories in a temp dir, SMTP on a
// free loopback port, every message delivered to the discard transport (nothing leaves the machine), and its
// log in a file. The master runs in the foreground as a tethered child and is stopped by its pid: no system
// service, no /etc/postfix file and no port 25 is touched. Needs root, as Postfix does to start.
import { execFile as execFileCallback } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { projectPath } from '../../services/platform/project-files.js';
import { freePort, spawnTethered, type Tethered, waitFor } from './tether.js';

const execFile = promisify(execFileCallback);

export interface PostfixOptions {
  /** main.cf lines added after the test defaults (e.g. deploy/postfix/main.cf with the port filled in). */
  readonly mainCf?: string;
  /**
   * Where Postfix writes its log (`maillog_file`); it survives stop(). Default: inside the temp dir, removed
   * by stop() — read `maillog` before stopping.
   */
  readonly maillogFile?: string;
  readonly startTimeoutMs?: number;
}

export interface Postfix {
  readonly host: '127.0.0.1';
  readonly smtpPort: number;
  /** The main.cf parameter `myhostname`. */
  readonly hostname: string;
  readonly configDirectory: string;
  /** Path of the Postfix log file (the `maillog_file` parameter). */
  readonly maillog: string;
  readonly pid: number;
  readLog(): Promise<string>;
  /** SIGTERM to the master (it stops its children), then removes the temp dir. */
  stop(): Promise<void>;
}

const HOSTNAME = 'relay.relayguard.test';

/** Whether this machine can run the test Postfix: root, and Debian's postfix installed. */
export async function postfixAvailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'Postfix needs root to start';
  try {
    await execFile('postconf', ['-d', 'mail_version']);
    return undefined;
  } catch {
    return 'postfix is not installed (scripts/test-env/ensure-deps.sh installs it)';
  }
}

export async function startPostfix(options: PostfixOptions = {}): Promise<Postfix> {
  const root = await mkdtemp(join(tmpdir(), 'relayguard-postfix-'));
  try {
    return await launch(root, options);
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

async function launch(root: string, options: PostfixOptions): Promise<Postfix> {
  // Postfix's unprivileged daemons must reach the queue and data directories below this one.
  await chmod(root, 0o755);
  const config = join(root, 'etc');
  await mkdir(config);
  await mkdir(join(root, 'spool'));
  const maillog = options.maillogFile ?? join(root, 'maillog');
  const smtpPort = await freePort();
  const daemonDirectory = (await execFile('postconf', ['-dh', 'daemon_directory'])).stdout.trim();

  await writeFile(
    join(config, 'main.cf'),
    `${[
      'compatibility_level = 3.6',
      `config_directory = ${config}`,
      `queue_directory = ${join(root, 'spool')}`,
      `data_directory = ${join(root, 'data')}`,
      `maillog_file = ${maillog}`,
      `maillog_file_prefixes = ${dirname(maillog)}`,
      'inet_interfaces = 127.0.0.1',
      'inet_protocols = ipv4',
      `myhostname = ${HOSTNAME}`,
      'mydomain = relayguard.test',
      'mydestination =',
      'relay_domains =',
      // Every 127.0.0.x is a tenant's on-premises server allowed to relay, as a relay's customers are.
      'mynetworks = 127.0.0.0/8',
      'smtpd_relay_restrictions = permit_mynetworks, reject',
      // No DNS on this machine: no reverse lookups, no MX lookups, and nothing is ever delivered anywhere.
      'smtpd_peername_lookup = no',
      'smtp_dns_support_level = disabled',
      'default_transport = discard:relayguard test sink',
      'relay_transport = discard:relayguard test sink',
      'local_transport = discard:relayguard test sink',
      'alias_maps =',
      'alias_database =',
      options.mainCf ?? '',
    ].join('\n')}\n`,
  );
  await writeFile(join(config, 'master.cf'), masterCf(smtpPort));

  // Creates the queue's and the data directories with Postfix's owners and modes, and checks the configuration.
  await execFile('postfix', ['-c', config, 'check']).catch(async (error: Error) => {
    throw new Error(
      `postfix check failed: ${error.message}\n${await readFile(maillog, 'utf8').catch(() => '')}`,
    );
  });
  const master = await spawnTethered(join(daemonDirectory, 'master'), ['-c', config], {
    stdout: 'ignore',
    stderr: 'ignore',
  });
  const readLog = () => readFile(maillog, 'utf8').catch(() => '');
  try {
    await waitFor(() => smtpBanner(smtpPort), {
      timeoutMs: options.startTimeoutMs ?? 15_000,
      description: `Postfix's SMTP banner on 127.0.0.1:${smtpPort}`,
      signal: exitSignal(master),
    });
  } catch (error) {
    await master.stop();
    const log = await readLog();
    throw new Error(`Postfix did not start: ${(error as Error).message}\n${log}`, { cause: error });
  }

  return {
    host: '127.0.0.1',
    smtpPort,
    hostname: HOSTNAME,
    configDirectory: config,
    maillog,
    pid: master.pid,
    readLog,
    async stop() {
      await master.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Only what the tests use, chroot off (the temp dir is not a chroot jail); postlogd writes maillog_file. */
function masterCf(smtpPort: number): string {
  const services = [
    `127.0.0.1:${smtpPort} inet n - n - - smtpd`,
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'proxymap unix - - n - - proxymap',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ];
  return `${services.join('\n')}\n`;
}

function exitSignal(process: Tethered): AbortSignal {
  const controller = new AbortController();
  void process.exited.then((exit) =>
    controller.abort(new Error(`the Postfix master exited (code ${exit.code}, signal ${exit.signal})`)),
  );
  return controller.signal;
}

/** True once something on the port greets with an SMTP 220 banner. */
function smtpBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setEncoding('utf8');
    socket.once('data', (greeting: string) => {
      socket.end('QUIT\r\n');
      resolve(greeting.startsWith('220 '));
    });
    socket.once('error', () => resolve(false));
  });
}

/** Where the shipped main.cf snippet (deploy/postfix/main.cf) points Postfix: the policy server's default port. */
const SHIPPED_ENDPOINT = 'inet:127.0.0.1:10040';

/** Postfix configured with the shipped main.cf snippet, asking the policy server at `endpoint` instead. */
export async function startPostfixAsking(endpoint: string): Promise<Postfix> {
  const snippet = await readFile(projectPath('deploy/postfix/main.cf'), 'utf8');
  if (!snippet.includes(SHIPPED_ENDPOINT))
    throw new Error(`deploy/postfix/main.cf no longer names ${SHIPPED_ENDPOINT}`);
  return startPostfix({
    mainCf: [
      snippet.replaceAll(SHIPPED_ENDPOINT, endpoint),
      // A later line wins: on a loaded test machine a slow answer must not become the default action.
      'smtpd_policy_service_timeout = 60s',
    ].join('\n'),
    startTimeoutMs: 60_000,
  });
}
