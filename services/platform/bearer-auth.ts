// Bearer tokens (RFC 6750) from RELAYGUARD_TOKENS, shared by the admin API and the decision API: verification,
// the rate limit in front of it, and the 401/403/429 answers in the admin API's error shape. A presented token is
// looked up by its SHA-256 digest, never compared as text: how long the lookup takes depends on the digest, which
// an attacker cannot steer toward a token (SHA-256 is preimage resistant), so the answer time tells nothing about
// how much of a guess was right; and one lookup costs the same however many tokens are configured. Only a subject
// derived from the digest (`operator#1a2b3c`) ever reaches the audit topic or the logs.
import { hash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiToken, TokenRole } from './config.js';

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
  readonly rateLimitPerMinute: number;
  /**
   * Whether a valid token is limited too (on its own bucket). Guesses are always limited per client address, so
   * they cannot spread over fresh buckets; a relay's valid token asking for every message is not.
   */
  readonly limitValidTokens: boolean;
}

/**
 * Adds the rate limit and token verification to an encapsulated fastify instance and returns the authenticate
 * function its hooks call (the principal is verified once per request and kept on it).
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
  // Not `global`: the plugin would add its check as a route-level hook, and Fastify runs route-level hooks after
  // the instance-level authentication hook, so a request with a wrong token would be answered 401 before it was
  // counted, and guessing would never be limited. As the first instance hook it counts every request.
  await app.register(rateLimit, {
    global: false,
    max: options.rateLimitPerMinute,
    timeWindow: 60_000,
    // The key is the digest-based subject, never the token.
    keyGenerator: (request) => authenticate(request)?.subject ?? `address:${request.ip}`,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      message: `at most ${context.max} requests a minute; retry in ${context.after}`,
    }),
  });
  const limit = app.rateLimit();
  if (options.limitValidTokens) {
    app.addHook('onRequest', limit);
  } else {
    // A valid token skips the limiter before entering it rather than through its allowList, which the limiter
    // consults only after four promises and a route-options object per request (1.5 KB of the 3.3 KB the check
    // allocated per request, benchmark 8). Every request without a valid token is still counted before any 401.
    app.addHook('onRequest', (request, reply, done) => {
      if (authenticate(request) !== null) return done();
      limit.call(app, request, reply).then(() => done(), done);
    });
  }
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
