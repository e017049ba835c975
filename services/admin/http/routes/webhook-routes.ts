// Webhook endpoints, operators only: register, list (never the secret), change, remove, the delivery log, and
// replays of an endpoint's dead letters or of the block changes since a time.
import type { FastifyInstance } from 'fastify';
import { RelayguardError } from '../../../core/errors.js';
import type {
  ReplayRequest,
  WebhookEndpointInput,
  WebhookEndpointPatch,
  WebhookEndpointsAdmin,
} from '../../webhook-endpoints.js';
import * as S from '../schemas/webhooks.js';
import type { RouteKit } from './route-kit.js';

type EndpointParams = { endpointId: string };
type ReplayBody = { from: ReplayRequest['from']; since?: string; tenantId?: string };

export function webhookRoutes(
  app: FastifyInstance,
  { actor, route }: RouteKit,
  webhooks: WebhookEndpointsAdmin,
): void {
  const tags = ['webhooks'];
  app.get(
    '/webhooks',
    route('operator', {
      tags,
      summary: 'The webhook endpoints: registered here, and those of RELAYGUARD_WEBHOOKS (no secrets)',
      response: { 200: S.endpointList },
    }),
    async () => ({ endpoints: webhooks.list() }),
  );
  app.post<{ Body: WebhookEndpointInput & { id: string } }>(
    '/webhooks',
    route('operator', {
      tags,
      summary: 'Register a webhook endpoint; the deliverers post to it from the next change on',
      body: S.endpointCreate,
      response: { 201: S.endpointView },
    }),
    async (request, reply) => {
      const { id, ...input } = request.body;
      return reply.code(201).send(await webhooks.create(actor(request), id, input));
    },
  );
  app.get<{ Params: EndpointParams }>(
    '/webhooks/:endpointId',
    route('operator', {
      tags,
      summary: 'A webhook endpoint (no secret)',
      params: S.endpointParams,
      response: { 200: S.endpointView },
    }),
    async (request) => webhooks.get(request.params.endpointId),
  );
  app.patch<{ Params: EndpointParams; Body: WebhookEndpointPatch }>(
    '/webhooks/:endpointId',
    route('operator', {
      tags,
      summary:
        'Change a registered endpoint: absent fields keep their value; tenants: null sends every tenant',
      params: S.endpointParams,
      body: S.endpointPatch,
      response: { 200: S.endpointView },
    }),
    async (request) => webhooks.update(actor(request), request.params.endpointId, request.body),
  );
  app.delete<{ Params: EndpointParams }>(
    '/webhooks/:endpointId',
    route('operator', {
      tags,
      summary: 'Remove a registered endpoint',
      params: S.endpointParams,
      response: { 204: { type: 'null' } },
    }),
    async (request, reply) => {
      await webhooks.remove(actor(request), request.params.endpointId);
      return reply.code(204).send();
    },
  );
  app.get<{ Params: EndpointParams; Querystring: { limit: number } }>(
    '/webhooks/:endpointId/deliveries',
    route('operator', {
      tags,
      summary: "The endpoint's recent deliveries, newest first: event, attempts, status, last error",
      params: S.endpointParams,
      querystring: S.deliveriesQuery,
      response: { 200: S.deliveryLog },
    }),
    async (request) => ({
      endpointId: request.params.endpointId,
      ...webhooks.deliveries(request.params.endpointId, request.query.limit),
    }),
  );
  app.post<{ Params: EndpointParams; Body: ReplayBody }>(
    '/webhooks/:endpointId/replays',
    route('operator', {
      tags,
      summary:
        "Deliver the endpoint's dead letters, or the block changes since a time, again (in order per tenant)",
      params: S.endpointParams,
      body: S.replayBody,
      response: { 202: S.replayResult },
    }),
    async (request, reply) => {
      const { from, since, tenantId } = request.body;
      const result = await webhooks.replay(actor(request), request.params.endpointId, {
        from,
        since: since === undefined ? null : instant(since),
        tenantId: tenantId ?? null,
      });
      return reply.code(202).send(result);
    },
  );
}

function instant(text: string): number {
  const at = Date.parse(text);
  if (Number.isNaN(at)) {
    throw new RelayguardError('INVALID_FIELD', 'since: not an ISO 8601 time, e.g. 2026-12-01T09:00:00Z', {
      field: 'since',
    });
  }
  return at;
}
