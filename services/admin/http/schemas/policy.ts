// The policy routes' schemas: a tenant's overrides, the global policy and what is in force.
import { forwardedWeight, mode, object, thresholds } from './common.js';

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

export const policyView = object({
  tenantId: { type: 'string' },
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
