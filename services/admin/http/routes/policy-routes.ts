// A tenant's policy: its overrides, the global policy and what is in force; operators replace the overrides.
import type { PolicyOverrides } from '../../../core/policy.js';
import { policyRoutes as routes } from '../schemas/policy.js';
import type { RouteKit, TenantParams } from './route-kit.js';

export function policyRoutes({ admin, actor, serve }: RouteKit): void {
  serve<{ Params: TenantParams }>(routes.get, async (request) => admin.getPolicy(request.params.tenantId));
  serve<{ Params: TenantParams; Body: PolicyOverrides }>(routes.put, async (request) => {
    await admin.setPolicy(actor(request), request.params.tenantId, request.body);
    return admin.getPolicy(request.params.tenantId);
  });
}
