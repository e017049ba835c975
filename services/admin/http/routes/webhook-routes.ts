// Webhook endpoints, operators only: register, list (never the secret), change, remove, the delivery log, and
// replays of an endpoint's dead letters or of the block changes since a time.
import { RelayguardError } from '../../../core/errors.js';
import type {
  ReplayRequest,
  WebhookEndpointInput,
  WebhookEndpointPatch,
  WebhookEndpointsAdmin,
} from '../../webhook-endpoints.js';
import { webhookRoutes as routes } from '../schemas/webhooks.js';
import type { RouteKit } from './route-kit.js';

type EndpointParams = { endpointId: string };
type ReplayBody = { from: ReplayRequest['from']; since?: string; tenantId?: string };

export function webhookRoutes(
  { actor, serve, serveRemoval }: RouteKit,
  webhooks: WebhookEndpointsAdmin,
): void {
  serve(routes.list, async () => ({ endpoints: webhooks.list() }));
  serve<{ Body: WebhookEndpointInput & { id: string } }>(routes.create, async (request, reply) => {
    const { id, ...input } = request.body;
    return reply.code(201).send(await webhooks.create(actor(request), id, input));
  });
  serve<{ Params: EndpointParams }>(routes.get, async (request) => webhooks.get(request.params.endpointId));
  serve<{ Params: EndpointParams; Body: WebhookEndpointPatch }>(routes.update, async (request) =>
    webhooks.update(actor(request), request.params.endpointId, request.body),
  );
  serveRemoval<EndpointParams>(routes.remove, (by, { endpointId }) => webhooks.remove(by, endpointId));
  serve<{ Params: EndpointParams; Querystring: { limit: number } }>(
    routes.deliveries,
    async ({ params: { endpointId }, query }) => ({
      endpointId,
      ...webhooks.deliveries(endpointId, query.limit),
    }),
  );
  serve<{ Params: EndpointParams; Body: ReplayBody }>(routes.replay, async (request, reply) => {
    const { from, since, tenantId } = request.body;
    const result = await webhooks.replay(actor(request), request.params.endpointId, {
      from,
      since: since === undefined ? null : instant(since),
      tenantId: tenantId ?? null,
    });
    return reply.code(202).send(result);
  });
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
