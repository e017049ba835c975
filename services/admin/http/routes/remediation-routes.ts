// Status, blocks and the remediation workflow: a tenant's status with its evidence, the blocked tenants a page
// at a time, the operator unblock and the tenant admin's self-service unblock.
import type { FastifyInstance } from 'fastify';
import type { Attestations } from '../../../core/contracts.generated.js';
import { tenantParams } from '../schemas/common.js';
import * as S from '../schemas/remediation.js';
import type { RouteKit, TenantParams } from './route-kit.js';

type UnblockBody = { ticket?: string; attestations?: Partial<Attestations>; connectorIds?: string[] };

export function remediationRoutes(app: FastifyInstance, { admin, actor, route }: RouteKit): void {
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/status',
    route('tenant-read', {
      tags: ['remediation'],
      summary:
        'Blocked or not, the mode, the block with its evidence, the window counters and the thresholds',
      params: tenantParams,
      response: { 200: S.tenantStatus },
    }),
    async (request) => admin.status(request.params.tenantId),
  );
  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/blocks',
    route('global-read', {
      tags: ['remediation'],
      summary: 'Blocked tenants, newest first, a page at a time',
      querystring: S.blocksQuery,
      response: { 200: S.blocksPage },
    }),
    async (request) => admin.blocks(request.query),
  );
  app.post<{ Params: TenantParams; Body: UnblockBody }>(
    '/tenants/:tenantId/unblock',
    route('operator', {
      tags: ['remediation'],
      summary:
        'Operator unblock with attestations and a ticket, of the whole block or of some connectors of a connector-scoped one; answers what the system still sees as warnings',
      params: tenantParams,
      body: S.unblockBody,
      response: { 200: S.unblockResult },
    }),
    async (request) => {
      const { tenantId } = request.params;
      const { ticket = null, attestations, connectorIds } = request.body;
      return {
        tenantId,
        ...(await admin.unblock(actor(request), tenantId, { ticket, attestations, connectorIds })),
      };
    },
  );
  app.post<{ Params: TenantParams; Body: UnblockBody }>(
    '/tenants/:tenantId/self-service-unblock',
    route('tenant-write', {
      tags: ['remediation'],
      summary:
        "A tenant admin lifts its own tenant's first block in 30 days (or some connectors of it) once the system's checks pass",
      params: tenantParams,
      body: S.selfServiceBody,
      response: { 200: S.unblockResult },
    }),
    async (request) => {
      const { tenantId } = request.params;
      const { ticket = null, attestations, connectorIds } = request.body;
      return {
        tenantId,
        ...(await admin.selfServiceUnblock(actor(request), tenantId, { ticket, attestations, connectorIds })),
      };
    },
  );
}
