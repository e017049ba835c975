// Accepted domains: register, verify, unregister, list.
import type { FastifyInstance } from 'fastify';
import type { VerificationMethod } from '../../../core/contracts.generated.js';
import { domainParams, tenantParams } from '../schemas/common.js';
import * as S from '../schemas/domains.js';
import type { RouteKit, TenantParams } from './route-kit.js';

export function domainRoutes(app: FastifyInstance, { admin, actor, route }: RouteKit): void {
  app.put<{ Params: TenantParams & { domain: string }; Body: { matchSubdomains: boolean } }>(
    '/tenants/:tenantId/accepted-domains/:domain',
    route('tenant-write', {
      tags: ['accepted domains'],
      summary:
        "Register (or update) an accepted domain; Unicode or ASCII, stored in ASCII; pending until verified (an operator's put is an assertion)",
      params: domainParams,
      body: S.acceptedDomainBody,
      response: { 200: S.acceptedDomainPut, 201: S.acceptedDomainPut },
    }),
    async (request, reply) => {
      const { tenantId, domain } = request.params;
      const result = await admin.putAcceptedDomain(
        actor(request),
        tenantId,
        domain,
        request.body.matchSubdomains,
      );
      return reply.code(result.created ? 201 : 200).send({ tenantId, ...result });
    },
  );
  app.post<{
    Params: TenantParams & { domain: string };
    Body: { method?: VerificationMethod; ticket?: string } | undefined;
  }>(
    '/tenants/:tenantId/accepted-domains/:domain/verify',
    route('tenant-write', {
      tags: ['accepted domains'],
      summary:
        'Verify a pending domain: by its TXT record relayguard-verification=<token>, or by an operator assertion',
      params: domainParams,
      body: S.verifyDomainBody,
      response: { 200: S.acceptedDomainVerified },
    }),
    async (request) => {
      const { tenantId, domain } = request.params;
      const result = await admin.verifyAcceptedDomain(actor(request), tenantId, domain, request.body ?? {});
      return { tenantId, ...result };
    },
  );
  app.delete<{ Params: TenantParams & { domain: string } }>(
    '/tenants/:tenantId/accepted-domains/:domain',
    route('tenant-write', {
      tags: ['accepted domains'],
      summary: 'Unregister an accepted domain',
      params: domainParams,
      response: { 204: { type: 'null' } },
    }),
    async (request, reply) => {
      await admin.removeAcceptedDomain(actor(request), request.params.tenantId, request.params.domain);
      return reply.code(204).send();
    },
  );
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/accepted-domains',
    route('tenant-read', {
      tags: ['accepted domains'],
      summary: "The tenant's accepted domains",
      params: tenantParams,
      response: { 200: S.acceptedDomainList },
    }),
    async (request) => ({
      tenantId: request.params.tenantId,
      acceptedDomains: admin.listAcceptedDomains(request.params.tenantId),
    }),
  );
}
