// `relayguard connectors put | remove | list | review`: a tenant's connectors and how unusual they are.
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { ConnectorReview } from '../../../admin/connector-review.js';
import { type RelayPath, RelayPathValues } from '../../../core/contracts.generated.js';
import type { Connector } from '../../../core/directory.js';
import { type AdminClient, segment } from '../../admin-client.js';
import { renderTable } from '../../table.js';
import { type AdminCommand, removeResource, showTenantResource, time } from './admin-command.js';

export function registerConnectorCommands(program: Command, command: AdminCommand): void {
  const connectors = program.command('connectors').description("a tenant's connectors and their review");
  command(
    connectors,
    'put',
    'create or change a connector; options not given keep their current value',
    async (client, print, [tenant, connectorId], opts) => {
      const base = `/v1/tenants/${segment(tenant!)}/connectors`;
      const existing = await currentConnector(client, base, connectorId!);
      const body = {
        relayPath: (opts.path as RelayPath | undefined) ?? existing?.relayPath,
        senderIpRanges: (opts.range as string[] | undefined) ?? existing?.senderIpRanges ?? [],
        tlsCertificateDomain: (opts.cert as string | undefined) ?? existing?.tlsCertificateDomain ?? null,
        enabled: (opts.enabled as boolean | undefined) ?? existing?.enabled ?? true,
      };
      const result = await client.put<{ connector: Connector; created: boolean }>(
        `${base}/${segment(connectorId!)}`,
        body,
      );
      print(
        result,
        () => `${result.created ? 'created' : 'saved'} connector\n${connectorTable([result.connector])}`,
      );
    },
  )
    .argument('<tenantId>')
    .argument('<connectorId>')
    .addOption(new Option('--path <relayPath>', 'relay path of its mail').choices(RelayPathValues))
    .option('--range <cidr...>', 'sender IP ranges (replace the current ones)')
    .option('--cert <domain>', 'TLS client certificate domain that identifies it')
    .option('--enabled', 'enable it')
    .option('--disabled', 'disable it: it identifies no mail')
    .hook('preAction', (cmd) => {
      const opts = cmd.opts();
      if (opts.enabled && opts.disabled)
        throw new InvalidArgumentError('--enabled and --disabled exclude each other');
      if (opts.disabled) cmd.setOptionValue('enabled', false);
    });
  command(
    connectors,
    'remove',
    'remove a connector',
    removeResource(([tenant, connectorId]) => `/v1/tenants/${tenant}/connectors/${connectorId}`),
  )
    .argument('<tenantId>')
    .argument('<connectorId>');
  command(
    connectors,
    'list',
    "the tenant's connectors",
    showTenantResource<{ connectors: Connector[] }>('connectors', (list) => connectorTable(list.connectors)),
  ).argument('<tenantId>');
  command(
    connectors,
    'review',
    'connectors ranked by how unusual they are, with the reasons',
    showTenantResource<{ connectors: ConnectorReview[] }>('connectors/review', (review) =>
      renderTable(
        ['SCORE', 'CONNECTOR', 'ENABLED', 'REASONS'],
        review.connectors.flatMap((c) => {
          const [first, ...more] = c.reasons.length > 0 ? c.reasons : [{ detail: 'nothing unusual' }];
          const enabled = c.enabled === null ? '-' : c.enabled ? 'yes' : 'no';
          return [
            [String(c.score), c.connectorId, enabled, first!.detail],
            ...more.map((reason) => ['', '', '', reason.detail]),
          ];
        }),
      ),
    ),
  ).argument('<tenantId>');
}

async function currentConnector(
  client: AdminClient,
  base: string,
  connectorId: string,
): Promise<Connector | undefined> {
  try {
    const list = await client.get<{ connectors: Connector[] }>(base);
    return list.connectors.find((c) => c.connectorId === connectorId);
  } catch (error) {
    // A tenant with nothing configured yet is unknown to the API: its first connector has no current value.
    if ((error as { body?: { error?: string } }).body?.error === 'UNKNOWN_TENANT') return undefined;
    throw error;
  }
}

function connectorTable(list: readonly Connector[]): string {
  return renderTable(
    ['CONNECTOR', 'PATH', 'RANGES', 'CERTIFICATE', 'ENABLED', 'CREATED', 'BY'],
    list.map((c) => [
      c.connectorId,
      c.relayPath,
      c.senderIpRanges.join(' ') || '-',
      c.tlsCertificateDomain ?? '-',
      c.enabled ? 'yes' : 'no',
      time(c.createdAt),
      c.createdBy,
    ]),
  );
}
