// A real DNS server (Debian's dnsmasq) for domain verification tests, on a free loopback port, serving the TXT
// records a test sets and nothing else (other names answer NXDOMAIN), dying with the test process.
import { dnsTxtResolver } from '../../services/platform/dns.js';
import { freePort, spawnTethered, type Tethered, waitForStartup } from './tether.js';

export interface DnsServer {
  readonly port: number;
  /** For RELAYGUARD_DNS_SERVERS and dns.Resolver#setServers. */
  readonly address: string;
  readonly pid: number;
  /** Serves exactly these TXT records from now on (dnsmasq reads them at start: it restarts on the same port). */
  setTxtRecords(records: Readonly<Record<string, readonly string[]>>): Promise<void>;
  /** SIGTERM to this server's pid, and wait for the exit. */
  stop(): Promise<void>;
}

/** Answered by every server this support starts: a query for it tells that the server is up. */
const READY_NAME = 'ready.relayguard.test';

export async function startDnsServer(
  records: Readonly<Record<string, readonly string[]>> = {},
): Promise<DnsServer> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  let current = await launch(port, address, records);
  return {
    port,
    address,
    get pid() {
      return current.pid;
    },
    async setTxtRecords(next) {
      await current.stop();
      current = await launch(port, address, next);
    },
    async stop() {
      await current.stop();
    },
  };
}

async function launch(
  port: number,
  address: string,
  records: Readonly<Record<string, readonly string[]>>,
): Promise<Tethered> {
  // Given without a shell, the option takes its text as is; a comma would start a second character-string.
  const txt = Object.entries({ ...records, [READY_NAME]: ['ready'] }).flatMap(([name, values]) =>
    values.map((value) => {
      if (value.includes(',')) throw new Error(`TXT record text for ${name} may not contain a comma here`);
      return `--txt-record=${name},${value}`;
    }),
  );
  const server = await spawnTethered('dnsmasq', [
    '--keep-in-foreground',
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    // No configuration file, no /etc/hosts, no upstream: only the records given here, NXDOMAIN for the rest.
    '--conf-file=/dev/null',
    '--no-hosts',
    '--no-resolv',
    '--address=/#/',
    '--pid-file=',
    '--log-facility=-',
    ...txt,
  ]);
  const resolver = dnsTxtResolver({ servers: [address], timeoutMs: 200, tries: 1 });
  await waitForStartup(server, 'dnsmasq', async () => {
    try {
      return (await resolver.resolveTxt(READY_NAME)).includes('ready');
    } catch {
      return false;
    }
  });
  return server;
}
