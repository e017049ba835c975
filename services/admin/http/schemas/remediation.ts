// The remediation routes' schemas: a tenant's status with its evidence, the blocks page, and unblocking.
import { attestations, counters, epochMs, mode, object, thresholds, ticket } from './common.js';

const evidence = object({
  windowStart: epochMs('start of the window'),
  windowEnd: epochMs('end of the window'),
  unregistered: { type: 'number' },
  forwardedUnregistered: { type: 'integer' },
  total: { type: 'integer' },
  distinctUnregisteredDomains: { type: 'integer' },
  thresholds,
  topDomains: { type: 'array', items: object({ domain: { type: 'string' }, messages: { type: 'integer' } }) },
  connectors: {
    type: 'array',
    items: object({
      connectorId: { type: 'string' },
      messages: { type: 'integer' },
      createdAt: { type: ['integer', 'null'] },
    }),
  },
});

const checks = {
  type: 'array',
  items: object({ check: { type: 'string' }, passed: { type: 'boolean' }, detail: { type: 'string' } }),
} as const;

export const tenantStatus = object({
  tenantId: { type: 'string' },
  blocked: { type: 'boolean', description: 'an enforce-mode block is in force' },
  mode,
  block: {
    type: ['object', 'null'],
    additionalProperties: false,
    required: ['blockId', 'blockedAt', 'mode', 'reason', 'policyVersion', 'probation', 'evidence'],
    properties: {
      blockId: { type: 'string' },
      blockedAt: epochMs('when the block was decided'),
      mode,
      reason: { type: 'string', enum: ['VOLUME', 'DISTINCT_DOMAINS'] },
      policyVersion: { type: 'string' },
      probation: { type: 'boolean' },
      evidence,
    },
  },
  counters,
  thresholds,
  probationUntil: { type: ['integer', 'null'], description: 'halved thresholds until then (epoch ms)' },
  remediation: {
    type: ['object', 'null'],
    additionalProperties: false,
    required: ['warnings', 'selfServiceChecks'],
    properties: { warnings: { type: 'array', items: { type: 'string' } }, selfServiceChecks: checks },
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
  blocks: {
    type: 'array',
    description: 'newest first',
    items: object({
      tenantId: { type: 'string' },
      blockId: { type: 'string' },
      blockedAt: { type: 'integer' },
      reason: { type: 'string' },
      probation: { type: 'boolean' },
      unregistered: { type: 'number' },
      total: { type: 'integer' },
      distinctUnregisteredDomains: { type: 'integer' },
    }),
  },
  nextCursor: { type: ['string', 'null'] },
});

export const unblockBody = object({ ticket, attestations }, ['ticket']);
export const selfServiceBody = object({ ticket, attestations }, []);

export const unblockResult = object({
  tenantId: { type: 'string' },
  blockId: { type: 'string' },
  unblockedAt: { type: 'integer' },
  warnings: { type: 'array', items: { type: 'string' }, description: 'what the system itself still sees' },
  probationUntil: { type: ['integer', 'null'] },
});
