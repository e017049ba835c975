// Accepted domains: register, verify, unregister, list.
import type { VerificationMethod } from '../../../core/contracts.generated.js';
import { domainRoutes as routes } from '../schemas/domains.js';
import type { RouteKit, TenantParams } from './route-kit.js';

type DomainParams = TenantParams & { domain: string };

export function domainRoutes({ admin, actor, serve, serveRemoval }: RouteKit): void {
  serve<{ Params: DomainParams; Body: { matchSubdomains: boolean } }>(routes.put, async (request, reply) => {
    const { tenantId, domain } = request.params;
    const result = await admin.putAcceptedDomain(
      actor(request),
      tenantId,
      domain,
      request.body.matchSubdomains,
    );
    return reply.code(result.created ? 201 : 200).send({ tenantId, ...result });
  });
  serve<{ Params: DomainParams; Body: { method?: VerificationMethod; ticket?: string } | undefined }>(
    routes.verify,
    async (request) => {
      const { tenantId, domain } = request.params;
      const result = await admin.verifyAcceptedDomain(actor(request), tenantId, domain, request.body ?? {});
      return { tenantId, ...result };
    },
  );
  serveRemoval<DomainParams>(routes.remove, (by, { tenantId, domain }) =>
    admin.removeAcceptedDomain(by, tenantId, domain),
  );
  serve<{ Params: TenantParams }>(routes.list, async ({ params: { tenantId } }) => ({
    tenantId,
    acceptedDomains: admin.listAcceptedDomains(tenantId),
  }));
}
