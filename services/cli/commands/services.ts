// `relayguard all | scorer | enforcer | admin | webhooks`: the long-running services, wired by services/app/ and
// started by serve.ts, which is loaded on use. The webhook endpoint subcommands (`webhooks list`, ...) are added
// to the `webhooks` command by admin/webhooks.ts.
import type { Command } from 'commander';
import type { Config } from '../../platform/config.js';
import { createLogger } from '../../platform/logger.js';

const SERVICES = [
  [
    'all',
    'run the scorer, the enforcer, the admin API and the webhook deliverer in one process (embedded adapters when nothing is configured)',
  ],
  ['scorer', 'consume MessageSubmitted, keep per-tenant windows, publish tenant block events'],
  ['enforcer', 'answer relays from the materialized block state'],
  ['admin', 'serve the admin API'],
  [
    'webhooks',
    'post block and unblock events to the webhook endpoints, signed (RELAYGUARD_WEBHOOKS and those its subcommands register)',
  ],
] as const;

export function registerServiceCommands(program: Command, config: () => Config): void {
  for (const [name, description] of SERVICES) {
    program
      .command(name)
      .description(description)
      .action(async () => {
        const cfg = config();
        // Loaded on use: the admin commands start in a fraction of the time without the services' dependencies.
        const { serve } = await import('./serve.js');
        await serve(
          cfg,
          name === 'all' ? ['scorer', 'enforcer', 'admin', 'webhooks'] : [name],
          createLogger(cfg.logLevel),
        );
      });
  }
}
