// The remediation routes and their schemas: a tenant's status with its evidence, the blocks page, and unblocking.
import type { RouteDeclaration } from '../routes/route-kit.js';
import {
  arrayOf,
  attestations,
  connectorId,
  counters,
  epochMs,
  mode,
  object,
  tenantObject,
  thresholds,
  ticket,
} from './common.js';

const scope = {
  type: 'string',
  enum: ['TENANT', 'CONNECTOR'],
  description:
    "TENANT: the tenant's unregistered mail is refused on every connector; CONNECTOR: only on connectorIds",
} as const;
const connectorIdList = (description: string) =>
  ({ type: 'array', items: { type: 'string' }, description }) as const;

const evidence = object({
  windowStart: epochMs('start of the window'),
  windowEnd: epochMs('end of the window'),
  unregistered: { type: 'number' },
  forwardedUnregistered: { type: 'integer' },
  total: { type: 'integer' },
  distinctUnregisteredDomains: { type: 'integer' },
  thresholds,
  topDomains: arrayOf({ domain: { type: 'string' }, messages: { type: 'integer' } }),
  connectors: arrayOf({
    connectorId: { type: 'string' },
    messages: { type: 'integer' },
    createdAt: { type: ['integer', 'null'] },
    total: {
      type: 'integer',
      description: 'T of the connector (0 in blocks decided before connectors were scored)',
    },
    distinctUnregisteredDomains: { type: 'integer', description: 'D of the connector' },
  }),
});

const checks = arrayOf({
  check: { type: 'string' },
  passed: { type: 'boolean' },
  detail: { type: 'string' },
});

export const tenantStatus = tenantObject({
  blocked: { type: 'boolean', description: 'an enforce-mode block is in force' },
  mode,
  block: {
    type: ['object', 'null'],
    additionalProperties: false,
    required: [
      'blockId',
      'blockedAt',
      'mode',
      'reason',
      'policyVersion',
      'probation',
      'evidence',
      'scope',
      'connectorIds',
      'scopeReason',
      'widenedFrom',
      'liftedConnectorIds',
    ],
    properties: {
      blockId: { type: 'string' },
      blockedAt: epochMs('when the block was decided (or restated, after a per-connector lift)'),
      mode,
      reason: { type: 'string', enum: ['VOLUME', 'DISTINCT_DOMAINS'] },
      policyVersion: { type: 'string' },
      probation: { type: 'boolean' },
      evidence,
      scope,
      connectorIds: connectorIdList('the blocked connectors when scope is CONNECTOR'),
      scopeReason: { type: 'string', description: 'why the policy chose this scope' },
      widenedFrom: {
        type: ['string', 'null'],
        description: 'the connector-scoped block this tenant block widened',
      },
      liftedConnectorIds: connectorIdList('connectors lifted from this block by per-connector lifts'),
    },
  },
  counters,
  thresholds,
  probationUntil: { type: ['integer', 'null'], description: 'halved thresholds until then (epoch ms)' },
  remediation: {
    type: ['object', 'null'],
    additionalProperties: false,
    required: ['warnings', 'selfServiceChecks', 'remedies'],
    properties: {
      warnings: { type: 'array', items: { type: 'string' } },
      selfServiceChecks: checks,
      remedies: arrayOf(
        {
          action: {
            type: 'string',
            enum: [
              'disable-connector',
              'review-unnamed-relays',
              'secure-servers',
              'lift-connectors',
              'lift-block',
            ],
          },
          connectorId: { type: ['string', 'null'] },
          detail: { type: 'string' },
        },
        'the steps out of the block, in order: disabling the culprit connectors first',
      ),
    },
  },
});

export const blocksQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 200, default: 50, description: 'entries per page' },
    cursor: { type: 'string', maxLength: 512, description: 'nextCursor of the previous page' },
  },
} as const;

export const blocksPage = object({
  blocks: arrayOf(
    {
      tenantId: { type: 'string' },
      blockId: { type: 'string' },
      blockedAt: { type: 'integer' },
      reason: { type: 'string' },
      scope,
      connectorIds: connectorIdList('the blocked connectors when scope is CONNECTOR'),
      probation: { type: 'boolean' },
      unregistered: { type: 'number' },
      total: { type: 'integer' },
      distinctUnregisteredDomains: { type: 'integer' },
    },
    'newest first',
  ),
  nextCursor: { type: ['string', 'null'] },
});

const connectorIds = {
  type: 'array',
  minItems: 1,
  maxItems: 64,
  items: connectorId,
  description:
    'lift only these connectors of a connector-scoped block (the rest stays blocked); leave out to lift the whole block',
} as const;

export const unblockBody = object({ ticket, attestations, connectorIds }, ['ticket']);
export const selfServiceBody = object({ ticket, attestations, connectorIds }, []);

export const unblockResult = tenantObject({
  blockId: { type: 'string' },
  unblockedAt: { type: 'integer' },
  warnings: { type: 'array', items: { type: 'string' }, description: 'what the system itself still sees' },
  probationUntil: { type: ['integer', 'null'] },
  liftedConnectorIds: connectorIdList('the connectors a per-connector lift lifted (empty: the whole block)'),
  remainingBlock: {
    type: ['object', 'null'],
    additionalProperties: false,
    required: ['blockId', 'connectorIds'],
    description: 'the block that stays on the connectors not lifted; null when none stays',
    properties: { blockId: { type: 'string' }, connectorIds: connectorIdList('still blocked') },
  },
});

const tags = ['remediation'];

export const remediationRoutes = {
  status: {
    method: 'GET',
    url: '/tenants/:tenantId/status',
    access: 'tenant-read',
    tags,
    summary: 'Blocked or not, the mode, the block with its evidence, the window counters and the thresholds',
    response: { 200: tenantStatus },
  },
  blocks: {
    method: 'GET',
    url: '/blocks',
    access: 'global-read',
    tags,
    summary: 'Blocked tenants, newest first, a page at a time',
    querystring: blocksQuery,
    response: { 200: blocksPage },
  },
  unblock: {
    method: 'POST',
    url: '/tenants/:tenantId/unblock',
    access: 'operator',
    tags,
    summary:
      'Operator unblock with attestations and a ticket, of the whole block or of some connectors of a connector-scoped one; answers what the system still sees as warnings',
    body: unblockBody,
    response: { 200: unblockResult },
  },
  selfServiceUnblock: {
    method: 'POST',
    url: '/tenants/:tenantId/self-service-unblock',
    access: 'tenant-write',
    tags,
    summary:
      "A tenant admin lifts its own tenant's first block in 30 days (or some connectors of it) once the system's checks pass",
    body: selfServiceBody,
    response: { 200: unblockResult },
  },
} satisfies Record<string, RouteDeclaration>;
