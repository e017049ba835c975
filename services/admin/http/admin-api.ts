// The admin API as a fastify plugin, registered on the server of services/platform/http-server.ts under /v1 when
// the admin service runs. Per request, in hook order: rate limit (per token; per client address without a valid
// one) -> authentication (401) -> authorization by the route's access rule (403) -> readiness (503) -> body
// limit (413) -> schema validation (400) -> the AdminService, whose refusals change nothing.
import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { Attestations, Thresholds, VerificationMethod } from '../../core/contracts.generated.js';
import type { PolicyOverrides } from '../../core/policy.js';
import { registerTokenAuth, sendForbidden, sendUnauthenticated } from '../../platform/bearer-auth.js';
import type { ApiToken } from '../../platform/config.js';
import type { Metrics } from '../../platform/metrics.js';
import type { AdminService, ConnectorInput } from '../admin-service.js';
import type { AuditTrail } from '../audit-trail.js';
import { previewThresholds } from '../console/policy-preview.js';
import { type Access, actorOf, allows, refusal } from './auth.js';
import { errorReply } from './errors.js';
import * as S from './schemas.js';

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

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
}

type TenantParams = { tenantId: string };

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

const errors = { '4xx': S.errorBody, '5xx': S.errorBody } as const;

export async function adminApi(app: FastifyInstance, options: AdminApiOptions): Promise<void> {
  const { admin, metrics } = options;
  const bodyLimit = options.bodyLimit ?? ADMIN_BODY_LIMIT;

  // Bodies are JSON only: fastify's default text/plain parser would turn a text body into a 400 about its
  // shape, where docs/admin-api.md promises 415 UNSUPPORTED_MEDIA_TYPE.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler((route) => (route.httpPart === 'body' ? strictBody(route) : textParts(route)));
  // A valid token is limited on its own bucket: people and scripts, not a relay's every message.
  const authenticate = await registerTokenAuth(app, {
    tokens: options.tokens,
    rateLimitPerMinute: options.rateLimitPerMinute,
    limitValidTokens: true,
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

  const actor = (request: FastifyRequest) => actorOf(request.principal!);
  const route = (access: Access, schema: FastifySchema & { tags?: string[]; summary?: string }) => ({
    bodyLimit,
    config: { access },
    schema: {
      security: [{ bearer: [] }],
      ...schema,
      response: { ...errors, ...(schema.response as object) },
    },
  });

  // Accepted domains
  app.put<{ Params: TenantParams & { domain: string }; Body: { matchSubdomains: boolean } }>(
    '/tenants/:tenantId/accepted-domains/:domain',
    route('tenant-write', {
      tags: ['accepted domains'],
      summary:
        "Register (or update) an accepted domain; Unicode or ASCII, stored in ASCII; pending until verified (an operator's put is an assertion)",
      params: S.domainParams,
      body: S.acceptedDomainBody,
      response: { 200: S.acceptedDomainPut, 201: S.acceptedDomainPut },
    }),
    async (request, reply) => {
      const { tenantId, domain } = request.params;
      const result = await admin.putAcceptedDomain(
        actor(request),
        tenantId,
        domain,
        request.body.matchSubdomains,
      );
      return reply.code(result.created ? 201 : 200).send({ tenantId, ...result });
    },
  );
  app.post<{
    Params: TenantParams & { domain: string };
    Body: { method?: VerificationMethod; ticket?: string } | undefined;
  }>(
    '/tenants/:tenantId/accepted-domains/:domain/verify',
    route('tenant-write', {
      tags: ['accepted domains'],
      summary:
        'Verify a pending domain: by its TXT record relayguard-verification=<token>, or by an operator assertion',
      params: S.domainParams,
      body: S.verifyDomainBody,
      response: { 200: S.acceptedDomainVerified },
    }),
    async (request) => {
      const { tenantId, domain } = request.params;
      const result = await admin.verifyAcceptedDomain(actor(request), tenantId, domain, request.body ?? {});
      return { tenantId, ...result };
    },
  );
  app.delete<{ Params: TenantParams & { domain: string } }>(
    '/tenants/:tenantId/accepted-domains/:domain',
    route('tenant-write', {
      tags: ['accepted domains'],
      summary: 'Unregister an accepted domain',
      params: S.domainParams,
      response: { 204: { type: 'null' } },
    }),
    async (request, reply) => {
      await admin.removeAcceptedDomain(actor(request), request.params.tenantId, request.params.domain);
      return reply.code(204).send();
    },
  );
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/accepted-domains',
    route('tenant-read', {
      tags: ['accepted domains'],
      summary: "The tenant's accepted domains",
      params: S.tenantParams,
      response: { 200: S.acceptedDomainList },
    }),
    async (request) => ({
      tenantId: request.params.tenantId,
      acceptedDomains: admin.listAcceptedDomains(request.params.tenantId),
    }),
  );

  // Connectors
  app.put<{ Params: TenantParams & { connectorId: string }; Body: ConnectorInput }>(
    '/tenants/:tenantId/connectors/:connectorId',
    route('tenant-write', {
      tags: ['connectors'],
      summary: 'Create or replace a connector (to disable one, put it with enabled: false)',
      params: S.connectorParams,
      body: S.connectorBody,
      response: { 200: S.connectorPut, 201: S.connectorPut },
    }),
    async (request, reply) => {
      const { tenantId, connectorId } = request.params;
      const result = await admin.putConnector(actor(request), tenantId, connectorId, request.body);
      return reply.code(result.created ? 201 : 200).send(result);
    },
  );
  app.delete<{ Params: TenantParams & { connectorId: string } }>(
    '/tenants/:tenantId/connectors/:connectorId',
    route('tenant-write', {
      tags: ['connectors'],
      summary: 'Remove a connector',
      params: S.connectorParams,
      response: { 204: { type: 'null' } },
    }),
    async (request, reply) => {
      await admin.removeConnector(actor(request), request.params.tenantId, request.params.connectorId);
      return reply.code(204).send();
    },
  );
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/connectors',
    route('tenant-read', {
      tags: ['connectors'],
      summary: "The tenant's connectors",
      params: S.tenantParams,
      response: { 200: S.connectorList },
    }),
    async (request) => ({
      tenantId: request.params.tenantId,
      connectors: admin.listConnectors(request.params.tenantId),
    }),
  );
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/connectors/review',
    route('tenant-read', {
      tags: ['connectors', 'remediation'],
      summary: "The tenant's connectors, most unusual first, each with its reasons",
      params: S.tenantParams,
      response: { 200: S.connectorReview },
    }),
    async (request) => ({
      tenantId: request.params.tenantId,
      connectors: await admin.reviewConnectors(request.params.tenantId),
    }),
  );

  // Status, blocks and the remediation workflow
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/status',
    route('tenant-read', {
      tags: ['remediation'],
      summary:
        'Blocked or not, the mode, the block with its evidence, the window counters and the thresholds',
      params: S.tenantParams,
      response: { 200: S.tenantStatus },
    }),
    async (request) => admin.status(request.params.tenantId),
  );
  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/blocks',
    route('global-read', {
      tags: ['remediation'],
      summary: 'Blocked tenants, newest first, a page at a time',
      querystring: S.blocksQuery,
      response: { 200: S.blocksPage },
    }),
    async (request) => admin.blocks(request.query),
  );
  type UnblockBody = { ticket?: string; attestations?: Partial<Attestations> };
  app.post<{ Params: TenantParams; Body: UnblockBody }>(
    '/tenants/:tenantId/unblock',
    route('operator', {
      tags: ['remediation'],
      summary:
        'Operator unblock with attestations and a ticket; answers what the system still sees as warnings',
      params: S.tenantParams,
      body: S.unblockBody,
      response: { 200: S.unblockResult },
    }),
    async (request) => {
      const { tenantId } = request.params;
      const { ticket = null, attestations } = request.body;
      return { tenantId, ...(await admin.unblock(actor(request), tenantId, { ticket, attestations })) };
    },
  );
  app.post<{ Params: TenantParams; Body: UnblockBody }>(
    '/tenants/:tenantId/self-service-unblock',
    route('tenant-write', {
      tags: ['remediation'],
      summary: "A tenant admin lifts its own tenant's first block in 30 days once the system's checks pass",
      params: S.tenantParams,
      body: S.selfServiceBody,
      response: { 200: S.unblockResult },
    }),
    async (request) => {
      const { tenantId } = request.params;
      const { ticket = null, attestations } = request.body;
      return {
        tenantId,
        ...(await admin.selfServiceUnblock(actor(request), tenantId, { ticket, attestations })),
      };
    },
  );

  // What the console reads besides the routes above: who the token is, the live window, the earlier blocks.
  app.get(
    '/session',
    route('session', {
      tags: ['console'],
      summary: "The calling token's role and tenant (never the token): what the console may show and offer",
      response: { 200: S.session },
    }),
    async (request) => {
      const { subject, tokenRole, tenantId } = request.principal!;
      return { subject, role: tokenRole, tenantId };
    },
  );
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/window',
    route('tenant-read', {
      tags: ['console'],
      summary: "The tenant's live window minute by minute, with the domains and connectors that carried U",
      params: S.tenantParams,
      response: { 200: S.tenantWindow },
    }),
    async (request) => admin.window(request.params.tenantId),
  );
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/history',
    route('tenant-read', {
      tags: ['console'],
      summary: "When the tenant's blocks of the last 30 days were decided, newest first, and the last lift",
      params: S.tenantParams,
      response: { 200: S.tenantHistory },
    }),
    async (request) => admin.history(request.params.tenantId),
  );
  app.get<{ Params: TenantParams; Querystring: Partial<Thresholds> }>(
    '/tenants/:tenantId/policy/preview',
    route('tenant-read', {
      tags: ['console', 'policy'],
      summary: "What other thresholds would decide for the tenant's live window, beside those in force",
      params: S.tenantParams,
      querystring: S.thresholdsQuery,
      response: { 200: S.policyPreview },
    }),
    async (request) => {
      const { tenantId } = request.params;
      const { counters } = await admin.window(tenantId);
      const { thresholds } = admin.getPolicy(tenantId).effective;
      return { tenantId, ...previewThresholds(counters, thresholds, request.query) };
    },
  );
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/audit',
    route('tenant-read', {
      tags: ['console'],
      summary: "The tenant's most recent audit records, newest first (the audit topic holds them all)",
      params: S.tenantParams,
      response: { 200: S.auditTrail },
    }),
    async (request) => ({
      tenantId: request.params.tenantId,
      ...options.auditTrail.recent(request.params.tenantId),
    }),
  );

  // Policy
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/policy',
    route('tenant-read', {
      tags: ['policy'],
      summary: "The tenant's overrides, the global policy and what is in force now",
      params: S.tenantParams,
      response: { 200: S.policyView },
    }),
    async (request) => admin.getPolicy(request.params.tenantId),
  );
  app.put<{ Params: TenantParams; Body: PolicyOverrides }>(
    '/tenants/:tenantId/policy',
    route('operator', {
      tags: ['policy'],
      summary: "Replace the tenant's overrides (absent fields take the global value; {} clears them)",
      params: S.tenantParams,
      body: S.policyBody,
      response: { 200: S.policyView },
    }),
    async (request) => {
      await admin.setPolicy(actor(request), request.params.tenantId, request.body);
      return admin.getPolicy(request.params.tenantId);
    },
  );
}

function sendError(reply: FastifyReply, status: number, body: ReturnType<typeof errorReply>['body']) {
  return reply.code(status).type('application/json').send(body);
}
