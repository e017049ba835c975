// The HTTP server every service runs: /healthz, /readyz and /metrics, plus the routes a service adds (the admin
// API, the decision API). Bound to loopback unless configured otherwise. /openapi.json describes every route
// from the same JSON schemas that validate it.

import type { Server } from 'node:http';
import swagger from '@fastify/swagger';
import Fastify, { LogController } from 'fastify';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from './config.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { RequestBudget } from './request-budget.js';

export interface HttpServerOptions {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** True once the service answers from full state (the enforcer has caught up with the compacted topics). */
  readonly isReady: () => boolean;
  /** Largest request body accepted, in bytes. */
  readonly bodyLimit?: number;
  /** Connection cap and timeouts (RELAYGUARD_HTTP_*). */
  readonly limits?: HttpLimits;
  /**
   * Requests without a valid token a minute per client address, the admin and decision APIs together
   * (RELAYGUARD_RATE_LIMIT_PER_MINUTE).
   */
  readonly failedTokensPerMinute?: number;
}

/** RELAYGUARD_RATE_LIMIT_PER_MINUTE's default. */
const DEFAULT_FAILED_TOKENS_PER_MINUTE = 600;

/** One warning per interval, with how many were dropped since: a flood must not flood the logs too. */
const DROP_LOG_INTERVAL_MS = 10_000;

export type HttpServer = ReturnType<typeof createHttpServer>;

export function createHttpServer(options: HttpServerOptions) {
  const limits = options.limits ?? DEFAULT_HTTP_LIMITS;
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    // Per-request lines would dominate the logs at relay rates; metrics count requests instead.
    logController: new LogController({ disableRequestLogging: true }),
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Idle sockets (no byte at all) go at the same bound as a request that stalls.
    connectionTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node checks both timeouts only this often (30 s by default), which would stretch a short headers timeout.
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
  });
  limitConnections(app.server, limits.maxConnections, options);
  // One guessing budget for every API on this server (bearer-auth.ts): two APIs must not mean twice the guesses.
  app.decorate(
    'failedTokens',
    new RequestBudget(options.failedTokensPerMinute ?? DEFAULT_FAILED_TOKENS_PER_MINUTE),
  );
  // Registered first: the document collects every route declared after it (routes go in plugins, which load in
  // registration order).
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'relayguard',
        version: '1',
        description: 'Admin API, decision API and health endpoints of relayguard (see docs/admin-api.md).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  // A route declares the query parameters it reads in its schema, which refuses any other; a route that declares
  // none takes none, so a misspelled parameter is an error the caller sees, not a silently different request.
  // preValidation: after the routes' own authentication, so an unauthenticated caller learns nothing here.
  app.addHook('preValidation', (request, reply, done) => {
    if (request.routeOptions.url === undefined || request.routeOptions.schema?.querystring) return done();
    const [name] = Object.keys((request.query as Record<string, unknown> | undefined) ?? {});
    if (name === undefined) return done();
    reply.code(400).send({
      error: 'UNKNOWN_FIELD',
      message: `${name}: not a known query parameter; remove it (${request.routeOptions.url} takes none)`,
      field: name,
    });
  });
  // The services' own routes answer in their own shape; anything else gets the same JSON, not fastify's.
  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({
      error: 'NOT_FOUND',
      message: `no route ${request.method} ${request.url.split('?')[0]}; /openapi.json lists the routes`,
    }),
  );
  app.register(async (routes) => {
    routes.get('/healthz', async () => ({ status: 'ok' }));
    routes.get('/readyz', async (_request, reply) => {
      const ready = options.isReady();
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'catching-up' });
    });
    routes.get('/metrics', async (_request, reply) =>
      reply.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics()),
    );
    routes.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  });
  return app;
}

function limitConnections(server: Server, maxConnections: number, options: HttpServerOptions): void {
  server.maxConnections = maxConnections;
  let lastLog = -Infinity;
  let droppedSinceLog = 0;
  const dropped = (reason: 'connection-limit' | 'timeout') => {
    options.metrics.httpConnectionsDropped.inc({ reason });
    droppedSinceLog++;
    const now = performance.now();
    if (now - lastLog < DROP_LOG_INTERVAL_MS) return;
    options.logger.warn(
      { reason, dropped: droppedSinceLog, maxConnections },
      'http connections dropped: too many open (RELAYGUARD_HTTP_MAX_CONNECTIONS) or too slow (RELAYGUARD_HTTP_*_TIMEOUT_SECONDS)',
    );
    lastLog = now;
    droppedSinceLog = 0;
  };
  server.on('drop', () => dropped('connection-limit'));
  // Fastify's own clientError handler answers 408 and closes the socket; this one only counts.
  server.on('clientError', (error: NodeJS.ErrnoException) => {
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') dropped('timeout');
  });
}
