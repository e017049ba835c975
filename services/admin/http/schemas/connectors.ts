// The connector routes and their schemas: a connector, its claims, and the review that ranks them.
import { RelayPathValues } from '../../../core/contracts.generated.js';
import type { RouteDeclaration } from '../routes/route-kit.js';
import { arrayOf, domain, epochMs, nullable, object, tenantObject } from './common.js';

const relayPath = { type: 'string', enum: [...RelayPathValues] } as const;

export const connectorBody = object(
  {
    relayPath: { ...relayPath, description: 'the relay path of mail arriving on this connector' },
    senderIpRanges: {
      type: 'array',
      maxItems: 256,
      items: {
        type: 'string',
        maxLength: 64,
        description: 'a CIDR range such as 192.0.2.0/24 or 2001:db8::/32',
      },
      description: 'the ranges of the servers that relay through this connector',
    },
    tlsCertificateDomain: {
      ...nullable(domain),
      description: 'identify the connector by the TLS client certificate domain',
    },
    enabled: { type: 'boolean', description: 'a disabled connector identifies no mail' },
  },
  ['relayPath', 'senderIpRanges', 'enabled'],
);

const connector = object({
  tenantId: { type: 'string' },
  connectorId: { type: 'string' },
  relayPath,
  senderIpRanges: { type: 'array', items: { type: 'string' } },
  tlsCertificateDomain: { type: ['string', 'null'] },
  enabled: { type: 'boolean' },
  createdAt: epochMs('when it was first created'),
  createdBy: { type: 'string' },
  updatedAt: epochMs('when it was last saved'),
  updatedBy: { type: 'string' },
  changedAt: epochMs('when its settings last changed'),
});

export const connectorPut = object({ connector, created: { type: 'boolean' } });
export const connectorList = tenantObject({
  connectors: { type: 'array', items: connector },
});

export const connectorReview = tenantObject({
  connectors: arrayOf(
    {
      connectorId: { type: 'string' },
      configured: {
        type: 'boolean',
        description: 'false for an id the evidence names that is not configured',
      },
      enabled: { type: ['boolean', 'null'] },
      relayPath: { type: ['string', 'null'] },
      createdAt: { type: ['integer', 'null'] },
      createdBy: { type: ['string', 'null'] },
      changedAt: { type: ['integer', 'null'] },
      blocked: {
        type: 'boolean',
        description: 'named by the connector-scoped block in force (blocked connectors rank first)',
      },
      unregisteredMessages: object({ evidence: { type: 'integer' }, window: { type: 'integer' } }),
      score: { type: 'integer', minimum: 0, maximum: 100 },
      reasons: arrayOf({ code: { type: 'string' }, detail: { type: 'string' } }),
    },
    'most unusual first',
  ),
});

const tags = ['connectors'];

export const connectorRoutes = {
  put: {
    method: 'PUT',
    url: '/tenants/:tenantId/connectors/:connectorId',
    access: 'tenant-write',
    tags,
    summary: 'Create or replace a connector (to disable one, put it with enabled: false)',
    body: connectorBody,
    response: { 200: connectorPut, 201: connectorPut },
  },
  remove: {
    method: 'DELETE',
    url: '/tenants/:tenantId/connectors/:connectorId',
    access: 'tenant-write',
    tags,
    summary: 'Remove a connector',
    response: { 204: { type: 'null' } },
  },
  list: {
    method: 'GET',
    url: '/tenants/:tenantId/connectors',
    access: 'tenant-read',
    tags,
    summary: "The tenant's connectors",
    response: { 200: connectorList },
  },
  review: {
    method: 'GET',
    url: '/tenants/:tenantId/connectors/review',
    access: 'tenant-read',
    tags: ['connectors', 'remediation'],
    summary: "The tenant's connectors, most unusual first, each with its reasons",
    response: { 200: connectorReview },
  },
} satisfies Record<string, RouteDeclaration>;
