// The admin API as a fastify plugin, registered on the server of services/platform/http-server.ts under /v1 when
// the admin service runs. Per request, in hook order: rate limit (per token; per client address without a valid
// one) -> authentication (401) -> authorization by the route's access rule (403) -> readiness (503) -> body
// limit (413) -> schema validation (400) -> the AdminService, whose refusals change nothing.
import type { FastifyInstance } from 'fastify';
import { registerTokenAuth, sendForbidden, sendUnauthenticated } from '../../platform/bearer-auth.js';
import type { ApiToken } from '../../platform/config.js';
import { sendError, useErrorPolicy } from '../../platform/http-errors.js';
import type { Metrics } from '../../platform/metrics.js';
import type { AdminService } from '../admin-service.js';
import type { AuditTrail } from '../audit-trail.js';
import type { WebhookEndpointsAdmin } from '../webhook-endpoints.js';
import { allows, refusal } from './auth.js';
import { connectorRoutes } from './routes/connector-routes.js';
import { consoleRoutes } from './routes/console-routes.js';
import { domainRoutes } from './routes/domain-routes.js';
import { policyRoutes } from './routes/policy-routes.js';
import { remediationRoutes } from './routes/remediation-routes.js';
import { routeKit, type TenantParams } from './routes/route-kit.js';
import { webhookRoutes } from './routes/webhook-routes.js';

export interface AdminApiOptions {
  readonly admin: AdminService;
  /** The recent audit records the console shows. */
  readonly auditTrail: AuditTrail;
  /** Webhook endpoints, their delivery log and replays; `relayguard` always serves them (tests of others may not). */
  readonly webhooks?: WebhookEndpointsAdmin;
  readonly tokens: readonly ApiToken[];
  readonly metrics: Metrics;
  readonly rateLimitPerMinute: number;
  /** False until the directory has caught up: answers from a partial directory would be wrong. */
  readonly isReady: () => boolean;
  /** Largest admin request body, in bytes. */
  readonly bodyLimit?: number;
}

/** Admin bodies are small: 256 CIDR ranges fit in 16 KiB. */
export const ADMIN_BODY_LIMIT = 32 * 1024;

export async function adminApi(app: FastifyInstance, options: AdminApiOptions): Promise<void> {
  const { admin, metrics } = options;
  const bodyLimit = options.bodyLimit ?? ADMIN_BODY_LIMIT;

  useErrorPolicy(app, {
    onServerError: (error, request) =>
      request.log.error({ err: error, reqId: request.id }, 'admin request failed'),
  });
  // Each valid token on its own budget (people and scripts); guesses on the server's one budget.
  const authenticate = await registerTokenAuth(app, {
    tokens: options.tokens,
    rateLimitPerMinute: options.rateLimitPerMinute,
  });

  app.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions.config.access;
    if (access === undefined) return; // the not-found handler
    const principal = authenticate(request);
    if (!principal) return sendUnauthenticated(reply);
    const tenantId = (request.params as Partial<TenantParams>).tenantId ?? null;
    if (!allows(principal, access, tenantId))
      return sendForbidden(reply, refusal(principal, access, tenantId));
    if (!options.isReady()) {
      reply.header('retry-after', '1');
      return sendError(reply, 503, {
        error: 'UNAVAILABLE',
        message: 'catching up with the compacted topics; retry shortly',
      });
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    metrics.adminRequests.inc({
      route: request.routeOptions.url ?? 'unmatched',
      method: request.method,
      status_code: String(reply.statusCode),
    });
  });

  app.setNotFoundHandler(async (request, reply) =>
    sendError(reply, 404, {
      error: 'NOT_FOUND',
      message: `no route ${request.method} ${request.url.split('?')[0]}; /openapi.json lists the routes`,
    }),
  );

  // The route groups, in the order /openapi.json lists them.
  const kit = routeKit(app, admin, options.auditTrail, bodyLimit);
  domainRoutes(kit);
  connectorRoutes(kit);
  remediationRoutes(kit);
  consoleRoutes(kit);
  policyRoutes(kit);
  if (options.webhooks) webhookRoutes(kit, options.webhooks);
}
