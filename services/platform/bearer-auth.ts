// Bearer tokens (RFC 6750) from RELAYGUARD_TOKENS, shared by the admin API and the decision API: verification,
// the rate limits in front of it, and the 401/403/429 answers in the admin API's error shape. A presented token is
// looked up by its SHA-256 digest, never compared as text: how long the lookup takes depends on the digest, which
// an attacker cannot steer toward a token (SHA-256 is preimage resistant), so the answer time tells nothing about
// how much of a guess was right; and one lookup costs the same however many tokens are configured. Only a subject
// derived from the digest (`operator#1a2b3c`) ever reaches the audit topic or the logs.
import { hash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiToken, TokenRole } from './config.js';
import { RequestBudget } from './request-budget.js';

export interface TokenPrincipal {
  /** Who acts: the token's role and a digest prefix, never the token. */
  readonly subject: string;
  readonly tokenRole: TokenRole;
  /** The tenant a tenant-admin manages; null for the other roles. */
  readonly tenantId: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: TokenPrincipal | null;
  }
  interface FastifyInstance {
    /**
     * Requests without a valid token a minute per client address, for every API of the server together: one
     * guessing budget, whichever API the guesses go to (`createHttpServer`, RELAYGUARD_RATE_LIMIT_PER_MINUTE).
     */
    failedTokens: RequestBudget;
  }
}

/**
 * The one-shot `hash` (Node.js >= 20.12), not a `createHash` object per request: that object is native-backed, so
 * besides costing twice the CPU it gives the collector a handle to process (benchmark 8, bench/README.md).
 */
function digest(token: string): string {
  return hash('sha256', token, 'hex');
}

/** The subject the audit topic and logs name a token by: its role and the first 6 hex digits of its digest. */
export function tokenSubject(token: Pick<ApiToken, 'token' | 'role' | 'tenantId'>): string {
  const role = token.role === 'tenant-admin' ? `tenant-admin:${token.tenantId}` : token.role;
  return `${role}#${digest(token.token).slice(0, 6)}`;
}

export class TokenVerifier {
  /** By the hex SHA-256 digest of each configured token. */
  readonly #byDigest: Map<string, TokenPrincipal>;

  constructor(tokens: readonly ApiToken[]) {
    this.#byDigest = new Map(
      tokens.map((token) => [
        digest(token.token),
        { subject: tokenSubject(token), tokenRole: token.role, tenantId: token.tenantId },
      ]),
    );
  }

  get size(): number {
    return this.#byDigest.size;
  }

  /** The principal of an `Authorization: Bearer <token>` header, or null for a missing or unknown token. */
  verify(authorization: string | undefined): TokenPrincipal | null {
    const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    if (!match) return null;
    return this.#byDigest.get(digest(match[1]!)) ?? null;
  }
}

export interface TokenAuthOptions {
  readonly tokens: readonly ApiToken[];
  /** Requests a minute each valid token may make here, on its own budget. */
  readonly rateLimitPerMinute: number;
}

/** The error each API's error handler turns into its 429 (`rateLimitedBody`). */
export class RateLimited extends Error {
  readonly statusCode = 429;
  constructor(perMinute: number, retryAfterSeconds: number) {
    super(`at most ${perMinute} requests a minute; retry in ${retryAfterSeconds} seconds`);
  }
}

/**
 * Adds the rate limits and token verification to an encapsulated fastify instance and returns the authenticate
 * function its hooks call (the principal is verified once per request and kept on it). The first instance hook,
 * so every request is counted before any 401: a valid token on its own budget, any other request on the
 * server's one guessing budget of its client address.
 */
export async function registerTokenAuth(
  app: FastifyInstance,
  options: TokenAuthOptions,
): Promise<(request: FastifyRequest) => TokenPrincipal | null> {
  const verifier = new TokenVerifier(options.tokens);
  app.decorateRequest('principal', null);
  const authenticate = (request: FastifyRequest): TokenPrincipal | null => {
    request.principal ??= verifier.verify(request.headers.authorization);
    return request.principal;
  };
  const perToken = new RequestBudget(options.rateLimitPerMinute);
  const guesses = app.failedTokens;
  // Callback-style: no promise per request on the decision API's hot path (benchmark 8).
  app.addHook('onRequest', (request, _reply, done) => {
    const principal = authenticate(request);
    // Keyed by the digest-based subject, never the token.
    const budget = principal ? perToken : guesses;
    const retryAfter = budget.take(principal ? principal.subject : `address:${request.ip}`);
    done(retryAfter === 0 ? undefined : new RateLimited(budget.perMinute, retryAfter));
  });
  return authenticate;
}

/** 401: no token, a malformed header or an unknown token. */
export function sendUnauthenticated(reply: FastifyReply): FastifyReply {
  reply.header('www-authenticate', 'Bearer realm="relayguard"');
  return reply.code(401).type('application/json').send({
    error: 'UNAUTHENTICATED',
    message: 'send a valid token as "Authorization: Bearer <token>" (RELAYGUARD_TOKENS lists them)',
  });
}

/** 403: a valid token whose role may not do this; the message says which token would. */
export function sendForbidden(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(403).type('application/json').send({ error: 'FORBIDDEN', message });
}

/** The body of a 429 from the limiter above (the caller sets `retry-after`). */
export function rateLimitedBody(message: string) {
  return { error: 'RATE_LIMITED', message: `too many requests with this token: ${message}` } as const;
}
