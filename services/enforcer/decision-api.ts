// POST /v1/decisions: the decision for relays that are not Postfix. A fastify plugin, encapsulated: its error
// handler and hooks apply to its own routes only, beside the admin API on the same server. Answers come from
// the enforcer's memory, like the policy server's. Per request: rate limit (per token; without a valid token,
// per client address on the server's one guessing budget) -> authentication (401) -> the token's role (403:
// relay or operator) -> validation.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { domainOfAddress } from '../core/domain-name.js';
import { registerTokenAuth, sendForbidden, sendUnauthenticated } from '../platform/bearer-auth.js';
import type { ApiToken, TokenRole } from '../platform/config.js';
import { errorBodySchema, useErrorPolicy } from '../platform/http-errors.js';
import type { Metrics } from '../platform/metrics.js';
import type { DecisionAnswer, DecisionQuery, Enforcer } from './enforcer.js';

export interface DecisionApiOptions {
  readonly enforcer: Enforcer;
  readonly metrics: Metrics;
  /** RELAYGUARD_TOKENS: relay and operator tokens may ask; none configured refuses every request. */
  readonly tokens: readonly ApiToken[];
  /**
   * Requests a minute per token (RELAYGUARD_RELAY_RATE_LIMIT_PER_MINUTE): far above a busy relay's rate, so a
   * leaked relay token cannot flood the enforcer. Guesses are limited by the server (`failedTokens`).
   */
  readonly rateLimitPerMinute: number;
}

/** Relays ask for decisions and nothing else; an operator may ask too (to check a tenant by hand). */
const DECIDING_ROLES: readonly TokenRole[] = ['relay', 'operator'];

const FIELDS = ['tenantId', 'clientAddress', 'certificateDomain', 'sender', 'headerFrom'] as const;

const DecisionRequest = {
  type: 'object',
  additionalProperties: false,
  required: ['sender'],
  // What a refusal of the anyOf below says (services/platform/http-errors.ts).
  description: 'name the tenant with tenantId, or give clientAddress or certificateDomain to resolve it',
  // The tenant is named, or resolved from the client's address or certificate the way the policy server does.
  anyOf: [{ required: ['tenantId'] }, { required: ['clientAddress'] }, { required: ['certificateDomain'] }],
  properties: {
    tenantId: { type: 'string', minLength: 1, maxLength: 256 },
    clientAddress: { type: 'string', minLength: 2, maxLength: 64, description: 'IPv4 or IPv6 address' },
    certificateDomain: {
      type: 'string',
      minLength: 1,
      maxLength: 253,
      description: "client certificate's domain",
    },
    sender: {
      type: 'string',
      maxLength: 512,
      description: 'envelope sender (MAIL FROM); "" for the null sender',
    },
    headerFrom: {
      type: 'string',
      maxLength: 512,
      description: 'header From address, used for the null sender',
    },
  },
} as const;

const nullable = (type: string) => ({ type: [type, 'null'] });

const DecisionResponse = {
  type: 'object',
  required: [
    'action',
    'smtpCode',
    'enhancedCode',
    'text',
    'reason',
    'tenantId',
    'connectorId',
    'blockId',
    'scope',
  ],
  properties: {
    action: { type: 'string', enum: ['ACCEPT', 'REJECT', 'TEMPFAIL'] },
    smtpCode: { ...nullable('integer'), description: 'the reply code to send; null to accept as usual' },
    enhancedCode: nullable('string'),
    text: nullable('string'),
    reason: { type: 'string' },
    tenantId: nullable('string'),
    connectorId: nullable('string'),
    blockId: nullable('string'),
    scope: {
      type: ['string', 'null'],
      enum: ['TENANT', 'CONNECTOR', null],
      description:
        "what the refusing block covers: the tenant, or the message's connector; null when accepted",
    },
  },
} as const;

const ErrorResponse = errorBodySchema;

type DecisionBody = Partial<Record<(typeof FIELDS)[number], string>> & { sender: string };

/**
 * The decision API's token check, in hook order: the rate limits, 401, 403 for a role that may not decide, and
 * the refusals counted. Its own function so benchmark 8 measures exactly this in front of a constant route.
 */
export async function registerDecisionAuth(
  app: FastifyInstance,
  options: Pick<DecisionApiOptions, 'metrics' | 'tokens' | 'rateLimitPerMinute'>,
): Promise<void> {
  const { metrics } = options;
  const authenticate = await registerTokenAuth(app, {
    tokens: options.tokens,
    rateLimitPerMinute: options.rateLimitPerMinute,
  });
  // Callback-style hooks rather than async ones: no promise and no microtask per request on the hot path.
  app.addHook('onResponse', (_request, reply, done) => {
    const status = reply.statusCode;
    if (status === 401 || status === 403 || status === 429) {
      metrics.decisionRequestsRefused.inc({ status_code: String(status) });
    }
    done();
  });
  app.addHook('onRequest', (request, reply, done) => {
    const principal = authenticate(request);
    // A request answered here goes no further: `done` is not called.
    if (!principal) {
      sendUnauthenticated(reply);
    } else if (!DECIDING_ROLES.includes(principal.tokenRole)) {
      sendForbidden(reply, `a ${principal.tokenRole} token may not ask for decisions; use a relay token`);
    } else {
      done();
    }
  });
}

export const decisionApi: FastifyPluginAsync<DecisionApiOptions> = async (app, options) => {
  const { enforcer, metrics } = options;
  await registerDecisionAuth(app, options);
  // The error policy of every HTTP API (platform/http-errors.ts): strict bodies, JSON only, one status a code.
  useErrorPolicy(app, {
    internalMessage: 'the decision failed; the relay should fail open',
    onServerError: (error, request) => request.log.error({ err: error }, 'decision failed'),
  });

  app.post<{ Body: DecisionBody }>(
    '/v1/decisions',
    {
      schema: {
        summary: 'The decision for one message: accept, or reject a blocked tenant unregistered sender',
        tags: ['decisions'],
        body: DecisionRequest,
        security: [{ bearer: [] }],
        response: {
          200: DecisionResponse,
          400: ErrorResponse,
          401: ErrorResponse,
          403: ErrorResponse,
          413: ErrorResponse,
          415: ErrorResponse,
          429: ErrorResponse,
          500: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request) => {
      const timer = metrics.policyRequestDuration.startTimer({ stage: 'http' });
      const body = request.body;
      // A relay asking about an address that is not one is a bug in the relay: say so, rather than guess.
      domainOfAddress(body.sender, 'sender');
      if (body.headerFrom !== undefined) domainOfAddress(body.headerFrom, 'headerFrom');
      const query: DecisionQuery = {
        tenantId: body.tenantId,
        clientAddress: body.clientAddress,
        certificateDomain: body.certificateDomain,
        sender: body.sender,
        headerFrom: body.headerFrom,
      };
      const answer = toResponse(enforcer.decide(query, 'http'));
      timer();
      return answer;
    },
  );
};

function toResponse(answer: DecisionAnswer) {
  const reply =
    answer.action === 'ACCEPT'
      ? { smtpCode: null, enhancedCode: null, text: null }
      : { smtpCode: answer.code, enhancedCode: answer.enhancedCode, text: answer.text };
  return {
    action: answer.action,
    ...reply,
    reason: answer.action === 'REJECT' ? 'blocked-unregistered-sender' : answer.reason,
    tenantId: 'tenantId' in answer ? answer.tenantId : null,
    connectorId: 'connectorId' in answer ? answer.connectorId : null,
    blockId: answer.action === 'REJECT' ? answer.blockId : null,
    scope: answer.action === 'REJECT' ? answer.scope : null,
  };
}
