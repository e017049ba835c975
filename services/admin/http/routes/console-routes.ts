// What the console reads besides the other groups' routes: who the token is, the live window, the earlier
// blocks, a threshold preview and the recent audit records.
import type { Thresholds } from '../../../core/contracts.generated.js';
import { previewThresholds } from '../../console/policy-preview.js';
import { consoleRoutes as routes } from '../schemas/console.js';
import type { RouteKit, TenantParams } from './route-kit.js';

export function consoleRoutes({ admin, auditTrail, serve }: RouteKit): void {
  serve(routes.session, async (request) => {
    const { subject, tokenRole, tenantId } = request.principal!;
    return { subject, role: tokenRole, tenantId };
  });
  serve<{ Params: TenantParams }>(routes.window, async (request) => admin.window(request.params.tenantId));
  serve<{ Params: TenantParams }>(routes.history, async (request) => admin.history(request.params.tenantId));
  serve<{ Params: TenantParams; Querystring: Partial<Thresholds> }>(routes.policyPreview, async (request) => {
    const { tenantId } = request.params;
    const { counters } = await admin.window(tenantId);
    const { thresholds } = admin.getPolicy(tenantId).effective;
    return { tenantId, ...previewThresholds(counters, thresholds, request.query) };
  });
  serve<{ Params: TenantParams }>(routes.audit, async ({ params: { tenantId } }) => ({
    tenantId,
    ...auditTrail.recent(tenantId),
  }));
}
