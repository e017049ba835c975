// What every route group of the admin API registers its routes with: the admin service, the acting principal,
// and `serve`, which registers a declared route with its options (access rule, body limit, schemas with the
// shared error responses).
import type {
  FastifyInstance,
  FastifyRequest,
  FastifySchema,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
  RouteGenericInterface,
  RouteHandlerMethod,
} from 'fastify';
import { errorBodySchema } from '../../../platform/http-errors.js';
import type { AdminService } from '../../admin-service.js';
import type { AuditTrail } from '../../audit-trail.js';
import type { Actor } from '../../change-publisher.js';
import { type Access, actorOf } from '../auth.js';
import { paramsOf } from '../schemas/common.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
}

export type TenantParams = { tenantId: string };

export type RouteSchema = FastifySchema & { tags?: string[]; summary?: string };

/**
 * A route as the admin API declares it beside its schemas (schemas/*.ts): method, path, access rule, what
 * /openapi.json says of it. The route groups (routes/*.ts) give each declaration its handler.
 */
export interface RouteDeclaration extends RouteSchema {
  readonly method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly access: Access;
}

/** A handler of a declared route; `G` types its params, body and query string as the schemas validate them. */
export type Handler<G extends RouteGenericInterface> = RouteHandlerMethod<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  G
>;

export interface RouteKit {
  readonly admin: AdminService;
  readonly auditTrail: AuditTrail;
  /** The audit actor of a request that passed its access rule. */
  actor(request: FastifyRequest): Actor;
  /** Registers a declared route: its access rule, the body limit, its schemas with the shared error responses. */
  serve<G extends RouteGenericInterface = RouteGenericInterface>(
    route: RouteDeclaration,
    handler: Handler<G>,
  ): void;
  /** Registers a declared DELETE: `remove` removes what the params name, and the answer is 204, no body. */
  serveRemoval<Params>(
    route: RouteDeclaration,
    remove: (actor: Actor, params: Params) => Promise<void>,
  ): void;
}

const errors = { '4xx': errorBodySchema, '5xx': errorBodySchema } as const;

export function routeKit(
  app: FastifyInstance,
  admin: AdminService,
  auditTrail: AuditTrail,
  bodyLimit: number,
): RouteKit {
  const actor = (request: FastifyRequest) => actorOf(request.principal!);
  const serve: RouteKit['serve'] = (route, handler) => {
    const { method, url, access, ...schema } = route;
    const params = paramsOf(url);
    app.route({
      method,
      url,
      bodyLimit,
      config: { access },
      schema: {
        security: [{ bearer: [] }],
        ...(params && { params }),
        ...schema,
        response: { ...errors, ...(schema.response as object) },
      },
      handler: handler as Handler<RouteGenericInterface>,
    });
  };
  return {
    admin,
    auditTrail,
    actor,
    serve,
    serveRemoval: (route, remove) =>
      serve(route, async (request, reply) => {
        // The route's params schema has validated what `remove` takes.
        await remove(actor(request), request.params as Parameters<typeof remove>[1]);
        return reply.code(204).send();
      }),
  };
}
