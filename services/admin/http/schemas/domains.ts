// The accepted-domain routes' schemas: registering, verifying and listing a tenant's domains.
import { epochMs, object, ticket } from './common.js';

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

export const acceptedDomainPut = object({
  tenantId: { type: 'string' },
  domain: { type: 'string' },
  unicode: { type: 'string' },
  matchSubdomains: { type: 'boolean' },
  created: { type: 'boolean', description: 'false when an existing entry was updated' },
  verification,
});

export const acceptedDomainVerified = object({
  tenantId: { type: 'string' },
  domain: { type: 'string' },
  unicode: { type: 'string' },
  verification,
});

export const acceptedDomainList = object({
  tenantId: { type: 'string' },
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
