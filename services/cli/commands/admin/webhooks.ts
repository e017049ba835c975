// `relayguard webhooks list | add | update | remove | deliveries | replay`: webhook endpoints, their delivery log
// and replays, through the admin API (operators). `relayguard webhooks` alone runs the deliverer (main.ts).
import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { ReplayResult, WebhookEndpointView } from '../../../admin/webhook-endpoints.js';
import type { WebhookDelivery } from '../../../core/contracts.generated.js';
import { segment } from '../../admin-client.js';
import { integer } from '../../options.js';
import { renderTable } from '../../table.js';
import { type AdminCommand, removeResource, time } from './admin-command.js';

const EVENT_KINDS = ['blocked', 'unblocked'];

export function registerWebhookCommands(program: Command, command: AdminCommand): void {
  const webhooks =
    program.commands.find((existing) => existing.name() === 'webhooks') ?? program.command('webhooks');
  command(webhooks, 'list', 'the webhook endpoints (operators)', async (client, print) => {
    const list = await client.get<{ endpoints: WebhookEndpointView[] }>('/v1/webhooks');
    print(list, () => endpointTable(list.endpoints));
  });
  endpointOptions(
    command(
      webhooks,
      'add',
      'register a webhook endpoint: the deliverers post each block change to it from now on (operators)',
      async (client, print, [id], opts) => {
        const body = { id, url: opts.endpointUrl, secret: secretOf(opts), ...filters(opts) };
        const endpoint = await client.post<WebhookEndpointView>('/v1/webhooks', body);
        print(endpoint, () => `registered ${endpoint.id}\n${endpointTable([endpoint])}`);
      },
    ).argument('<endpointId>', '1-63 lower-case letters, digits or hyphens: names it in metrics and logs'),
  ).hook('preAction', (cmd) => {
    const opts = cmd.opts();
    if (opts.endpointUrl === undefined) throw new InvalidArgumentError('--endpoint-url is required');
    if (opts.secret === undefined && opts.secretFile === undefined)
      throw new InvalidArgumentError('--secret-file (or --secret) is required');
  });
  endpointOptions(
    command(
      webhooks,
      'update',
      'change a registered endpoint; options not given keep their value (operators)',
      async (client, print, [id], opts) => {
        const body = {
          ...(opts.endpointUrl === undefined ? {} : { url: opts.endpointUrl }),
          ...(opts.secret === undefined && opts.secretFile === undefined ? {} : { secret: secretOf(opts) }),
          ...filters(opts),
        };
        const endpoint = await client.patch<WebhookEndpointView>(`/v1/webhooks/${segment(id!)}`, body);
        print(endpoint, () => `saved ${endpoint.id}\n${endpointTable([endpoint])}`);
      },
    ).argument('<endpointId>'),
  ).option('--all-tenants', "send every tenant's changes (drops a --tenant filter)");
  command(
    webhooks,
    'remove',
    'remove a registered endpoint (operators)',
    removeResource(([id]) => `/v1/webhooks/${id}`),
  ).argument('<endpointId>');
  command(
    webhooks,
    'deliveries',
    "the endpoint's recent deliveries, newest first: event, attempts, status, last error (operators)",
    async (client, print, [id], opts) => {
      const log = await client.get<{ deliveries: WebhookDelivery[]; caughtUp: boolean }>(
        `/v1/webhooks/${segment(id!)}/deliveries?limit=${opts.limit}`,
      );
      print(log, () => deliveryTable(log.deliveries, log.caughtUp));
    },
  )
    .argument('<endpointId>')
    .option('--limit <n>', 'most deliveries shown (1-100)', integer('--limit', 1), 20);
  command(
    webhooks,
    'replay',
    "deliver the endpoint's dead letters, or the block changes since a time, again, in order per tenant (operators)",
    async (client, print, [id], opts) => {
      const body = {
        from: opts.deadLetters ? 'dead-letters' : 'block-events',
        ...(opts.from === undefined ? {} : { since: opts.from }),
        ...(opts.tenant === undefined ? {} : { tenantId: opts.tenant }),
      };
      const result = await client.post<ReplayResult>(`/v1/webhooks/${segment(id!)}/replays`, body);
      print(
        result,
        () =>
          `replay ${result.replayId}: ${result.events} event(s) queued for ${result.endpointId}; follow them with \`relayguard webhooks deliveries ${result.endpointId}\``,
      );
    },
  )
    .argument('<endpointId>')
    .option('--dead-letters', "the endpoint's dead letters (with --from: those dead-lettered since then)")
    .option(
      '--from <iso>',
      'the block changes that happened at or after this time, e.g. 2026-12-01T09:00:00Z',
    )
    .option('--tenant <tenantId>', "only this tenant's events")
    .hook('preAction', (cmd) => {
      const opts = cmd.opts();
      if (!opts.deadLetters && opts.from === undefined)
        throw new InvalidArgumentError(
          'say what to replay: --dead-letters, or --from <iso> for the block changes',
        );
    });
}

/** The options add and update share. */
function endpointOptions(cmd: Command): Command {
  return cmd
    .option('--endpoint-url <url>', 'where deliveries are posted (http:// or https://)')
    .option('--secret-file <path>', 'a file holding the signing secret (at least 16 characters)')
    .option(
      '--secret <secret>',
      'the signing secret itself (visible to other users of this machine: prefer --secret-file)',
    )
    .addOption(
      new Option('--events <kind...>', 'the changes posted: blocked, unblocked (default both)').choices(
        EVENT_KINDS,
      ),
    )
    .option('--tenant <tenantId...>', "only these tenants' changes (default every tenant)")
    .hook('preAction', (action) => {
      const opts = action.opts();
      if (opts.secret !== undefined && opts.secretFile !== undefined)
        throw new InvalidArgumentError('--secret and --secret-file exclude each other');
      if (opts.allTenants && opts.tenant !== undefined)
        throw new InvalidArgumentError('--tenant and --all-tenants exclude each other');
    });
}

function secretOf(opts: Record<string, unknown>): string {
  if (opts.secretFile === undefined) return opts.secret as string;
  try {
    return readFileSync(opts.secretFile as string, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new InvalidArgumentError(
      `--secret-file: cannot read ${opts.secretFile as string} (${(error as NodeJS.ErrnoException).code})`,
    );
  }
}

function filters(opts: Record<string, unknown>): Record<string, unknown> {
  return {
    ...(opts.events === undefined ? {} : { events: opts.events }),
    ...(opts.tenant === undefined ? {} : { tenants: opts.tenant }),
    ...(opts.allTenants ? { tenants: null } : {}),
  };
}

function endpointTable(endpoints: readonly WebhookEndpointView[]): string {
  if (endpoints.length === 0) return 'no webhook endpoints';
  return renderTable(
    ['ENDPOINT', 'SOURCE', 'URL', 'EVENTS', 'TENANTS', 'UPDATED'],
    endpoints.map((endpoint) => [
      endpoint.id,
      endpoint.source === 'environment' ? 'RELAYGUARD_WEBHOOKS' : 'api',
      endpoint.url,
      endpoint.events.join(','),
      endpoint.tenants?.join(',') ?? 'all',
      endpoint.updatedAt === null ? '-' : `${time(endpoint.updatedAt)} ${endpoint.updatedBy ?? ''}`.trim(),
    ]),
  );
}

function deliveryTable(deliveries: readonly WebhookDelivery[], caughtUp: boolean): string {
  const note = caughtUp ? '' : '\n(the delivery log is still being read: older deliveries may be missing)';
  if (deliveries.length === 0) return `no deliveries yet${note}`;
  return (
    renderTable(
      ['AT', 'EVENT', 'TENANT', 'STATUS', 'ATTEMPTS', 'LAST ERROR', 'REPLAY'],
      deliveries.map((d) => [
        time(d.occurredAt),
        d.eventId,
        d.tenantId,
        d.status,
        String(d.attempts),
        d.lastError ?? '-',
        d.replayId ?? '-',
      ]),
    ) + note
  );
}
