// Connectors: create or replace, remove, list, and the review that ranks them by how unusual they are.
import type { ConnectorInput } from '../../connectors.js';
import { connectorRoutes as routes } from '../schemas/connectors.js';
import type { RouteKit, TenantParams } from './route-kit.js';

type ConnectorParams = TenantParams & { connectorId: string };

export function connectorRoutes({ admin, actor, serve, serveRemoval }: RouteKit): void {
  serve<{ Params: ConnectorParams; Body: ConnectorInput }>(routes.put, async (request, reply) => {
    const { tenantId, connectorId } = request.params;
    const result = await admin.putConnector(actor(request), tenantId, connectorId, request.body);
    return reply.code(result.created ? 201 : 200).send(result);
  });
  serveRemoval<ConnectorParams>(routes.remove, (by, { tenantId, connectorId }) =>
    admin.removeConnector(by, tenantId, connectorId),
  );
  serve<{ Params: TenantParams }>(routes.list, async ({ params: { tenantId } }) => ({
    tenantId,
    connectors: admin.listConnectors(tenantId),
  }));
  serve<{ Params: TenantParams }>(routes.review, async ({ params: { tenantId } }) => ({
    tenantId,
    connectors: await admin.reviewConnectors(tenantId),
  }));
}
