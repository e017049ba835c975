// `relayguard tenants status | blocks | unblock`: a tenant's status and evidence, the blocked tenants, lifting a block.
import type { Command } from 'commander';
import type { SelfServiceCheck } from '../../../admin/remediation-rules.js';
import type { BlockPage, TenantStatus } from '../../../admin/tenant-reads.js';
import type { UnblockResult } from '../../../admin/unblocking.js';
import { segment } from '../../admin-client.js';
import { number } from '../../options.js';
import { renderTable } from '../../table.js';
import { type AdminCommand, showTenantResource, time } from './admin-command.js';

export function registerTenantCommands(program: Command, command: AdminCommand): void {
  const tenants = program.command('tenants').description('tenant status, blocks and unblocking');
  command(
    tenants,
    'status',
    "a tenant's block, evidence, window counters and thresholds",
    showTenantResource('status', renderStatus),
  ).argument('<tenantId>');

  command(tenants, 'blocks', 'blocked tenants, newest first', async (client, print, _args, opts) => {
    const query = new URLSearchParams({ limit: String(opts.limit) });
    if (opts.cursor) query.set('cursor', String(opts.cursor));
    const page = await client.get<BlockPage>(`/v1/blocks?${query}`);
    print(page, () => {
      if (page.blocks.length === 0) return 'no tenant is blocked';
      const table = renderTable(
        ['TENANT', 'BLOCKED AT', 'SCOPE', 'REASON', 'U', 'T', 'D', 'BLOCK ID'],
        page.blocks.map((b) => [
          b.tenantId,
          time(b.blockedAt),
          scopeText(b),
          b.reason + (b.probation ? ' (probation)' : ''),
          String(b.unregistered),
          String(b.total),
          String(b.distinctUnregisteredDomains),
          b.blockId,
        ]),
      );
      return page.nextCursor
        ? `${table}\nmore: relayguard tenants blocks --cursor ${page.nextCursor}`
        : table;
    });
  })
    .option(
      '--limit <n>',
      'blocks per page (1-200)',
      number('--limit', { min: 1, max: 200, integer: true }),
      50,
    )
    .option('--cursor <cursor>', 'the cursor the previous page printed');

  command(
    tenants,
    'unblock',
    "lift a tenant's block, or some connectors of a connector-scoped one, after remediation (operators; --self-service for the tenant's own admin)",
    async (client, print, [tenant], opts) => {
      const attestations = {
        domainsRegistered: opts.domainsRegistered === true,
        connectorsReviewed: opts.connectorsReviewed === true,
        serversSecured: opts.serversSecured === true,
      };
      const path = `/v1/tenants/${segment(tenant!)}/${opts.selfService ? 'self-service-unblock' : 'unblock'}`;
      const body = {
        ...(opts.ticket === undefined ? {} : { ticket: opts.ticket }),
        attestations,
        ...(opts.connector === undefined ? {} : { connectorIds: opts.connector }),
      };
      const result = await client.post<UnblockResult>(path, body);
      print(result, () =>
        [
          result.remainingBlock
            ? `lifted ${result.liftedConnectorIds.join(', ')} from block ${result.blockId} at ${time(result.unblockedAt)}; still blocked: ${result.remainingBlock.connectorIds.join(', ')} (block ${result.remainingBlock.blockId})`
            : `lifted block ${result.blockId} at ${time(result.unblockedAt)}`,
          ...(result.probationUntil
            ? [`on probation (halved thresholds) until ${time(result.probationUntil)}`]
            : []),
          ...result.warnings.map((warning) => `warning: ${warning}`),
        ].join('\n'),
      );
    },
  )
    .argument('<tenantId>')
    .option('--ticket <reference>', 'support ticket reference (required for an operator unblock)')
    .option(
      '--connector <connectorId...>',
      'lift only this connector of a connector-scoped block (repeatable; the others stay blocked)',
    )
    .option('--domains-registered', 'attest: every domain the tenant sends from is registered')
    .option('--connectors-reviewed', 'attest: connectors reviewed and unknown ones removed')
    .option('--servers-secured', 'attest: the on-premises servers were secured')
    .option(
      '--self-service',
      "the tenant admin's own unblock (first block in 30 days, system checks must pass)",
    );
}

function renderStatus(status: TenantStatus): string {
  const { counters: c, thresholds: t, block } = status;
  const lines = [
    renderTable(
      ['TENANT', status.tenantId],
      [
        ['blocked', status.blocked ? `yes, since ${time(block!.blockedAt)} (${block!.reason})` : 'no'],
        ...(block ? [['scope', scopeText(block)]] : []),
        ...(block?.scopeReason ? [['why this scope', block.scopeReason]] : []),
        ...(block?.widenedFrom ? [['widened from', block.widenedFrom]] : []),
        ...(block?.liftedConnectorIds.length ? [['lifted', block.liftedConnectorIds.join(', ')]] : []),
        ['mode', status.mode],
        [
          'window',
          `U ${c.unregistered}  F ${c.forwardedUnregistered}  T ${c.total}  D ${c.distinctUnregisteredDomains}`,
        ],
        [
          'block when',
          `(U >= ${t.minUnregistered} and U/T >= ${t.minUnregisteredRatio}) or (D >= ${t.minDistinctDomains} and U >= ${t.minUnregisteredWithDistinct})`,
        ],
        [
          'probation',
          status.probationUntil ? `until ${time(status.probationUntil)} (halved thresholds)` : 'no',
        ],
        ...(block ? [['block', `${block.blockId} (${block.mode})`]] : []),
      ],
    ),
  ];
  if (block) {
    const e = block.evidence;
    lines.push(
      '',
      `evidence: U ${e.unregistered}  F ${e.forwardedUnregistered}  T ${e.total}  D ${e.distinctUnregisteredDomains} in ${time(e.windowStart)} .. ${time(e.windowEnd)}`,
      renderTable(
        ['TOP UNREGISTERED DOMAIN', 'MESSAGES'],
        e.topDomains.map((d) => [d.domain, String(d.messages)]),
      ),
      '',
      renderTable(
        ['CONNECTOR', 'MESSAGES', 'T', 'D', 'CREATED', 'BLOCKED'],
        e.connectors.map((x) => [
          x.connectorId,
          String(x.messages),
          String(x.total),
          String(x.distinctUnregisteredDomains),
          x.createdAt === null ? '-' : time(x.createdAt),
          blockedConnector(block, x.connectorId) ? 'yes' : '-',
        ]),
      ),
    );
  }
  if (status.remediation) {
    lines.push('', ...status.remediation.warnings.map((warning) => `warning: ${warning}`));
    lines.push('self-service checks:', ...status.remediation.selfServiceChecks.map(renderCheck));
    lines.push(
      'remedies, in order:',
      ...status.remediation.remedies.map((remedy, i) => `  ${i + 1}. ${remedy.detail}`),
    );
  }
  return lines.join('\n');
}

/** "tenant", or "connectors a, b": what the block refuses. */
function scopeText(block: { scope: string; connectorIds: readonly string[] }): string {
  return block.scope === 'CONNECTOR' ? `connectors ${block.connectorIds.join(', ')}` : 'tenant';
}

function blockedConnector(block: NonNullable<TenantStatus['block']>, connectorId: string): boolean {
  return block.scope === 'TENANT' || block.connectorIds.includes(connectorId);
}

function renderCheck(check: SelfServiceCheck): string {
  return `  [${check.passed ? 'pass' : 'FAIL'}] ${check.check}: ${check.detail}`;
}
