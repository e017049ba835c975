// The console routes and their schemas: the token's session, the live window, block history, audit records and the
// threshold preview.
import { UnblockSourceValues } from '../../../core/contracts.generated.js';
import type { RouteDeclaration } from '../routes/route-kit.js';
import { arrayOf, attestations, counters, epochMs, object, tenantObject, thresholds } from './common.js';

export const session = object({
  subject: { type: 'string', description: "the token's role and digest prefix, as the audit topic names it" },
  role: { type: 'string', enum: ['operator', 'reader', 'tenant-admin'] },
  tenantId: { type: ['string', 'null'], description: 'the tenant a tenant-admin token manages' },
});

const carriers = arrayOf(
  {
    key: { type: 'string' },
    messages: { type: 'integer' },
    lastSeenAt: epochMs('start of the minute it was last seen in'),
  },
  'most messages first',
);

export const tenantWindow = tenantObject({
  windowMinutes: { type: 'integer' },
  counters,
  start: { type: ['integer', 'null'], description: 'start of the window (epoch ms); null without one' },
  end: { type: ['integer', 'null'], description: 'end of the window, exclusive (epoch ms)' },
  minutes: arrayOf(
    {
      at: epochMs('start of the minute'),
      unregistered: { type: 'integer', description: 'U in this minute' },
      forwarded: { type: 'integer', description: 'F in this minute' },
      total: { type: 'integer', description: 'T in this minute' },
      domainsLastSeen: {
        type: 'integer',
        description: 'distinct unregistered domains last seen in this minute (they sum to D)',
      },
    },
    'oldest first, every minute of the window',
  ),
  domains: carriers,
  connectors: carriers,
});

export const tenantHistory = tenantObject({
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

export const auditTrail = tenantObject({
  entries: arrayOf(
    {
      auditId: { type: 'string' },
      occurredAt: epochMs('when the action was taken'),
      actor: { type: 'string', description: 'the subject who acted (never a token)' },
      role: { type: 'string' },
      action: { type: 'string' },
      tenantId: { type: ['string', 'null'] },
      target: { type: ['string', 'null'] },
      ticket: { type: ['string', 'null'] },
      details: { type: 'object', additionalProperties: { type: 'string' } },
    },
    'newest first',
  ),
  truncated: { type: 'boolean', description: 'older records were dropped here; the audit topic holds them' },
  caughtUp: { type: 'boolean', description: 'false while the audit topic is still being read' },
});

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

export const policyPreview = tenantObject({
  counters,
  inForce: thresholdDecision,
  candidate: thresholdDecision,
});

const tags = ['console'];

export const consoleRoutes = {
  session: {
    method: 'GET',
    url: '/session',
    access: 'session',
    tags,
    summary: "The calling token's role and tenant (never the token): what the console may show and offer",
    response: { 200: session },
  },
  window: {
    method: 'GET',
    url: '/tenants/:tenantId/window',
    access: 'tenant-read',
    tags,
    summary: "The tenant's live window minute by minute, with the domains and connectors that carried U",
    response: { 200: tenantWindow },
  },
  history: {
    method: 'GET',
    url: '/tenants/:tenantId/history',
    access: 'tenant-read',
    tags,
    summary: "When the tenant's blocks of the last 30 days were decided, newest first, and the last lift",
    response: { 200: tenantHistory },
  },
  policyPreview: {
    method: 'GET',
    url: '/tenants/:tenantId/policy/preview',
    access: 'tenant-read',
    tags: ['console', 'policy'],
    summary: "What other thresholds would decide for the tenant's live window, beside those in force",
    querystring: thresholdsQuery,
    response: { 200: policyPreview },
  },
  audit: {
    method: 'GET',
    url: '/tenants/:tenantId/audit',
    access: 'tenant-read',
    tags,
    summary: "The tenant's most recent audit records, newest first (the audit topic holds them all)",
    response: { 200: auditTrail },
  },
} satisfies Record<string, RouteDeclaration>;
