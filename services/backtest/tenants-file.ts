// The operator's tenants as a file: accepted domains, connectors and per-tenant policy overrides, loaded into a
// TenantDirectory so a backtest classifies and resolves exactly as the live scorer and enforcer do. `relayguard
// simulate --record-tenants` writes the same format from a running directory.
import { z } from 'zod';
import { RelayPathValues } from '../core/contracts.generated.js';
import { TenantDirectory } from '../core/directory.js';
import { normalizeDomain } from '../core/domain-name.js';
import { isRelayguardError, RelayguardError } from '../core/errors.js';
import { parseIpRange } from '../core/ip-ranges.js';
import { overridesToEventFields } from '../core/policy.js';

/** Who a backtest's directory changes are attributed to (they never leave the process). */
const ACTOR = 'relayguard-backtest';

const time = z.union([
  z.number().int().nonnegative(),
  z.iso.datetime({ offset: true }).transform((value) => Date.parse(value)),
]);

const AcceptedDomainSchema = z.union([
  z.string().transform((domain) => ({ domain, matchSubdomains: false })),
  z.object({ domain: z.string(), matchSubdomains: z.boolean().default(false) }),
]);

const ConnectorSchema = z.object({
  connectorId: z.string().min(1),
  relayPath: z.enum(RelayPathValues),
  senderIpRanges: z.array(z.string()).default([]),
  tlsCertificateDomain: z.string().nullable().default(null),
  enabled: z.boolean().default(true),
  /** Unknown when absent (0): the evidence then shows no creation time. */
  createdAt: time.default(0),
  createdBy: z.string().default('unknown'),
});

const PolicyOverridesSchema = z
  .object({
    mode: z.enum(['ENFORCE', 'MONITOR']),
    minUnregistered: z.number().int().positive(),
    minUnregisteredRatio: z.number().min(0).max(1),
    minDistinctDomains: z.number().int().positive(),
    minUnregisteredWithDistinct: z.number().int().positive(),
    forwardedWeight: z.number().min(0).max(1),
  })
  .partial()
  .strict();

const TenantSchema = z.object({
  tenantId: z.string().trim().min(1),
  acceptedDomains: z.array(AcceptedDomainSchema).default([]),
  connectors: z.array(ConnectorSchema).default([]),
  policy: PolicyOverridesSchema.optional(),
});

export const TenantsFileSchema = z.object({ tenants: z.array(TenantSchema) });
export type TenantsFile = z.input<typeof TenantsFileSchema>;

function invalid(source: string, path: readonly PropertyKey[], message: string): RelayguardError {
  const field = path
    .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
    .join('')
    .replace(/^\./, '');
  return new RelayguardError('INVALID_FIELD', `${source}: ${field || '(file)'}: ${message}`, { field });
}

/**
 * Builds the directory a backtest classifies with. `source` names the file in errors, which name the field
 * (`tenants[3].connectors[0].senderIpRanges[1]`) and what is wrong with it.
 */
export function loadTenants(input: unknown, source: string): TenantDirectory {
  const parsed = TenantsFileSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(source, issue.path, issue.message);
  }
  const directory = new TenantDirectory();
  const check = (path: PropertyKey[], step: () => void) => {
    try {
      step();
    } catch (error) {
      if (isRelayguardError(error)) throw invalid(source, path, error.message.replace(/^[\w.[\]]+: /, ''));
      throw error;
    }
  };
  parsed.data.tenants.forEach((tenant, t) => {
    const stamp = { tenantId: tenant.tenantId, occurredAt: 0, actor: ACTOR };
    tenant.acceptedDomains.forEach((accepted, d) => {
      check(['tenants', t, 'acceptedDomains', d], () =>
        directory.apply({
          kind: 'accepted-domain',
          event: {
            ...stamp,
            eventId: `${tenant.tenantId}/${accepted.domain}`,
            domain: normalizeDomain(accepted.domain),
            change: 'ADDED',
            matchSubdomains: accepted.matchSubdomains,
            // The operator's own description of its tenants: an operator's assertion of each domain.
            verification: { method: 'OPERATOR', verifiedAt: 0, actor: ACTOR },
            verificationToken: '',
          },
        }),
      );
    });
    tenant.connectors.forEach((connector, c) => {
      const path = ['tenants', t, 'connectors', c];
      connector.senderIpRanges.forEach((cidr, r) => {
        check([...path, 'senderIpRanges', r], () => parseIpRange(cidr));
      });
      check([...path, 'tlsCertificateDomain'], () => {
        if (connector.tlsCertificateDomain !== null) normalizeDomain(connector.tlsCertificateDomain);
      });
      directory.apply({
        kind: 'connector',
        event: {
          ...stamp,
          eventId: `${tenant.tenantId}/${connector.connectorId}`,
          connectorId: connector.connectorId,
          change: 'UPSERTED',
          relayPath: connector.relayPath,
          senderIpRanges: connector.senderIpRanges,
          tlsCertificateDomain: connector.tlsCertificateDomain,
          enabled: connector.enabled,
          createdAt: connector.createdAt,
          createdBy: connector.createdBy,
          identifiersSince: {},
        },
      });
    });
    const policy = tenant.policy;
    if (policy) {
      directory.apply({
        kind: 'tenant-policy',
        event: {
          ...stamp,
          eventId: `${tenant.tenantId}/policy`,
          ...overridesToEventFields(policy),
        },
      });
    }
  });
  return directory;
}

/** The tenants file of a directory (what `relayguard simulate --record-tenants` writes). */
export function exportTenants(directory: TenantDirectory): TenantsFile {
  const tenants = [...directory.tenants()]
    .sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0))
    .map((record) => ({
      tenantId: record.tenantId,
      acceptedDomains: record.acceptedDomains.map(({ domain, matchSubdomains }) => ({
        domain,
        matchSubdomains,
      })),
      connectors: record.connectors.map((connector) => ({
        connectorId: connector.connectorId,
        relayPath: connector.relayPath,
        senderIpRanges: [...connector.senderIpRanges],
        tlsCertificateDomain: connector.tlsCertificateDomain,
        enabled: connector.enabled,
        createdAt: connector.createdAt,
        createdBy: connector.createdBy,
      })),
      ...(record.policy ? { policy: { ...record.policy } } : {}),
    }));
  return { tenants };
}
