// The admin API's JSON schemas: they validate requests (unknown fields are refused: additionalProperties false),
// shape the responses, and are what @fastify/swagger turns into /openapi.json — one source for all three.
import { RelayPathValues, UnblockSourceValues } from '../../core/contracts.generated.js';
import { ID_PATTERN, ID_RULE } from '../../platform/config.js';

// The description is what a pattern error message quotes: it says what the value must be.
const id = () => ({ type: 'string', pattern: ID_PATTERN.source, description: ID_RULE }) as const;
const epochMs = (description: string) =>
  ({ type: 'integer', description: `${description} (epoch ms)` }) as const;
const nullable = <T extends { type: string }>(schema: T) =>
  ({ ...schema, type: [schema.type, 'null'] }) as const;
const object = (properties: Record<string, unknown>, required: readonly string[] = Object.keys(properties)) =>
  ({ type: 'object', additionalProperties: false, required, properties }) as const;

const tenantId = id();
const connectorId = id();
const domain = {
  type: 'string',
  minLength: 1,
  maxLength: 300,
  description:
    'a domain name, in Unicode (bücher.example) or ASCII (xn--bcher-kva.example) form; stored in ASCII',
} as const;

export const tenantParams = object({ tenantId });
export const domainParams = object({ tenantId, domain });
export const connectorParams = object({ tenantId, connectorId });

export const errorBody = {
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
      items: object({ check: { type: 'string' }, passed: { type: 'boolean' }, detail: { type: 'string' } }),
    },
  },
} as const;

const thresholds = object({
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
const mode = { type: 'string', enum: ['ENFORCE', 'MONITOR'] } as const;
const forwardedWeight = {
  type: 'number',
  minimum: 0,
  maximum: 1,
  description: 'weight of FORWARDED unregistered mail in U (0 allows forwarding)',
} as const;

export const acceptedDomainBody = object({
  matchSubdomains: { type: 'boolean', description: 'whether every subdomain counts as registered too' },
});

const verification = object({
  status: {
    type: 'string',
    enum: ['verified', 'pending', 'legacy'],
    description:
      'pending domains count as unregistered until their owner proves control; legacy ones, accepted before verification existed, count as registered until another tenant verifies the domain or an operator asserts it',
  },
  method: { type: ['string', 'null'], enum: ['DNS_TXT', 'OPERATOR', null] },
  verifiedAt: { type: ['integer', 'null'], description: 'when control was proved (epoch ms)' },
  recordLostAt: {
    type: ['integer', 'null'],
    description: 'when a re-check first missed the TXT record (epoch ms); the domain stays registered',
  },
  txtRecord: {
    ...object({
      name: { type: 'string', description: 'where to publish the TXT record: the domain itself' },
      value: { type: 'string', description: 'the TXT record value relayguard looks for' },
    }),
    type: ['object', 'null'],
    description: 'null for a legacy domain, which has no TXT token',
  },
});

const acceptedDomain = object({
  domain: { type: 'string', description: 'normalized (ASCII) form' },
  unicode: { type: 'string', description: 'Unicode form, for people' },
  matchSubdomains: { type: 'boolean' },
  addedAt: epochMs('when it was registered'),
  verification,
});

export const acceptedDomainPut = object({
  tenantId: { type: 'string' },
  domain: { type: 'string' },
  unicode: { type: 'string' },
  matchSubdomains: { type: 'boolean' },
  created: { type: 'boolean', description: 'false when an existing entry was updated' },
  verification,
});

export const acceptedDomainVerified = object({
  tenantId: { type: 'string' },
  domain: { type: 'string' },
  unicode: { type: 'string' },
  verification,
});

export const acceptedDomainList = object({
  tenantId: { type: 'string' },
  acceptedDomains: { type: 'array', items: acceptedDomain },
});

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
export const connectorList = object({
  tenantId: { type: 'string' },
  connectors: { type: 'array', items: connector },
});

export const connectorReview = object({
  tenantId: { type: 'string' },
  connectors: {
    type: 'array',
    description: 'most unusual first',
    items: object({
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
      unregisteredMessages: object({ evidence: { type: 'integer' }, window: { type: 'integer' } }),
      score: { type: 'integer', minimum: 0, maximum: 100 },
      reasons: { type: 'array', items: object({ code: { type: 'string' }, detail: { type: 'string' } }) },
    }),
  },
});

const counters = object({
  unregistered: { type: 'number', description: 'U' },
  forwardedUnregistered: { type: 'integer', description: 'F' },
  total: { type: 'integer', description: 'T' },
  distinctUnregisteredDomains: { type: 'integer', description: 'D' },
});

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

const attestations = {
  type: 'object',
  additionalProperties: false,
  description: 'each must be true; a missing or false one is answered 422',
  properties: {
    domainsRegistered: { type: 'boolean', description: 'every domain the tenant sends from is registered' },
    connectorsReviewed: { type: 'boolean', description: 'connectors reviewed and unknown ones removed' },
    serversSecured: { type: 'boolean', description: 'the on-premises servers were secured' },
  },
} as const;

const ticket = {
  type: 'string',
  minLength: 1,
  maxLength: 128,
  description: 'support ticket reference',
} as const;

export const unblockBody = object({ ticket, attestations }, ['ticket']);
export const selfServiceBody = object({ ticket, attestations }, []);

export const unblockResult = object({
  tenantId: { type: 'string' },
  blockId: { type: 'string' },
  unblockedAt: { type: 'integer' },
  warnings: { type: 'array', items: { type: 'string' }, description: 'what the system itself still sees' },
  probationUntil: { type: ['integer', 'null'] },
});

export const policyBody = object(
  {
    mode,
    minUnregistered: thresholds.properties.minUnregistered,
    minUnregisteredRatio: thresholds.properties.minUnregisteredRatio,
    minDistinctDomains: thresholds.properties.minDistinctDomains,
    minUnregisteredWithDistinct: thresholds.properties.minUnregisteredWithDistinct,
    forwardedWeight,
  },
  [],
);

export const policyView = object({
  tenantId: { type: 'string' },
  overrides: policyBody,
  global: object({ mode, thresholds, forwardedWeight }),
  effective: object({
    mode,
    thresholds,
    forwardedWeight,
    probation: { type: 'boolean' },
    probationUntil: { type: ['integer', 'null'] },
  }),
});

export const session = object({
  subject: { type: 'string', description: "the token's role and digest prefix, as the audit topic names it" },
  role: { type: 'string', enum: ['operator', 'reader', 'tenant-admin'] },
  tenantId: { type: ['string', 'null'], description: 'the tenant a tenant-admin token manages' },
});

const carriers = {
  type: 'array',
  description: 'most messages first',
  items: object({
    key: { type: 'string' },
    messages: { type: 'integer' },
    lastSeenAt: epochMs('start of the minute it was last seen in'),
  }),
} as const;

export const tenantWindow = object({
  tenantId: { type: 'string' },
  windowMinutes: { type: 'integer' },
  counters,
  start: { type: ['integer', 'null'], description: 'start of the window (epoch ms); null without one' },
  end: { type: ['integer', 'null'], description: 'end of the window, exclusive (epoch ms)' },
  minutes: {
    type: 'array',
    description: 'oldest first, every minute of the window',
    items: object({
      at: epochMs('start of the minute'),
      unregistered: { type: 'integer', description: 'U in this minute' },
      forwarded: { type: 'integer', description: 'F in this minute' },
      total: { type: 'integer', description: 'T in this minute' },
      domainsLastSeen: {
        type: 'integer',
        description: 'distinct unregistered domains last seen in this minute (they sum to D)',
      },
    }),
  },
  domains: carriers,
  connectors: carriers,
});

export const tenantHistory = object({
  tenantId: { type: 'string' },
  blockTimes: { type: 'array', description: 'newest first', items: epochMs('when a block was decided') },
  lastUnblock: {
    type: ['object', 'null'],
    additionalProperties: false,
    required: ['blockId', 'source', 'actor', 'ticket', 'attestations', 'probationUntil', 'unblockedAt'],
    properties: {
      blockId: { type: 'string' },
      source: { type: 'string', enum: UnblockSourceValues },
      actor: { type: 'string' },
      ticket: { type: ['string', 'null'] },
      attestations,
      probationUntil: { type: ['integer', 'null'] },
      unblockedAt: epochMs('when the block was lifted'),
    },
  },
});

export const auditTrail = object({
  tenantId: { type: 'string' },
  entries: {
    type: 'array',
    description: 'newest first',
    items: object({
      auditId: { type: 'string' },
      occurredAt: epochMs('when the action was taken'),
      actor: { type: 'string', description: 'the subject who acted (never a token)' },
      role: { type: 'string' },
      action: { type: 'string' },
      tenantId: { type: ['string', 'null'] },
      target: { type: ['string', 'null'] },
      ticket: { type: ['string', 'null'] },
      details: { type: 'object', additionalProperties: { type: 'string' } },
    }),
  },
  truncated: { type: 'boolean', description: 'older records were dropped here; the audit topic holds them' },
  caughtUp: { type: 'boolean', description: 'false while the audit topic is still being read' },
});

export const verifyDomainBody = object(
  {
    method: {
      type: 'string',
      enum: ['DNS_TXT', 'OPERATOR'],
      description:
        'DNS_TXT (default): relayguard looks up the TXT record; OPERATOR: an operator asserts control',
    },
    ticket,
  },
  [],
);

/** Candidate thresholds in a query string: each optional, the one in force where absent. */
export const thresholdsQuery = { ...thresholds, required: [] } as const;

const thresholdDecision = object({
  thresholds,
  decision: {
    type: ['string', 'null'],
    enum: ['VOLUME', 'DISTINCT_DOMAINS', null],
    description: 'the rule that would fire over the live window, or null',
  },
});

export const policyPreview = object({
  tenantId: { type: 'string' },
  counters,
  inForce: thresholdDecision,
  candidate: thresholdDecision,
});
