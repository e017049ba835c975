// `relayguard domains add | verify | remove | list`: a tenant's accepted domains and their verification.
import type { Command } from 'commander';
import type { AcceptedDomain } from '../../../core/directory.js';
import { segment } from '../../admin-client.js';
import { renderTable } from '../../table.js';
import { type AdminCommand, removeResource, showTenantResource, time } from './admin-command.js';

export function registerDomainCommands(program: Command, command: AdminCommand): void {
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
  command(
    domains,
    'remove',
    'unregister an accepted domain',
    removeResource(([tenant, domain]) => `/v1/tenants/${tenant}/accepted-domains/${domain}`),
  )
    .argument('<tenantId>')
    .argument('<domain>');
  command(
    domains,
    'list',
    "the tenant's accepted domains",
    showTenantResource<{ acceptedDomains: ListedDomain[] }>('accepted-domains', (list) =>
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
    ),
  ).argument('<tenantId>');
}

/** A domain as the admin API lists it. */
type ListedDomain = Omit<AcceptedDomain, 'verification'> & { unicode: string; verification: Verification };

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

function displayDomain(entry: { domain: string; unicode: string }): string {
  return entry.unicode === entry.domain ? entry.domain : `${entry.unicode} (${entry.domain})`;
}
