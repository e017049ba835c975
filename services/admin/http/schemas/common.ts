// The admin API's JSON schemas, one file per route group beside the pieces they share here: they validate
// requests (unknown fields are refused: additionalProperties false), shape the responses, and are what
// @fastify/swagger turns into /openapi.json — one source for all three.
import { ENDPOINT_ID_PATTERN, ENDPOINT_ID_RULE, ID_PATTERN, ID_RULE } from '../../../platform/config.js';

// The description is what a pattern error message quotes: it says what the value must be.
const id = () => ({ type: 'string', pattern: ID_PATTERN.source, description: ID_RULE }) as const;
export const epochMs = (description: string) =>
  ({ type: 'integer', description: `${description} (epoch ms)` }) as const;
export const nullable = <T extends { type: string }>(schema: T) =>
  ({ ...schema, type: [schema.type, 'null'] }) as const;
export const object = (
  properties: Record<string, unknown>,
  required: readonly string[] = Object.keys(properties),
) => ({ type: 'object', additionalProperties: false, required, properties }) as const;
/** A response about one tenant: it names the tenant first. */
export const tenantObject = (properties: Record<string, unknown>) =>
  object({ tenantId: { type: 'string' }, ...properties });
/** An array of objects; `order` says in which order they come, where that matters. */
export const arrayOf = (properties: Record<string, unknown>, order?: string) =>
  ({
    type: 'array',
    ...(order === undefined ? {} : { description: order }),
    items: object(properties),
  }) as const;

export const tenantId = id();
export const connectorId = id();
export const endpointId = {
  type: 'string',
  pattern: ENDPOINT_ID_PATTERN.source,
  description: ENDPOINT_ID_RULE,
} as const;
export const domain = {
  type: 'string',
  minLength: 1,
  maxLength: 300,
  description:
    'a domain name, in Unicode (bücher.example) or ASCII (xn--bcher-kva.example) form; stored in ASCII',
} as const;

/** What each path parameter the routes' URLs name (`:tenantId`) must be: a route's params follow from its URL. */
const pathParameters: Readonly<Record<string, object>> = { tenantId, connectorId, domain, endpointId };

/** The params schema of a route's URL, in the URL's order; undefined when it names none. */
export function paramsOf(url: string) {
  const names = Array.from(url.matchAll(/:(\w+)/g), ([, name]) => name!);
  if (names.length === 0) return undefined;
  return object(
    Object.fromEntries(
      names.map((name) => {
        const schema = pathParameters[name];
        if (schema === undefined) throw new Error(`${url}: no schema for the path parameter ${name}`);
        return [name, schema];
      }),
    ),
  );
}

export const thresholds = object({
  minUnregistered: { type: 'integer', minimum: 1, description: 'U threshold of the volume rule' },
  minUnregisteredRatio: {
    type: 'number',
    minimum: 0,
    maximum: 1,
    description: 'U/T threshold of the volume rule (0: U alone decides)',
  },
  minDistinctDomains: {
    type: 'integer',
    minimum: 1,
    description: 'D threshold of the distinct-domains rule',
  },
  minUnregisteredWithDistinct: {
    type: 'integer',
    minimum: 1,
    description: 'U threshold of the distinct-domains rule',
  },
});
export const mode = { type: 'string', enum: ['ENFORCE', 'MONITOR'] } as const;
export const forwardedWeight = {
  type: 'number',
  minimum: 0,
  maximum: 1,
  description: 'weight of FORWARDED unregistered mail in U (0 allows forwarding)',
} as const;

export const counters = object({
  unregistered: { type: 'number', description: 'U' },
  forwardedUnregistered: { type: 'integer', description: 'F' },
  total: { type: 'integer', description: 'T' },
  distinctUnregisteredDomains: { type: 'integer', description: 'D' },
});

export const attestations = {
  type: 'object',
  additionalProperties: false,
  description: 'each must be true; a missing or false one is answered 422',
  properties: {
    domainsRegistered: { type: 'boolean', description: 'every domain the tenant sends from is registered' },
    connectorsReviewed: { type: 'boolean', description: 'connectors reviewed and unknown ones removed' },
    serversSecured: { type: 'boolean', description: 'the on-premises servers were secured' },
  },
} as const;

export const ticket = {
  type: 'string',
  minLength: 1,
  maxLength: 128,
  description: 'support ticket reference',
} as const;
