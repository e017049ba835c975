// The role rules of the admin API over the bearer tokens of services/platform/bearer-auth.ts, and the audit
// actor a token acts as.
import type { Role } from '../../core/contracts.generated.js';
import type { TokenPrincipal } from '../../platform/bearer-auth.js';
import type { TokenRole } from '../../platform/config.js';
import type { Actor } from '../change-publisher.js';

export type Principal = TokenPrincipal;

/**
 * What a route requires. tenant-read: operator, reader, or the tenant's own admin. tenant-write: operator or the
 * tenant's own admin. operator: operators only. global-read: operators and readers (cross-tenant lists).
 * session: any admin token, about itself only (the console asks what its token may do).
 */
export type Access = 'tenant-read' | 'tenant-write' | 'operator' | 'global-read' | 'session';

/** Relay tokens pass none of the admin API's access rules, so they never act on the audit topic. */
const AUDIT_ROLES: Record<Exclude<TokenRole, 'relay'>, Role> = {
  operator: 'OPERATOR',
  reader: 'READER',
  'tenant-admin': 'TENANT_ADMIN',
};

/** The audit actor of a principal that passed `allows`. */
export function actorOf(principal: Principal): Actor {
  if (principal.tokenRole === 'relay') throw new Error('a relay token passed an admin access rule');
  return { subject: principal.subject, role: AUDIT_ROLES[principal.tokenRole] };
}

/** Whether the principal may act with this access on this tenant (null for routes that name none). */
export function allows(principal: Principal, access: Access, tenantId: string | null): boolean {
  switch (principal.tokenRole) {
    case 'operator':
      return true;
    case 'reader':
      return access === 'tenant-read' || access === 'global-read' || access === 'session';
    case 'tenant-admin':
      if (access === 'session') return true;
      return (access === 'tenant-read' || access === 'tenant-write') && tenantId === principal.tenantId;
    case 'relay':
      return false;
  }
}

/** What a refused principal should do instead, for the 403 message. */
export function refusal(principal: Principal, access: Access, tenantId: string | null): string {
  if (principal.tokenRole === 'relay') return 'a relay token may only ask for decisions (POST /v1/decisions)';
  if (principal.tokenRole === 'tenant-admin' && tenantId !== null && tenantId !== principal.tenantId) {
    return `this token manages tenant ${principal.tenantId} only, not ${tenantId}`;
  }
  if (access === 'operator') return 'only an operator token may do this';
  if (principal.tokenRole === 'reader')
    return 'a reader token may only read; use a tenant-admin or operator token';
  return 'this needs an operator or reader token';
}
