// The accepted-domain routes and their schemas: registering, verifying and listing a tenant's domains.
import type { RouteDeclaration } from '../routes/route-kit.js';
import { epochMs, object, tenantObject, ticket } from './common.js';

export const acceptedDomainBody = object({
  matchSubdomains: { type: 'boolean', description: 'whether every subdomain counts as registered too' },
});

const verification = object({
  status: {
    type: 'string',
    enum: ['verified', 'pending', 'legacy'],
    description:
      'pending domains count as unregistered until their owner proves control; legacy ones, accepted before verification existed, count as registered until another tenant verifies the domain or an operator asserts it',
  },
  method: { type: ['string', 'null'], enum: ['DNS_TXT', 'OPERATOR', null] },
  verifiedAt: { type: ['integer', 'null'], description: 'when control was proved (epoch ms)' },
  recordLostAt: {
    type: ['integer', 'null'],
    description: 'when a re-check first missed the TXT record (epoch ms); the domain stays registered',
  },
  txtRecord: {
    ...object({
      name: { type: 'string', description: 'where to publish the TXT record: the domain itself' },
      value: { type: 'string', description: 'the TXT record value relayguard looks for' },
    }),
    type: ['object', 'null'],
    description: 'null for a legacy domain, which has no TXT token',
  },
});

const acceptedDomain = object({
  domain: { type: 'string', description: 'normalized (ASCII) form' },
  unicode: { type: 'string', description: 'Unicode form, for people' },
  matchSubdomains: { type: 'boolean' },
  addedAt: epochMs('when it was registered'),
  verification,
});

export const acceptedDomainPut = tenantObject({
  domain: { type: 'string' },
  unicode: { type: 'string' },
  matchSubdomains: { type: 'boolean' },
  created: { type: 'boolean', description: 'false when an existing entry was updated' },
  verification,
});

export const acceptedDomainVerified = tenantObject({
  domain: { type: 'string' },
  unicode: { type: 'string' },
  verification,
});

export const acceptedDomainList = tenantObject({
  acceptedDomains: { type: 'array', items: acceptedDomain },
});

export const verifyDomainBody = object(
  {
    method: {
      type: 'string',
      enum: ['DNS_TXT', 'OPERATOR'],
      description:
        'DNS_TXT (default): relayguard looks up the TXT record; OPERATOR: an operator asserts control',
    },
    ticket,
  },
  [],
);

const tags = ['accepted domains'];

export const domainRoutes = {
  put: {
    method: 'PUT',
    url: '/tenants/:tenantId/accepted-domains/:domain',
    access: 'tenant-write',
    tags,
    summary:
      "Register (or update) an accepted domain; Unicode or ASCII, stored in ASCII; pending until verified (an operator's put is an assertion)",
    body: acceptedDomainBody,
    response: { 200: acceptedDomainPut, 201: acceptedDomainPut },
  },
  verify: {
    method: 'POST',
    url: '/tenants/:tenantId/accepted-domains/:domain/verify',
    access: 'tenant-write',
    tags,
    summary:
      'Verify a pending domain: by its TXT record relayguard-verification=<token>, or by an operator assertion',
    body: verifyDomainBody,
    response: { 200: acceptedDomainVerified },
  },
  remove: {
    method: 'DELETE',
    url: '/tenants/:tenantId/accepted-domains/:domain',
    access: 'tenant-write',
    tags,
    summary: 'Unregister an accepted domain',
    response: { 204: { type: 'null' } },
  },
  list: {
    method: 'GET',
    url: '/tenants/:tenantId/accepted-domains',
    access: 'tenant-read',
    tags,
    summary: "The tenant's accepted domains",
    response: { 200: acceptedDomainList },
  },
} satisfies Record<string, RouteDeclaration>;
