// `relayguard simulate --target policy://host:port`: the synthetic fleet against a running relayguard, through
// its Postfix policy server. The fleet's tenants are registered through the admin API first.
import { SingleBar } from 'cli-progress';
import { InvalidArgumentError } from 'commander';
import type { Config } from '../../platform/config.js';
import { AdminClient, CliError, segment } from '../admin-client.js';
import { ExitCode } from '../exit-codes.js';
import type { FleetDirectory, FleetOptions } from '../simulation/fleet.js';
import { PolicyClient } from '../simulation/policy-client.js';
import { runPolicySimulation } from '../simulation/policy-target.js';
import { renderPolicySimulationSummary } from '../simulation/report.js';

export interface PolicyTargetOptions extends FleetOptions {
  readonly target: string;
  readonly connections: number;
  readonly minutes: number;
  readonly url: string | undefined;
  readonly token: string | undefined;
  readonly json: boolean;
}

/** `policy://host:port` (IPv6 in brackets), as the startup banner's check_policy_service endpoint names it. */
export function parsePolicyTarget(target: string): { host: string; port: number } {
  let url: URL | undefined;
  try {
    url = new URL(target);
  } catch {
    url = undefined;
  }
  const port = Number(url?.port);
  if (url?.protocol !== 'policy:' || !url.hostname || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`--target must be policy://<host>:<port>, like policy://127.0.0.1:10040`);
  }
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

/** The fleet registered through the admin API of the running relayguard. */
export function adminApiDirectory(client: AdminClient): FleetDirectory {
  return {
    putAcceptedDomain: (tenantId, domain) =>
      client.put(`/v1/tenants/${segment(tenantId)}/accepted-domains/${segment(domain)}`, {
        matchSubdomains: true,
      }),
    putConnector: (tenantId, connectorId, connector) =>
      client.put(`/v1/tenants/${segment(tenantId)}/connectors/${segment(connectorId)}`, connector),
  };
}

export async function simulatePolicyTarget(config: Config, options: PolicyTargetOptions): Promise<number> {
  const { host, port } = parsePolicyTarget(options.target);
  // Before the fleet is registered: a wrong --target must not leave tenants behind in the admin API.
  const probe = await PolicyClient.connect(host, port).catch((error: { code?: string }) => {
    throw new CliError(
      `--target ${options.target}: cannot connect (${error.code ?? String(error)}); is relayguard running there? Its startup banner names the policy port (RELAYGUARD_POSTFIX_PORT)`,
      ExitCode.SERVER,
    );
  });
  probe.close();
  const client = new AdminClient({
    url: options.url ?? config.client.url,
    token: options.token ?? config.client.token,
  });
  const bar = new SingleBar({
    format:
      'simulating [{bar}] {value}/{total} fleet minutes | {messages} messages through the policy server',
    stream: process.stderr,
    hideCursor: true,
  });
  bar.start(options.minutes, 0, { messages: 0 });
  const summary = await runPolicySimulation(
    { ...options, host, port },
    adminApiDirectory(client),
    (minute, messages) => bar.update(minute, { messages: messages.toLocaleString('en-US') }),
  ).finally(() => bar.stop());
  process.stdout.write(
    options.json ? `${JSON.stringify(summary, null, 2)}\n` : `${renderPolicySimulationSummary(summary)}\n`,
  );
  return summary.ok ? ExitCode.OK : ExitCode.UNEXPECTED_RESULT;
}
