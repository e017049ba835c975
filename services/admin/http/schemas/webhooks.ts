// The webhook routes and their schemas: an endpoint (never its secret on the way out), its delivery log, and a replay.
import { WebhookDeliveryStatusValues } from '../../../core/contracts.generated.js';
import { MIN_SECRET_LENGTH } from '../../webhook-endpoints.js';
import type { RouteDeclaration } from '../routes/route-kit.js';
import { arrayOf, endpointId, epochMs, nullable, object, tenantId } from './common.js';

const events = {
  type: 'array',
  minItems: 1,
  uniqueItems: true,
  items: { type: 'string', enum: ['blocked', 'unblocked'] },
  description: 'the changes posted to the endpoint: blocked, unblocked (both by default)',
} as const;
const tenants = {
  type: 'array',
  minItems: 1,
  maxItems: 1000,
  uniqueItems: true,
  items: tenantId,
  description: "only these tenants' changes (every tenant's when absent or null)",
} as const;
const url = {
  type: 'string',
  minLength: 1,
  maxLength: 2048,
  description: 'where deliveries are posted: an http:// or https:// URL of a public address',
} as const;
const secret = {
  type: 'string',
  minLength: MIN_SECRET_LENGTH,
  maxLength: 512,
  description: `the HMAC-SHA256 signing secret shared with the receiver, at least ${MIN_SECRET_LENGTH} characters (never shown back)`,
} as const;

export const endpointCreate = object({ id: endpointId, url, secret, events, tenants: nullable(tenants) }, [
  'id',
  'url',
  'secret',
]);

export const endpointPatch = object({ url, secret, events, tenants: nullable(tenants) }, []);

export const endpointView = object({
  id: { type: 'string' },
  url: { type: 'string' },
  events: { type: 'array', items: { type: 'string' } },
  tenants: { type: ['array', 'null'], items: { type: 'string' } },
  source: {
    type: 'string',
    enum: ['api', 'environment'],
    description: 'registered through this API, or defined by RELAYGUARD_WEBHOOKS (read-only here)',
  },
  createdAt: { ...nullable(epochMs('when it was registered')) },
  updatedAt: { ...nullable(epochMs('when it last changed')) },
  updatedBy: { type: ['string', 'null'] },
});

export const endpointList = object({ endpoints: { type: 'array', items: endpointView } });

export const deliveriesQuery = object(
  {
    limit: {
      type: 'integer',
      minimum: 1,
      maximum: 100,
      default: 20,
      description: 'most deliveries returned',
    },
  },
  [],
);

export const deliveryLog = object({
  endpointId: { type: 'string' },
  deliveries: arrayOf(
    {
      eventId: { type: 'string', description: 'the CloudEvent id (its Idempotency-Key)' },
      eventType: { type: 'string' },
      tenantId: { type: 'string' },
      status: { type: 'string', enum: [...WebhookDeliveryStatusValues] },
      attempts: { type: 'integer' },
      lastError: { type: ['string', 'null'], description: 'why the last attempt failed' },
      replayId: { type: ['string', 'null'], description: 'the replay it belongs to' },
      occurredAt: epochMs('when the attempt ended'),
    },
    'newest first: where each recent delivery stands',
  ),
  truncated: { type: 'boolean', description: 'older deliveries were dropped here (the topic keeps them)' },
  caughtUp: { type: 'boolean', description: 'false while the delivery log is still being read' },
});

export const replayBody = object(
  {
    from: {
      type: 'string',
      enum: ['dead-letters', 'block-events'],
      description: "the endpoint's dead letters, or the block changes it receives (since `since`)",
    },
    since: {
      type: 'string',
      minLength: 1,
      description: 'only what was dead-lettered or happened at or after this ISO 8601 time',
    },
    tenantId,
  },
  ['from'],
);

export const replayResult = object({
  replayId: { type: 'string' },
  endpointId: { type: 'string' },
  from: { type: 'string' },
  events: { type: 'integer', description: 'events published for the deliverers to post again' },
});

// Webhook endpoints are operators' alone.
const operatorRoute = { access: 'operator' as const, tags: ['webhooks'] };

export const webhookRoutes = {
  list: {
    ...operatorRoute,
    method: 'GET',
    url: '/webhooks',
    summary: 'The webhook endpoints: registered here, and those of RELAYGUARD_WEBHOOKS (no secrets)',
    response: { 200: endpointList },
  },
  create: {
    ...operatorRoute,
    method: 'POST',
    url: '/webhooks',
    summary: 'Register a webhook endpoint; the deliverers post to it from the next change on',
    body: endpointCreate,
    response: { 201: endpointView },
  },
  get: {
    ...operatorRoute,
    method: 'GET',
    url: '/webhooks/:endpointId',
    summary: 'A webhook endpoint (no secret)',
    response: { 200: endpointView },
  },
  update: {
    ...operatorRoute,
    method: 'PATCH',
    url: '/webhooks/:endpointId',
    summary: 'Change a registered endpoint: absent fields keep their value; tenants: null sends every tenant',
    body: endpointPatch,
    response: { 200: endpointView },
  },
  remove: {
    ...operatorRoute,
    method: 'DELETE',
    url: '/webhooks/:endpointId',
    summary: 'Remove a registered endpoint',
    response: { 204: { type: 'null' } },
  },
  deliveries: {
    ...operatorRoute,
    method: 'GET',
    url: '/webhooks/:endpointId/deliveries',
    summary: "The endpoint's recent deliveries, newest first: event, attempts, status, last error",
    querystring: deliveriesQuery,
    response: { 200: deliveryLog },
  },
  replay: {
    ...operatorRoute,
    method: 'POST',
    url: '/webhooks/:endpointId/replays',
    summary:
      "Deliver the endpoint's dead letters, or the block changes since a time, again (in order per tenant)",
    body: replayBody,
    response: { 202: replayResult },
  },
} satisfies Record<string, RouteDeclaration>;
