// The one error policy of relayguard's HTTP APIs (admin and decision): every refusal has one shape,
// `{ error, message, field?, checks? }`, and each code one status, from the exhaustive table below that
// docs/admin-api.md repeats (a test holds the two together). `error` is a stable code: RelayguardError's closed
// list plus the HTTP-level codes; `message` says what to fix; `field` names the input.

import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, ErrorCodes, isRelayguardError, type RelayguardError } from '../core/errors.js';
import { rateLimitedBody } from './bearer-auth.js';

/** Codes of refusals made by the HTTP layer itself, before or around the services. */
export const HttpOnlyCodes = [
  'UNKNOWN_FIELD',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BODY_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  'UNAVAILABLE',
  'INTERNAL',
] as const;

export type HttpErrorCode = ErrorCode | (typeof HttpOnlyCodes)[number];

/**
 * The status of every code; a new code does not compile until it has one. Retryable codes are answered 503 as
 * UNAVAILABLE (the client retries the same request), so their own code never reaches a client.
 * SELF_SERVICE_DENIED is 422 when the tenant may retry after fixing the failed checks, 403 when it may not use
 * self-service this time.
 */
export const HTTP_STATUS = {
  INVALID_DOMAIN: 400,
  INVALID_ADDRESS: 400,
  MISSING_FIELD: 400,
  INVALID_FIELD: 400,
  UNKNOWN_FIELD: 400,
  // Event input, answered the same way should an API ever take an event.
  FUTURE_EVENT: 400,
  UNDECODABLE: 400,
  UNKNOWN_SCHEMA_ID: 400,
  SCHEMA_MISMATCH: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  OPERATOR_ONLY: 403,
  UNKNOWN_TENANT: 404,
  NOT_FOUND: 404,
  NOT_BLOCKED: 409,
  CLAIM_CONFLICT: 409,
  ENDPOINT_CONFLICT: 409,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  ATTESTATION_MISSING: 422,
  SELF_SERVICE_DENIED: 422,
  VERIFICATION_FAILED: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  INVALID_CONFIG: 500,
  UNAVAILABLE: 503,
  DNS_UNAVAILABLE: 503,
  STORE_UNAVAILABLE: 503,
  LOG_UNAVAILABLE: 503,
  REGISTRY_UNAVAILABLE: 503,
  WRITE_CONFLICT: 503,
  DIRECTORY_BEHIND: 503,
  PUBLISHER_FULL: 503,
  PUBLISHER_CLOSED: 503,
} as const satisfies Record<HttpErrorCode, number>;

/** Every code, the HTTP-level ones with the closed list of core/errors.ts. */
export const HTTP_ERROR_CODES: readonly HttpErrorCode[] = [
  ...(Object.keys(ErrorCodes) as ErrorCode[]),
  ...HttpOnlyCodes,
];

export interface ErrorBody {
  readonly error: HttpErrorCode;
  readonly message: string;
  readonly field?: string;
  readonly checks?: readonly unknown[];
}

export interface ErrorReply {
  readonly status: number;
  readonly body: ErrorBody;
}

/** The error shape, as /openapi.json shows it. */
export const errorBodySchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'a stable error code: branch on it, never on the message' },
    message: { type: 'string', description: 'what went wrong and what to fix' },
    field: {
      type: 'string',
      description: 'the input the error is about: a path such as body.senderIpRanges[1]',
    },
    checks: {
      type: 'array',
      description: 'SELF_SERVICE_DENIED only: every check and whether it passed',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['check', 'passed', 'detail'],
        properties: { check: { type: 'string' }, passed: { type: 'boolean' }, detail: { type: 'string' } },
      },
    },
  },
} as const;

/** What `ajv` reports with `verbose: true`: enough to name the field and say what it must be. */
interface SchemaIssue {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
  readonly parentSchema?: { readonly description?: string; readonly properties?: Record<string, unknown> };
}

// Bodies are JSON and must match exactly (no type coercion, unknown fields refused: fastify's default would strip
// them, and a misspelled field would silently ask another question); path and query parameters are text and may
// be coerced (`limit=20`). `verbose` keeps the schema in each error so messages can say what a field must be.
const compilers = AjvCompiler();
const strictBody = compilers(
  {},
  { customOptions: { coerceTypes: false, removeAdditional: false, verbose: true } },
);
const textParts = compilers(
  {},
  { customOptions: { coerceTypes: true, removeAdditional: false, verbose: true } },
);

export interface ErrorPolicyOptions {
  /** Says what a client should do about an internal error (500), when the default does not. */
  readonly internalMessage?: string;
  /** Logs what a 5xx answer hides from the client. */
  readonly onServerError: (error: unknown, request: FastifyRequest) => void;
}

/**
 * Validates this plugin's routes strictly and answers every refusal by the policy. Bodies are JSON only:
 * fastify's default text/plain parser would turn a text body into a 400 about its shape, where the policy
 * answers 415.
 */
export function useErrorPolicy(app: FastifyInstance, options: ErrorPolicyOptions): void {
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler((route) => (route.httpPart === 'body' ? strictBody(route) : textParts(route)));
  app.setErrorHandler(async (error, request, reply) => {
    const { status, body } = errorReply(error, request.routeOptions.bodyLimit, options.internalMessage);
    if (status >= 500) options.onServerError(error, request);
    if (status === 429) reply.header('retry-after', '60');
    return sendError(reply, status, body);
  });
}

export function sendError(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  return reply.code(status).type('application/json').send(body);
}

export function errorReply(
  error: unknown,
  bodyLimit: number,
  internalMessage = 'internal error; the server log has the details under this request id',
): ErrorReply {
  if (isRelayguardError(error)) return fromRelayguardError(error);
  const fastifyError = error as FastifyError & { validation?: SchemaIssue[] };
  const issues = fastifyError.validation ?? [];
  // A value that fits no branch of an anyOf fails each branch first: name the choice, not its first branch.
  const issue = issues.find((candidate) => candidate.keyword === 'anyOf') ?? issues[0];
  if (issue) return fromSchemaIssue(issue);
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return reply('BODY_TOO_LARGE', `the request body is larger than ${bodyLimit} bytes; send less`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return reply('UNSUPPORTED_MEDIA_TYPE', 'send the body as JSON with Content-Type: application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return reply('MISSING_FIELD', 'body: a JSON object is required', 'body');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return reply('INVALID_FIELD', 'body: not valid JSON; send a JSON object', 'body');
  }
  if (fastifyError.statusCode === 429) return { status: 429, body: rateLimitedBody(fastifyError.message) };
  if (fastifyError.statusCode === 400) return reply('INVALID_FIELD', fastifyError.message);
  return reply('INTERNAL', internalMessage);
}

function fromRelayguardError(error: RelayguardError): ErrorReply {
  if (error.retryable) return reply('UNAVAILABLE', `${error.message}; retry shortly`);
  if (error.code === 'SELF_SERVICE_DENIED') {
    const eligible = error.details?.eligible === true;
    return {
      status: eligible ? HTTP_STATUS.SELF_SERVICE_DENIED : HTTP_STATUS.FORBIDDEN,
      body: { error: error.code, message: error.message, checks: (error.details?.checks as unknown[]) ?? [] },
    };
  }
  return reply(error.code, error.message, error.field);
}

function fromSchemaIssue(issue: SchemaIssue): ErrorReply {
  const path = fieldPath(issue.instancePath);
  const at = (name: string) => (path === '' ? name : `${path}.${name}`);
  const field = path === '' ? 'body' : path;
  const about = issue.parentSchema?.description ? ` (${issue.parentSchema.description})` : '';
  switch (issue.keyword) {
    case 'additionalProperties': {
      const unknown = at(String(issue.params.additionalProperty));
      const allowed = Object.keys(issue.parentSchema?.properties ?? {});
      return reply(
        'UNKNOWN_FIELD',
        `${unknown}: not a known field; remove it${allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ''}`,
        unknown,
      );
    }
    case 'required': {
      const missing = at(String(issue.params.missingProperty));
      const property = issue.parentSchema?.properties?.[String(issue.params.missingProperty)] as
        | { description?: string }
        | undefined;
      const hint = property?.description ? `: ${property.description}` : '';
      return reply('MISSING_FIELD', `${missing}: required${hint}`, missing);
    }
    case 'anyOf':
      // The schema's description says what the choice is.
      return reply('MISSING_FIELD', `${field}: ${issue.parentSchema?.description ?? 'invalid'}`, field);
    case 'pattern':
      return reply(
        'INVALID_FIELD',
        `${path}: must be ${issue.parentSchema?.description ?? `like ${issue.params.pattern}`}`,
        path,
      );
    case 'enum':
      return reply(
        'INVALID_FIELD',
        `${path}: must be one of ${(issue.params.allowedValues as unknown[]).join(', ')}`,
        path,
      );
    case 'minLength':
      return reply(
        'INVALID_FIELD',
        issue.params.limit === 1
          ? `${field}: must not be empty`
          : `${field}: at least ${String(issue.params.limit)} characters`,
        field,
      );
    case 'maxLength':
      return reply('INVALID_FIELD', `${field}: at most ${String(issue.params.limit)} characters`, field);
    default:
      return reply('INVALID_FIELD', `${field}: ${issue.message ?? 'invalid'}${about}`, field);
  }
}

/** `/senderIpRanges/1` -> `senderIpRanges[1]`; `/attestations/serversSecured` -> `attestations.serversSecured`. */
function fieldPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce(
      (path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path === '' ? part : `${path}.${part}`),
      '',
    );
}

function reply(error: HttpErrorCode, message: string, field?: string): ErrorReply {
  const status = HTTP_STATUS[error];
  return { status, body: field === undefined ? { error, message } : { error, message, field } };
}
