// A tenant's policy: its overrides, the global policy and what is in force; operators replace the overrides.
import type { FastifyInstance } from 'fastify';
import type { PolicyOverrides } from '../../../core/policy.js';
import { tenantParams } from '../schemas/common.js';
import * as S from '../schemas/policy.js';
import type { RouteKit, TenantParams } from './route-kit.js';

export function policyRoutes(app: FastifyInstance, { admin, actor, route }: RouteKit): void {
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/policy',
    route('tenant-read', {
      tags: ['policy'],
      summary: "The tenant's overrides, the global policy and what is in force now",
      params: tenantParams,
      response: { 200: S.policyView },
    }),
    async (request) => admin.getPolicy(request.params.tenantId),
  );
  app.put<{ Params: TenantParams; Body: PolicyOverrides }>(
    '/tenants/:tenantId/policy',
    route('operator', {
      tags: ['policy'],
      summary: "Replace the tenant's overrides (absent fields take the global value; {} clears them)",
      params: tenantParams,
      body: S.policyBody,
      response: { 200: S.policyView },
    }),
    async (request) => {
      await admin.setPolicy(actor(request), request.params.tenantId, request.body);
      return admin.getPolicy(request.params.tenantId);
    },
  );
}
