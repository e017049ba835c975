// What every route group of the admin API registers its routes with: the admin service, the acting principal,
// and the route options (access rule, body limit, schemas with the shared error responses).
import type { FastifyRequest, FastifySchema } from 'fastify';
import { errorBodySchema } from '../../../platform/http-errors.js';
import type { AdminService } from '../../admin-service.js';
import type { AuditTrail } from '../../audit-trail.js';
import type { Actor } from '../../change-publisher.js';
import { type Access, actorOf } from '../auth.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
}

export type TenantParams = { tenantId: string };

export type RouteSchema = FastifySchema & { tags?: string[]; summary?: string };

export interface RouteOptions {
  readonly bodyLimit: number;
  readonly config: { readonly access: Access };
  readonly schema: FastifySchema;
}

export interface RouteKit {
  readonly admin: AdminService;
  readonly auditTrail: AuditTrail;
  /** The audit actor of a request that passed its access rule. */
  actor(request: FastifyRequest): Actor;
  /** The options of a route with this access rule and these schemas. */
  route(access: Access, schema: RouteSchema): RouteOptions;
}

const errors = { '4xx': errorBodySchema, '5xx': errorBodySchema } as const;

export function routeKit(admin: AdminService, auditTrail: AuditTrail, bodyLimit: number): RouteKit {
  return {
    admin,
    auditTrail,
    actor: (request) => actorOf(request.principal!),
    route: (access, schema) => ({
      bodyLimit,
      config: { access },
      schema: {
        security: [{ bearer: [] }],
        ...schema,
        response: { ...errors, ...(schema.response as object) },
      },
    }),
  };
}
