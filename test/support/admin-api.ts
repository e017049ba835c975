// The admin API on a pipeline driver's runtime, as `relayguard all` serves it: the platform HTTP server with the
// admin plugin and the console's files. Tests use inject() on it; the CLI and console tests listen on a free
// loopback port.

import { consoleAssets } from '../../services/admin/console/console-assets.js';
import { adminApi } from '../../services/admin/http/admin-api.js';
import type { AuditEvent } from '../../services/core/contracts.generated.js';
import { Topics } from '../../services/core/topics.js';
import { decisionApi } from '../../services/enforcer/decision-api.js';
import type { ApiToken } from '../../services/platform/config.js';
import { createHttpServer } from '../../services/platform/http-server.js';
import { silentLogger } from '../../services/platform/logger.js';
import { messageSubmitted } from './builders.js';
import { OPERATOR, type Pipeline, type PipelineDriver } from './pipeline-driver.js';

export const TOKENS = {
  operator: 'operator-token-0123456789abcdef',
  reader: 'reader-token-0123456789abcdef',
  acmeAdmin: 'acme-admin-token-0123456789abcdef',
  globexAdmin: 'globex-admin-token-0123456789abcdef',
  relay: 'relay-token-0123456789abcdef',
} as const;

export const API_TOKENS: readonly ApiToken[] = [
  { token: TOKENS.operator, role: 'operator', tenantId: null },
  { token: TOKENS.reader, role: 'reader', tenantId: null },
  { token: TOKENS.acmeAdmin, role: 'tenant-admin', tenantId: 'acme' },
  { token: TOKENS.globexAdmin, role: 'tenant-admin', tenantId: 'globex' },
  { token: TOKENS.relay, role: 'relay', tenantId: null },
];

/** Tenant-admin tokens of two more tenants, for tests of one tenant acting against another. */
export const OTHER_TENANT_ADMINS = {
  bravo: 'bravo-admin-token-0123456789abcdef',
  delta: 'delta-admin-token-0123456789abcdef',
} as const;

export const API_TOKENS_WITH_OTHER_TENANTS: readonly ApiToken[] = [
  ...API_TOKENS,
  ...Object.entries(OTHER_TENANT_ADMINS).map(([tenantId, token]) => ({
    token,
    role: 'tenant-admin' as const,
    tenantId,
  })),
];

export async function startAdminApi(
  driver: Pipeline,
  options: {
    tokens?: readonly ApiToken[];
    rateLimitPerMinute?: number;
    /** The decision API on the same server too, as `relayguard all` serves it. */
    decisions?: boolean;
  } = {},
) {
  const { runtime } = driver;
  const rateLimitPerMinute = options.rateLimitPerMinute ?? 10_000;
  const http = createHttpServer({
    logger: silentLogger,
    metrics: runtime.metrics,
    isReady: () => true,
    failedTokensPerMinute: rateLimitPerMinute,
  });
  if (options.decisions) {
    await http.register(decisionApi, {
      enforcer: runtime.enforcer!,
      metrics: runtime.metrics,
      tokens: options.tokens ?? API_TOKENS,
      rateLimitPerMinute,
    });
  }
  await http.register(adminApi, {
    prefix: '/v1',
    admin: runtime.admin!,
    auditTrail: runtime.auditTrail!,
    webhooks: runtime.webhookEndpoints!,
    tokens: options.tokens ?? API_TOKENS,
    metrics: runtime.metrics,
    rateLimitPerMinute,
    isReady: () => true,
  });
  await http.register(consoleAssets);
  await http.ready();
  return http;
}

/** The server as tests hold it once started. */
export type AdminServer = Awaited<ReturnType<typeof startAdminApi>>;

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

export const ATTESTED = { domainsRegistered: true, connectorsReviewed: true, serversSecured: true } as const;

/** Unregistered mail on one connector, enough for the volume rule: 600 messages from 120 domains over 10 min. */
export async function floodUnregistered(
  driver: PipelineDriver,
  tenantId: string,
  connectorId: string,
  from: number,
  prefix = 'spam',
): Promise<void> {
  const events = Array.from({ length: 600 }, (_, i) =>
    messageSubmitted({
      tenantId,
      occurredAt: from + i * 1000,
      envelopeSenderDomain: `${prefix}${i % 120}.example`,
      connectorId,
    }),
  );
  driver.clock.set(from + 10 * 60_000);
  await driver.publish(events);
  await driver.settle();
}

/** The audit records of one tenant, oldest first (keyed by tenant: one partition, in order); null: those of no tenant (webhook endpoints). */
export async function auditOf(driver: PipelineDriver, tenantId: string | null): Promise<AuditEvent[]> {
  const { codec } = driver.runtime.adapters;
  const all = await Promise.all(
    driver.log.records(Topics.audit).map((record) => codec.decode(Topics.audit, record.value!)),
  );
  return all.filter((event) => event.tenantId === tenantId);
}

/** Each tenant with two on-premises connectors (<tenant>-onprem-1, -onprem-2) and a forwarding one. */
export async function putSchoolConnectors(driver: Pipeline, tenants = ['acme', 'globex']): Promise<void> {
  const admin = driver.runtime.admin!;
  for (const [i, tenant] of tenants.entries()) {
    for (const [j, name] of ['onprem-1', 'onprem-2', 'forwarding'].entries()) {
      await admin.putConnector(OPERATOR, tenant, `${tenant}-${name}`, {
        relayPath: name === 'forwarding' ? 'FORWARDED' : 'ONPREM',
        senderIpRanges: [`198.51.${i * 10 + j}.0/24`],
        enabled: true,
      });
    }
  }
}
