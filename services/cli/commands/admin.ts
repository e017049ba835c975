// `relayguard tenants | domains | connectors | policy | webhooks`: the operator and tenant-admin CLI, a thin client of the
// admin API (docs/admin-api.md). Human tables by default, the API's JSON with --json. One file a command group
// in admin/.
import type { Command } from 'commander';
import type { Config } from '../../platform/config.js';
import { AdminClient } from '../admin-client.js';
import type { Action, AdminCommand, Printer } from './admin/admin-command.js';
import { registerConnectorCommands } from './admin/connectors.js';
import { registerDomainCommands } from './admin/domains.js';
import { registerPolicyCommands } from './admin/policy.js';
import { registerTenantCommands } from './admin/tenants.js';
import { registerWebhookCommands } from './admin/webhooks.js';

interface ClientFlags {
  readonly url?: string;
  readonly token?: string;
  readonly json?: boolean;
}

export function registerAdminCommands(program: Command, config: () => Config): void {
  const command: AdminCommand = (parent: Command, name: string, description: string, action: Action) =>
    parent
      .command(name)
      .description(description)
      .option(
        '--url <url>',
        'admin API base URL (default: RELAYGUARD_URL, else http://127.0.0.1:<RELAYGUARD_HTTP_PORT>)',
      )
      .option('--token <token>', 'bearer token (default: RELAYGUARD_TOKEN)')
      .option('--json', 'print the API response as JSON', false)
      .action(async (...received: unknown[]) => {
        const cmd = received[received.length - 1] as Command;
        const opts = cmd.opts<ClientFlags & Record<string, unknown>>();
        const { client: defaults } = config();
        const client = new AdminClient({
          url: opts.url ?? defaults.url,
          token: opts.token ?? defaults.token,
          flags: flagsByField(cmd),
        });
        const print: Printer = (value, human) =>
          process.stdout.write(`${opts.json ? JSON.stringify(value, null, 2) : human()}\n`);
        await action(client, print, cmd.args, opts);
      });

  registerTenantCommands(program, command);
  registerDomainCommands(program, command);
  registerConnectorCommands(program, command);
  registerPolicyCommands(program, command);
  registerWebhookCommands(program, command);
}

/** API fields that a flag of another name fills; the others are the flag's own camelCase (ticket, minUnregistered). */
const RENAMED_FIELDS: Readonly<Record<string, string>> = {
  relayPath: '--path',
  senderIpRanges: '--range',
  tlsCertificateDomain: '--cert',
  enabled: '--enabled / --disabled',
  matchSubdomains: '--subdomains',
  // Webhook endpoints (`relayguard webhooks`): --url is the admin API's own address there too.
  url: '--endpoint-url',
  secret: '--secret-file / --secret',
  tenants: '--tenant',
  since: '--from',
  from: '--dead-letters / --from',
  id: '<endpointId>',
  connectorIds: '--connector',
};

function flagsByField(cmd: Command): Record<string, string> {
  const own = cmd.options.flatMap((option) => (option.long ? [[option.attributeName(), option.long]] : []));
  return { ...Object.fromEntries(own), ...RENAMED_FIELDS };
}
