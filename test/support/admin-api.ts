// The admin API on a pipeline driver's runtime, as `relayguard all` serves it: the platform HTTP server with the
// admin plugin. Tests use inject() on it; the CLI test listens on a free loopback port.
import { adminApi } from '../../services/admin/http/admin-api.js';
import type { ApiToken } from '../../services/platform/config.js';
import { createHttpServer, type HttpServer } from '../../services/platform/http-server.js';
import { silentLogger } from '../../services/platform/logger.js';
import type { PipelineDriver } from './pipeline-driver.js';

export const TOKENS = {
  operator: 'operator-token-0123456789abcdef',
  reader: 'reader-token-0123456789abcdef',
  acmeAdmin: 'acme-admin-token-0123456789abcdef',
  globexAdmin: 'globex-admin-token-0123456789abcdef',
} as const;

export const API_TOKENS: readonly ApiToken[] = [
  { token: TOKENS.operator, role: 'operator', tenantId: null },
  { token: TOKENS.reader, role: 'reader', tenantId: null },
  { token: TOKENS.acmeAdmin, role: 'tenant-admin', tenantId: 'acme' },
  { token: TOKENS.globexAdmin, role: 'tenant-admin', tenantId: 'globex' },
];

export async function startAdminApi(
  driver: PipelineDriver,
  options: { tokens?: readonly ApiToken[]; rateLimitPerMinute?: number } = {},
): Promise<HttpServer> {
  const { runtime } = driver;
  const http = createHttpServer({ logger: silentLogger, metrics: runtime.metrics, isReady: () => true });
  await http.register(adminApi, {
    prefix: '/v1',
    admin: runtime.admin!,
    tokens: options.tokens ?? API_TOKENS,
    metrics: runtime.metrics,
    rateLimitPerMinute: options.rateLimitPerMinute ?? 10_000,
    isReady: () => true,
  });
  await http.ready();
  return http;
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}
