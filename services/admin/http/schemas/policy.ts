// The policy routes and their schemas: a tenant's overrides, the global policy and what is in force.
import type { RouteDeclaration } from '../routes/route-kit.js';
import { forwardedWeight, mode, object, tenantObject, thresholds } from './common.js';

export const policyBody = object(
  {
    mode,
    minUnregistered: thresholds.properties.minUnregistered,
    minUnregisteredRatio: thresholds.properties.minUnregisteredRatio,
    minDistinctDomains: thresholds.properties.minDistinctDomains,
    minUnregisteredWithDistinct: thresholds.properties.minUnregisteredWithDistinct,
    forwardedWeight,
  },
  [],
);

export const policyView = tenantObject({
  overrides: policyBody,
  global: object({ mode, thresholds, forwardedWeight }),
  effective: object({
    mode,
    thresholds,
    forwardedWeight,
    probation: { type: 'boolean' },
    probationUntil: { type: ['integer', 'null'] },
  }),
});

const tags = ['policy'];

export const policyRoutes = {
  get: {
    method: 'GET',
    url: '/tenants/:tenantId/policy',
    access: 'tenant-read',
    tags,
    summary: "The tenant's overrides, the global policy and what is in force now",
    response: { 200: policyView },
  },
  put: {
    method: 'PUT',
    url: '/tenants/:tenantId/policy',
    access: 'operator',
    tags,
    summary: "Replace the tenant's overrides (absent fields take the global value; {} clears them)",
    body: policyBody,
    response: { 200: policyView },
  },
} satisfies Record<string, RouteDeclaration>;
