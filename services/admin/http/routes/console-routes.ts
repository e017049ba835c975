// What the console reads besides the other groups' routes: who the token is, the live window, the earlier
// blocks, a threshold preview and the recent audit records.
import type { FastifyInstance } from 'fastify';
import type { Thresholds } from '../../../core/contracts.generated.js';
import { previewThresholds } from '../../console/policy-preview.js';
import { tenantParams } from '../schemas/common.js';
import * as S from '../schemas/console.js';
import type { RouteKit, TenantParams } from './route-kit.js';

export function consoleRoutes(app: FastifyInstance, { admin, auditTrail, route }: RouteKit): void {
  app.get(
    '/session',
    route('session', {
      tags: ['console'],
      summary: "The calling token's role and tenant (never the token): what the console may show and offer",
      response: { 200: S.session },
    }),
    async (request) => {
      const { subject, tokenRole, tenantId } = request.principal!;
      return { subject, role: tokenRole, tenantId };
    },
  );
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/window',
    route('tenant-read', {
      tags: ['console'],
      summary: "The tenant's live window minute by minute, with the domains and connectors that carried U",
      params: tenantParams,
      response: { 200: S.tenantWindow },
    }),
    async (request) => admin.window(request.params.tenantId),
  );
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/history',
    route('tenant-read', {
      tags: ['console'],
      summary: "When the tenant's blocks of the last 30 days were decided, newest first, and the last lift",
      params: tenantParams,
      response: { 200: S.tenantHistory },
    }),
    async (request) => admin.history(request.params.tenantId),
  );
  app.get<{ Params: TenantParams; Querystring: Partial<Thresholds> }>(
    '/tenants/:tenantId/policy/preview',
    route('tenant-read', {
      tags: ['console', 'policy'],
      summary: "What other thresholds would decide for the tenant's live window, beside those in force",
      params: tenantParams,
      querystring: S.thresholdsQuery,
      response: { 200: S.policyPreview },
    }),
    async (request) => {
      const { tenantId } = request.params;
      const { counters } = await admin.window(tenantId);
      const { thresholds } = admin.getPolicy(tenantId).effective;
      return { tenantId, ...previewThresholds(counters, thresholds, request.query) };
    },
  );
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/audit',
    route('tenant-read', {
      tags: ['console'],
      summary: "The tenant's most recent audit records, newest first (the audit topic holds them all)",
      params: tenantParams,
      response: { 200: S.auditTrail },
    }),
    async (request) => ({
      tenantId: request.params.tenantId,
      ...auditTrail.recent(request.params.tenantId),
    }),
  );
}
