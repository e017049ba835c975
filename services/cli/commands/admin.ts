// `relayguard tenants | domains | connectors | policy`: the operator and tenant-admin CLI, a thin client of the
// admin API (docs/admin-api.md). Human tables by default, the API's JSON with --json.
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { BlockPage, SelfServiceCheck, TenantStatus } from '../../admin/admin-service.js';
import type { ConnectorReview } from '../../admin/connector-review.js';
import type { RelayPath } from '../../core/contracts.generated.js';
import { RelayPathValues } from '../../core/contracts.generated.js';
import type { AcceptedDomain, Connector } from '../../core/directory.js';
import type { PolicyOverrides } from '../../core/policy.js';
import type { Config } from '../../platform/config.js';
import { AdminClient, segment } from '../admin-client.js';
import { number } from '../options.js';
import { renderTable } from '../table.js';

interface ClientFlags {
  readonly url?: string;
  readonly token?: string;
  readonly json?: boolean;
}

type Action = (
  client: AdminClient,
  print: Printer,
  args: string[],
  opts: Record<string, unknown>,
) => Promise<void>;

/** Prints `value` as JSON with --json, else the human text. */
type Printer = (value: unknown, human: () => string) => void;

/** How the admin API shows a domain's verification. */
interface Verification {
  readonly status: 'verified' | 'pending' | 'legacy';
  readonly method: string | null;
  readonly recordLostAt: number | null;
  readonly txtRecord: { readonly name: string; readonly value: string } | null;
}

/** What a pending domain's owner does next. */
function pendingHint(verification: Verification): string {
  if (verification.status !== 'pending' || !verification.txtRecord) return '';
  const { name, value } = verification.txtRecord;
  return `\npending until verified: publish the TXT record ${name} "${value}", then run \`relayguard domains verify\``;
}

export function registerAdminCommands(program: Command, config: () => Config): void {
  const command = (parent: Command, name: string, description: string, action: Action) =>
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

  const tenants = program.command('tenants').description('tenant status, blocks and unblocking');
  command(
    tenants,
    'status',
    "a tenant's block, evidence, window counters and thresholds",
    async (client, print, [tenant]) => {
      const status = await client.get<TenantStatus>(`/v1/tenants/${segment(tenant!)}/status`);
      print(status, () => renderStatus(status));
    },
  ).argument('<tenantId>');

  command(tenants, 'blocks', 'blocked tenants, newest first', async (client, print, _args, opts) => {
    const query = new URLSearchParams({ limit: String(opts.limit) });
    if (opts.cursor) query.set('cursor', String(opts.cursor));
    const page = await client.get<BlockPage>(`/v1/blocks?${query}`);
    print(page, () => {
      if (page.blocks.length === 0) return 'no tenant is blocked';
      const table = renderTable(
        ['TENANT', 'BLOCKED AT', 'REASON', 'U', 'T', 'D', 'BLOCK ID'],
        page.blocks.map((b) => [
          b.tenantId,
          time(b.blockedAt),
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
    "lift a tenant's block after remediation (operators; --self-service for the tenant's own admin)",
    async (client, print, [tenant], opts) => {
      const attestations = {
        domainsRegistered: opts.domainsRegistered === true,
        connectorsReviewed: opts.connectorsReviewed === true,
        serversSecured: opts.serversSecured === true,
      };
      const path = `/v1/tenants/${segment(tenant!)}/${opts.selfService ? 'self-service-unblock' : 'unblock'}`;
      const body = opts.ticket === undefined ? { attestations } : { ticket: opts.ticket, attestations };
      const result = await client.post<{
        blockId: string;
        unblockedAt: number;
        warnings: string[];
        probationUntil: number | null;
      }>(path, body);
      print(result, () =>
        [
          `lifted block ${result.blockId} at ${time(result.unblockedAt)}`,
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
    .option('--domains-registered', 'attest: every domain the tenant sends from is registered')
    .option('--connectors-reviewed', 'attest: connectors reviewed and unknown ones removed')
    .option('--servers-secured', 'attest: the on-premises servers were secured')
    .option(
      '--self-service',
      "the tenant admin's own unblock (first block in 30 days, system checks must pass)",
    );

  const domains = program.command('domains').description("a tenant's accepted domains");
  command(
    domains,
    'add',
    'register an accepted domain (Unicode or ASCII)',
    async (client, print, [tenant, domain], opts) => {
      const result = await client.put<{
        domain: string;
        unicode: string;
        created: boolean;
        verification: Verification;
      }>(`/v1/tenants/${segment(tenant!)}/accepted-domains/${segment(domain!)}`, {
        matchSubdomains: opts.subdomains === true,
      });
      print(
        result,
        () =>
          `${result.created ? 'registered' : 'updated'} ${displayDomain(result)}${pendingHint(result.verification)}`,
      );
    },
  )
    .argument('<tenantId>')
    .argument('<domain>')
    .option('--subdomains', 'every subdomain counts as registered too');
  command(
    domains,
    'verify',
    'prove control of a pending domain: by its TXT record, or (operators) by assertion',
    async (client, print, [tenant, domain], opts) => {
      const result = await client.post<{ domain: string; unicode: string; verification: Verification }>(
        `/v1/tenants/${segment(tenant!)}/accepted-domains/${segment(domain!)}/verify`,
        opts.assert === true
          ? { method: 'OPERATOR', ...(typeof opts.ticket === 'string' ? { ticket: opts.ticket } : {}) }
          : {},
      );
      print(result, () => `verified ${displayDomain(result)} (${result.verification.method})`);
    },
  )
    .argument('<tenantId>')
    .argument('<domain>')
    .option('--assert', 'operators: assert control instead of looking up the TXT record')
    .option('--ticket <ticket>', 'the ticket behind an assertion');
  command(domains, 'remove', 'unregister an accepted domain', async (client, print, [tenant, domain]) => {
    await client.delete(`/v1/tenants/${segment(tenant!)}/accepted-domains/${segment(domain!)}`);
    print({ removed: domain }, () => `removed ${domain}`);
  })
    .argument('<tenantId>')
    .argument('<domain>');
  command(domains, 'list', "the tenant's accepted domains", async (client, print, [tenant]) => {
    const list = await client.get<{
      acceptedDomains: (Omit<AcceptedDomain, 'verification'> & {
        unicode: string;
        verification: Verification;
      })[];
    }>(`/v1/tenants/${segment(tenant!)}/accepted-domains`);
    print(list, () =>
      renderTable(
        ['DOMAIN', 'SUBDOMAINS', 'ADDED', 'VERIFIED'],
        list.acceptedDomains.map((d) => [
          displayDomain(d),
          d.matchSubdomains ? 'yes' : 'no',
          time(d.addedAt),
          d.verification.status !== 'verified'
            ? d.verification.status
            : `${d.verification.method}${d.verification.recordLostAt === null ? '' : ' (TXT record lost)'}`,
        ]),
      ),
    );
  }).argument('<tenantId>');

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
  command(connectors, 'remove', 'remove a connector', async (client, print, [tenant, connectorId]) => {
    await client.delete(`/v1/tenants/${segment(tenant!)}/connectors/${segment(connectorId!)}`);
    print({ removed: connectorId }, () => `removed ${connectorId}`);
  })
    .argument('<tenantId>')
    .argument('<connectorId>');
  command(connectors, 'list', "the tenant's connectors", async (client, print, [tenant]) => {
    const list = await client.get<{ connectors: Connector[] }>(`/v1/tenants/${segment(tenant!)}/connectors`);
    print(list, () => connectorTable(list.connectors));
  }).argument('<tenantId>');
  command(
    connectors,
    'review',
    'connectors ranked by how unusual they are, with the reasons',
    async (client, print, [tenant]) => {
      const review = await client.get<{ connectors: ConnectorReview[] }>(
        `/v1/tenants/${segment(tenant!)}/connectors/review`,
      );
      print(review, () =>
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
      );
    },
  ).argument('<tenantId>');

  const policy = program.command('policy').description("a tenant's policy overrides");
  command(
    policy,
    'get',
    "the tenant's overrides, the global policy and what is in force",
    async (client, print, [tenant]) => {
      const view = await client.get<PolicyView>(`/v1/tenants/${segment(tenant!)}/policy`);
      print(view, () => renderPolicy(view));
    },
  ).argument('<tenantId>');
  command(
    policy,
    'set',
    'change overrides (others keep theirs; --reset starts from none) (operators)',
    async (client, print, [tenant], opts) => {
      const path = `/v1/tenants/${segment(tenant!)}/policy`;
      const current = opts.reset ? {} : (await client.get<PolicyView>(path)).overrides;
      const given = Object.fromEntries(
        POLICY_OPTIONS.filter(([key]) => opts[key] !== undefined).map(([key]) => [key, opts[key]]),
      );
      const view = await client.put<PolicyView>(path, { ...current, ...given });
      print(view, () => renderPolicy(view));
    },
  )
    .argument('<tenantId>')
    .addOption(new Option('--mode <mode>', 'ENFORCE or MONITOR').choices(['ENFORCE', 'MONITOR']))
    .option(
      '--min-unregistered <n>',
      'U threshold of the volume rule',
      number('--min-unregistered', { min: 1, integer: true }),
    )
    .option(
      '--min-unregistered-ratio <x>',
      'U/T threshold of the volume rule',
      number('--min-unregistered-ratio', { min: 0, max: 1 }),
    )
    .option(
      '--min-distinct-domains <n>',
      'D threshold',
      number('--min-distinct-domains', { min: 1, integer: true }),
    )
    .option(
      '--min-unregistered-with-distinct <n>',
      'U threshold of the distinct-domains rule',
      number('--min-unregistered-with-distinct', { min: 1, integer: true }),
    )
    .option(
      '--forwarded-weight <x>',
      'weight of forwarded unregistered mail in U',
      number('--forwarded-weight', { min: 0, max: 1 }),
    )
    .option('--reset', 'drop every current override first');
}

/** API fields that a flag of another name fills; the others are the flag's own camelCase (ticket, minUnregistered). */
const RENAMED_FIELDS: Readonly<Record<string, string>> = {
  relayPath: '--path',
  senderIpRanges: '--range',
  tlsCertificateDomain: '--cert',
  enabled: '--enabled / --disabled',
  matchSubdomains: '--subdomains',
};

function flagsByField(cmd: Command): Record<string, string> {
  const own = cmd.options.flatMap((option) => (option.long ? [[option.attributeName(), option.long]] : []));
  return { ...Object.fromEntries(own), ...RENAMED_FIELDS };
}

const POLICY_OPTIONS = [
  ['mode'],
  ['minUnregistered'],
  ['minUnregisteredRatio'],
  ['minDistinctDomains'],
  ['minUnregisteredWithDistinct'],
  ['forwardedWeight'],
] as const;

interface PolicyView {
  readonly overrides: PolicyOverrides;
  readonly global: { mode: string; thresholds: Record<string, number>; forwardedWeight: number };
  readonly effective: {
    mode: string;
    thresholds: Record<string, number>;
    forwardedWeight: number;
    probation: boolean;
    probationUntil: number | null;
  };
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

function renderStatus(status: TenantStatus): string {
  const { counters: c, thresholds: t, block } = status;
  const lines = [
    renderTable(
      ['TENANT', status.tenantId],
      [
        ['blocked', status.blocked ? `yes, since ${time(block!.blockedAt)} (${block!.reason})` : 'no'],
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
        ['CONNECTOR', 'MESSAGES', 'CREATED'],
        e.connectors.map((x) => [
          x.connectorId,
          String(x.messages),
          x.createdAt === null ? '-' : time(x.createdAt),
        ]),
      ),
    );
  }
  if (status.remediation) {
    lines.push('', ...status.remediation.warnings.map((warning) => `warning: ${warning}`));
    lines.push('self-service checks:', ...status.remediation.selfServiceChecks.map(renderCheck));
  }
  return lines.join('\n');
}

function renderCheck(check: SelfServiceCheck): string {
  return `  [${check.passed ? 'pass' : 'FAIL'}] ${check.check}: ${check.detail}`;
}

function renderPolicy(view: PolicyView): string {
  const overrides = view.overrides as Record<string, unknown>;
  const rows = [
    ['mode', view.global.mode, view.effective.mode],
    ...Object.keys(view.global.thresholds).map((key) => [
      key,
      String(view.global.thresholds[key]),
      String(view.effective.thresholds[key]),
    ]),
    ['forwardedWeight', String(view.global.forwardedWeight), String(view.effective.forwardedWeight)],
  ].map(([key, global, effective]) => [
    key!,
    overrides[key!] === undefined ? '-' : String(overrides[key!]),
    global!,
    effective!,
  ]);
  const table = renderTable(['SETTING', 'OVERRIDE', 'GLOBAL', 'IN FORCE'], rows);
  return view.effective.probationUntil
    ? `${table}\non probation until ${time(view.effective.probationUntil)}`
    : table;
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

function displayDomain(entry: { domain: string; unicode: string }): string {
  return entry.unicode === entry.domain ? entry.domain : `${entry.unicode} (${entry.domain})`;
}

function time(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
