// Cross-tenant claims through the admin API: generated connector and accepted-domain changes of three tenants,
// by their own administrators and by operators, on overlapping ranges (nested, covering, IPv4-mapped, host bits
// set), certificate names (case, trailing dot, IDN) and domains (parents, subdomains, public suffixes). The
// oracle, after every change, accepted or not: no address, certificate name or sender domain belongs to two
// tenants, and no change moves an address, certificate or domain that resolved to one tenant to another.
import fc from 'fast-check';
import { wholeDirectory } from '../../services/app/runtime.js';
import { isRegistered } from '../../services/core/classify.js';
import type { TenantDirectory } from '../../services/core/directory.js';
import { normalizeDomain } from '../../services/core/domain-name.js';
import { type IpRange, parseIpRange, rangesOverlap } from '../../services/core/ip-ranges.js';
import { bearer, startAdminApi, TOKENS } from '../support/admin-api.js';
import { startPipeline } from '../support/pipeline-driver.js';
import { type FuzzTarget, violation } from './harness.js';

const TENANTS = ['acme', 'globex', 'bravo'] as const;
type Tenant = (typeof TENANTS)[number];

/** Who may change a tenant's claims: an operator always, its own administrator (bravo has none). */
const principals = (tenant: Tenant) =>
  fc.constantFrom(...[TOKENS.operator, ...(tenant === 'acme' ? [TOKENS.acmeAdmin] : []), TOKENS.globexAdmin]);

const RANGES = [
  '203.0.113.0/24',
  '203.0.113.0/25',
  '203.0.113.128/25',
  '203.0.113.7/32',
  '203.0.113.7',
  '203.0.113.1/24',
  '203.0.0.0/16',
  '203.0.0.0/8',
  '198.51.100.0/24',
  '198.51.100.64/26',
  '::ffff:203.0.113.7/128',
  '::ffff:198.51.100.0/120',
  '2001:db8::/32',
  '2001:db8:1::/48',
  '2001:db8:1::5/128',
  '0.0.0.0/0',
  '::/0',
];
const PROBE_ADDRESSES = [
  '203.0.113.7',
  '203.0.113.200',
  '203.0.113.1',
  '203.0.5.5',
  '198.51.100.70',
  '198.51.100.1',
  '2001:db8:1::5',
  '2001:db8:2::1',
  '192.0.2.9',
].map((address) => ({ address, range: parseIpRange(address) }));
const CERTIFICATES = [
  'mx.delta.example',
  'MX.Delta.Example.',
  'mx.bücher.example',
  'mx.xn--bcher-kva.example',
];
const PROBE_CERTIFICATES = ['mx.delta.example', 'mx.xn--bcher-kva.example'];
const DOMAINS = ['delta.example', 'mail.delta.example', 'bücher.example', 'xn--bcher-kva.example', 'co.uk'];
const PROBE_DOMAINS = [
  'delta.example',
  'mail.delta.example',
  'x.mail.delta.example',
  'xn--bcher-kva.example',
];

interface Change {
  readonly method: 'PUT' | 'DELETE' | 'POST';
  readonly url: string;
  readonly token: string;
  readonly payload?: object;
}

const change: fc.Arbitrary<Change> = fc.constantFrom(...TENANTS).chain((tenant) => {
  const connectorUrl = fc.constantFrom('c1', 'c2').map((id) => `/v1/tenants/${tenant}/connectors/${id}`);
  const domainUrl = (action = '') =>
    fc
      .constantFrom(...DOMAINS)
      .map((d) => `/v1/tenants/${tenant}/accepted-domains/${encodeURIComponent(d)}${action}`);
  return fc.oneof(
    fc.record({
      method: fc.constant('PUT' as const),
      url: connectorUrl,
      token: principals(tenant),
      payload: fc.record({
        relayPath: fc.constantFrom('ONPREM', 'APPLICATION'),
        senderIpRanges: fc.uniqueArray(fc.constantFrom(...RANGES), { maxLength: 3 }),
        tlsCertificateDomain: fc.oneof(fc.constant(null), fc.constantFrom(...CERTIFICATES)),
        enabled: fc.boolean(),
      }),
    }),
    fc.record({ method: fc.constant('DELETE' as const), url: connectorUrl, token: principals(tenant) }),
    fc.record({
      method: fc.constant('PUT' as const),
      url: domainUrl(),
      token: principals(tenant),
      payload: fc.record({ matchSubdomains: fc.boolean() }),
    }),
    fc.record({
      method: fc.constant('POST' as const),
      url: domainUrl('/verify'),
      token: fc.constant(TOKENS.operator),
      payload: fc.constant({ method: 'OPERATOR', ticket: 'FUZZ-1' }),
    }),
    fc.record({ method: fc.constant('DELETE' as const), url: domainUrl(), token: principals(tenant) }),
  );
});

/** Who resolves each probe, and every tenant with a claim on it (enabled or not). */
interface Ownership {
  readonly resolved: Map<string, string | undefined>;
  readonly claimants: Map<string, Set<string>>;
}

function ownership(directory: TenantDirectory): Ownership {
  const resolved = new Map<string, string | undefined>();
  const claimants = new Map<string, Set<string>>();
  const claim = (probe: string, tenantId: string) => {
    const set = claimants.get(probe) ?? new Set<string>();
    set.add(tenantId);
    claimants.set(probe, set);
  };
  const ranges = new Map<string, IpRange>();
  for (const record of directory.tenants()) {
    for (const connector of record.connectors) {
      for (const cidr of connector.senderIpRanges) {
        const range = ranges.get(cidr) ?? parseIpRange(cidr);
        ranges.set(cidr, range);
        for (const probe of PROBE_ADDRESSES)
          if (rangesOverlap(range, probe.range)) claim(`address ${probe.address}`, record.tenantId);
      }
      const certificate = connector.tlsCertificateDomain;
      if (certificate) claim(`certificate ${normalizeDomain(certificate, 'certificate')}`, record.tenantId);
    }
    for (const domain of PROBE_DOMAINS)
      if (isRegistered(directory, record.tenantId, domain)) claim(`domain ${domain}`, record.tenantId);
  }
  for (const { address } of PROBE_ADDRESSES)
    resolved.set(`address ${address}`, directory.resolveByAddress(address)?.tenantId);
  for (const certificate of PROBE_CERTIFICATES)
    resolved.set(`certificate ${certificate}`, directory.resolveByCertificate(certificate)?.tenantId);
  return { resolved, claimants };
}

export async function claimsTarget(): Promise<FuzzTarget<Change>> {
  const driver = await startPipeline();
  const app = await startAdminApi(driver, { rateLimitPerMinute: 1_000_000 });
  const directory = wholeDirectory(driver.runtime);
  return {
    name: 'admin API claims across tenants (connectors, certificates, domains)',
    cases: 1_500,
    maxHeapGrowthBytes: 64 * 1024 * 1024,
    arbitrary: change,
    async check({ method, url, token, payload }) {
      const before = ownership(directory);
      const response = await app.inject({
        method,
        url,
        headers: bearer(token),
        ...(payload === undefined ? {} : { payload }),
      });
      violation(response.statusCode < 500, `${method} ${url} -> ${response.statusCode}: ${response.body}`);
      const after = ownership(directory);
      const what = `${method} ${url} ${JSON.stringify(payload ?? {})} -> ${response.statusCode}`;
      for (const [probe, tenants] of after.claimants)
        violation(tenants.size <= 1, `${what}: ${probe} belongs to ${[...tenants].join(' and ')}`);
      for (const [probe, owner] of before.resolved) {
        const now = after.resolved.get(probe);
        violation(
          owner === undefined || now === undefined || now === owner,
          `${what}: ${probe} moved from ${owner} to ${now}`,
        );
      }
      for (const [probe, owners] of before.claimants) {
        const [owner] = owners;
        const [now] = after.claimants.get(probe) ?? [];
        violation(now === undefined || now === owner, `${what}: ${probe} moved from ${owner} to ${now}`);
      }
      return String(response.statusCode);
    },
    async close() {
      await app.close();
      await driver.stop();
    },
  };
}
