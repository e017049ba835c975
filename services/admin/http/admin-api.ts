// The admin API as a fastify plugin, registered on the server of services/platform/http-server.ts under /v1 when
// the admin service runs. Per request, in hook order: rate limit (per token; per client address without a valid
// one) -> authentication (401) -> authorization by the route's access rule (403) -> readiness (503) -> body
// limit (413) -> schema validation (400) -> the AdminService, whose refusals change nothing.
import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { registerTokenAuth, sendForbidden, sendUnauthenticated } from '../../platform/bearer-auth.js';
import type { ApiToken } from '../../platform/config.js';
import type { Metrics } from '../../platform/metrics.js';
import type { AdminService } from '../admin-service.js';
import type { AuditTrail } from '../audit-trail.js';
import { allows, refusal } from './auth.js';
import { errorReply } from './errors.js';
import { connectorRoutes } from './routes/connector-routes.js';
import { consoleRoutes } from './routes/console-routes.js';
import { domainRoutes } from './routes/domain-routes.js';
import { policyRoutes } from './routes/policy-routes.js';
import { remediationRoutes } from './routes/remediation-routes.js';
import { routeKit, type TenantParams } from './routes/route-kit.js';

export interface AdminApiOptions {
  readonly admin: AdminService;
  /** The recent audit records the console shows. */
  readonly auditTrail: AuditTrail;
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

// Bodies are JSON and must match exactly (no type coercion, unknown fields refused); path and query parameters
// are text and may be coerced (`limit=20`). `verbose` keeps the schema in each error so messages can say what
// a field must be.
const compilers = AjvCompiler();
const strictBody = compilers(
  {},
  { customOptions: { coerceTypes: false, removeAdditional: false, verbose: true } },
);
const textParts = compilers(
  {},
  { customOptions: { coerceTypes: true, removeAdditional: false, verbose: true } },
);

export async function adminApi(app: FastifyInstance, options: AdminApiOptions): Promise<void> {
  const { admin, metrics } = options;
  const bodyLimit = options.bodyLimit ?? ADMIN_BODY_LIMIT;

  // Bodies are JSON only: fastify's default text/plain parser would turn a text body into a 400 about its
  // shape, where docs/admin-api.md promises 415 UNSUPPORTED_MEDIA_TYPE.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler((route) => (route.httpPart === 'body' ? strictBody(route) : textParts(route)));
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

  app.setErrorHandler(async (error, request, reply) => {
    const { status, body } = errorReply(error, bodyLimit);
    if (status >= 500) request.log.error({ err: error, reqId: request.id }, 'admin request failed');
    if (status === 429) reply.header('retry-after', '60');
    return sendError(reply, status, body);
  });

  app.setNotFoundHandler(async (request, reply) =>
    sendError(reply, 404, {
      error: 'NOT_FOUND',
      message: `no route ${request.method} ${request.url.split('?')[0]}; /openapi.json lists the routes`,
    }),
  );

  // The route groups, in the order /openapi.json lists them.
  const kit = routeKit(admin, options.auditTrail, bodyLimit);
  domainRoutes(app, kit);
  connectorRoutes(app, kit);
  remediationRoutes(app, kit);
  consoleRoutes(app, kit);
  policyRoutes(app, kit);
}

function sendError(reply: FastifyReply, status: number, body: ReturnType<typeof errorReply>['body']) {
  return reply.code(status).type('application/json').send(body);
}
