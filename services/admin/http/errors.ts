// One error shape for every refusal of the admin API: `{ error, message, field?, checks? }`. `error` is a stable
// code (RelayguardError's closed list plus the HTTP-level codes below), `message` says what to fix, `field` names
// the input. The status codes, as docs/admin-api.md lists them:
//   400 the input is invalid (schema violations, INVALID_DOMAIN, INVALID_ADDRESS, INVALID_FIELD, MISSING_FIELD,
//       UNKNOWN_FIELD, malformed JSON) — fix the named field and resend
//   401 UNAUTHENTICATED, 403 FORBIDDEN (and SELF_SERVICE_DENIED when the tenant may not use self-service now)
//   403 OPERATOR_ONLY (a claim only an operator may make), 404 UNKNOWN_TENANT, NOT_FOUND,
//   409 NOT_BLOCKED and CLAIM_CONFLICT (another connector or tenant owns the range, certificate or domain),
//   413 BODY_TOO_LARGE, 415 UNSUPPORTED_MEDIA_TYPE,
//   422 ATTESTATION_MISSING and SELF_SERVICE_DENIED (a remediation check failed: fix it and retry),
//       VERIFICATION_FAILED (the TXT record that proves control of a domain is not there yet),
//   429 RATE_LIMITED, 503 UNAVAILABLE (retryable), 500 INTERNAL.
import type { FastifyError } from 'fastify';
import { type ErrorCode, isRelayguardError, type RelayguardError } from '../../core/errors.js';
import { rateLimitedBody } from '../../platform/bearer-auth.js';

export type HttpErrorCode =
  | ErrorCode
  | 'UNKNOWN_FIELD'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

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

const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_DOMAIN: 400,
  INVALID_ADDRESS: 400,
  INVALID_FIELD: 400,
  MISSING_FIELD: 400,
  UNKNOWN_TENANT: 404,
  NOT_FOUND: 404,
  NOT_BLOCKED: 409,
  CLAIM_CONFLICT: 409,
  OPERATOR_ONLY: 403,
  ATTESTATION_MISSING: 422,
  VERIFICATION_FAILED: 422,
};

/** What `ajv` reports with `verbose: true`: enough to name the field and say what it must be. */
interface SchemaIssue {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
  readonly parentSchema?: { readonly description?: string; readonly properties?: Record<string, unknown> };
}

export function errorReply(error: unknown, bodyLimit: number): ErrorReply {
  if (isRelayguardError(error)) return fromRelayguardError(error);
  const fastifyError = error as FastifyError & { validation?: SchemaIssue[] };
  if (fastifyError.validation?.[0]) return fromSchemaIssue(fastifyError.validation[0]);
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return reply(413, 'BODY_TOO_LARGE', `the request body is larger than ${bodyLimit} bytes; send less`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return reply(
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'send the body as JSON with Content-Type: application/json',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return reply(400, 'MISSING_FIELD', 'body: a JSON object is required', 'body');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return reply(400, 'INVALID_FIELD', 'body: not valid JSON; send a JSON object', 'body');
  }
  if (fastifyError.statusCode === 429) return { status: 429, body: rateLimitedBody(fastifyError.message) };
  if (fastifyError.statusCode === 400) return reply(400, 'INVALID_FIELD', fastifyError.message);
  return reply(500, 'INTERNAL', 'internal error; the server log has the details under this request id');
}

function fromRelayguardError(error: RelayguardError): ErrorReply {
  if (error.code === 'SELF_SERVICE_DENIED') {
    const eligible = error.details?.eligible === true;
    return {
      status: eligible ? 422 : 403,
      body: { error: error.code, message: error.message, checks: (error.details?.checks as unknown[]) ?? [] },
    };
  }
  if (error.retryable) {
    return reply(503, 'UNAVAILABLE', `${error.message}; retry shortly`);
  }
  return reply(STATUS[error.code] ?? 500, error.code, error.message, error.field);
}

function fromSchemaIssue(issue: SchemaIssue): ErrorReply {
  const path = fieldPath(issue.instancePath);
  const at = (name: string) => (path === '' ? name : `${path}.${name}`);
  const about = issue.parentSchema?.description ? ` (${issue.parentSchema.description})` : '';
  switch (issue.keyword) {
    case 'additionalProperties': {
      const field = at(String(issue.params.additionalProperty));
      const allowed = Object.keys(issue.parentSchema?.properties ?? {});
      return reply(
        400,
        'UNKNOWN_FIELD',
        `${field}: not a known field; remove it${allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ''}`,
        field,
      );
    }
    case 'required': {
      const field = at(String(issue.params.missingProperty));
      const property = issue.parentSchema?.properties?.[String(issue.params.missingProperty)] as
        | { description?: string; type?: unknown }
        | undefined;
      const hint = property?.description ? `: ${property.description}` : '';
      return reply(400, 'MISSING_FIELD', `${field}: required${hint}`, field);
    }
    case 'pattern':
      return reply(
        400,
        'INVALID_FIELD',
        `${path}: must be ${issue.parentSchema?.description ?? `like ${issue.params.pattern}`}`,
        path,
      );
    case 'enum':
      return reply(
        400,
        'INVALID_FIELD',
        `${path}: must be one of ${(issue.params.allowedValues as unknown[]).join(', ')}`,
        path,
      );
    default: {
      const field = path === '' ? 'body' : path;
      return reply(400, 'INVALID_FIELD', `${field}: ${issue.message ?? 'invalid'}${about}`, field);
    }
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

function reply(status: number, error: HttpErrorCode, message: string, field?: string): ErrorReply {
  return { status, body: field === undefined ? { error, message } : { error, message, field } };
}
