// Status, blocks and the remediation workflow: a tenant's status with its evidence, the blocked tenants a page
// at a time, the operator unblock and the tenant admin's self-service unblock.
import type { Attestations } from '../../../core/contracts.generated.js';
import { remediationRoutes as routes } from '../schemas/remediation.js';
import type { RouteKit, TenantParams } from './route-kit.js';

type UnblockBody = { ticket?: string; attestations?: Partial<Attestations>; connectorIds?: string[] };

export function remediationRoutes({ admin, actor, serve }: RouteKit): void {
  serve<{ Params: TenantParams }>(routes.status, async (request) => admin.status(request.params.tenantId));
  serve<{ Querystring: { limit: number; cursor?: string } }>(routes.blocks, async (request) =>
    admin.blocks(request.query),
  );
  // The operator's unblock and the tenant admin's self-service one take the same body and answer alike.
  for (const [route, lift] of [
    [routes.unblock, admin.unblock],
    [routes.selfServiceUnblock, admin.selfServiceUnblock],
  ] as const) {
    serve<{ Params: TenantParams; Body: UnblockBody }>(route, async (request) => {
      const { tenantId } = request.params;
      const { ticket = null, attestations, connectorIds } = request.body;
      return { tenantId, ...(await lift(actor(request), tenantId, { ticket, attestations, connectorIds })) };
    });
  }
}
