// Connectors: create or replace, remove, list, and the review that ranks them by how unusual they are.
import type { FastifyInstance } from 'fastify';
import type { ConnectorInput } from '../../connectors.js';
import { connectorParams, tenantParams } from '../schemas/common.js';
import * as S from '../schemas/connectors.js';
import type { RouteKit, TenantParams } from './route-kit.js';

export function connectorRoutes(app: FastifyInstance, { admin, actor, route }: RouteKit): void {
  app.put<{ Params: TenantParams & { connectorId: string }; Body: ConnectorInput }>(
    '/tenants/:tenantId/connectors/:connectorId',
    route('tenant-write', {
      tags: ['connectors'],
      summary: 'Create or replace a connector (to disable one, put it with enabled: false)',
      params: connectorParams,
      body: S.connectorBody,
      response: { 200: S.connectorPut, 201: S.connectorPut },
    }),
    async (request, reply) => {
      const { tenantId, connectorId } = request.params;
      const result = await admin.putConnector(actor(request), tenantId, connectorId, request.body);
      return reply.code(result.created ? 201 : 200).send(result);
    },
  );
  app.delete<{ Params: TenantParams & { connectorId: string } }>(
    '/tenants/:tenantId/connectors/:connectorId',
    route('tenant-write', {
      tags: ['connectors'],
      summary: 'Remove a connector',
      params: connectorParams,
      response: { 204: { type: 'null' } },
    }),
    async (request, reply) => {
      await admin.removeConnector(actor(request), request.params.tenantId, request.params.connectorId);
      return reply.code(204).send();
    },
  );
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/connectors',
    route('tenant-read', {
      tags: ['connectors'],
      summary: "The tenant's connectors",
      params: tenantParams,
      response: { 200: S.connectorList },
    }),
    async (request) => ({
      tenantId: request.params.tenantId,
      connectors: admin.listConnectors(request.params.tenantId),
    }),
  );
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/connectors/review',
    route('tenant-read', {
      tags: ['connectors', 'remediation'],
      summary: "The tenant's connectors, most unusual first, each with its reasons",
      params: tenantParams,
      response: { 200: S.connectorReview },
    }),
    async (request) => ({
      tenantId: request.params.tenantId,
      connectors: await admin.reviewConnectors(request.params.tenantId),
    }),
  );
}
