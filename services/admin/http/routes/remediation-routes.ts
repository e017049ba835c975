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
  serve<{ Params: TenantParams; Body: UnblockBody }>(routes.unblock, async (request) => {
    const { tenantId } = request.params;
    const { ticket = null, attestations, connectorIds } = request.body;
    return {
      tenantId,
      ...(await admin.unblock(actor(request), tenantId, { ticket, attestations, connectorIds })),
    };
  });
  serve<{ Params: TenantParams; Body: UnblockBody }>(routes.selfServiceUnblock, async (request) => {
    const { tenantId } = request.params;
    const { ticket = null, attestations, connectorIds } = request.body;
    return {
      tenantId,
      ...(await admin.selfServiceUnblock(actor(request), tenantId, { ticket, attestations, connectorIds })),
    };
  });
}
