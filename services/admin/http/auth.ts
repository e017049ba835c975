// Bearer tokens (RFC 6750) and the role rules of the admin API. Tokens are compared as SHA-256 digests with
// crypto.timingSafeEqual against every configured token, so neither the answer time nor an early exit tells an
// attacker how much of a guess was right or which token it was close to. Only a subject derived from the digest
// (`operator#1a2b3c`) ever reaches the audit topic or the logs.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Role } from '../../core/contracts.generated.js';
import type { ApiToken, TokenRole } from '../../platform/config.js';
import type { Actor } from '../admin-service.js';

export interface Principal extends Actor {
  readonly tokenRole: TokenRole;
  /** The tenant a tenant-admin manages; null for operators and readers. */
  readonly tenantId: string | null;
}

/**
 * What a route requires. tenant-read: operator, reader, or the tenant's own admin. tenant-write: operator or the
 * tenant's own admin. operator: operators only. global-read: operators and readers (cross-tenant lists).
 */
export type Access = 'tenant-read' | 'tenant-write' | 'operator' | 'global-read';

const AUDIT_ROLES: Record<TokenRole, Role> = {
  operator: 'OPERATOR',
  reader: 'READER',
  'tenant-admin': 'TENANT_ADMIN',
};

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The subject the audit topic and logs name a token by: its role and the first 6 hex digits of its digest. */
export function tokenSubject(token: Pick<ApiToken, 'token' | 'role' | 'tenantId'>): string {
  const role = token.role === 'tenant-admin' ? `tenant-admin:${token.tenantId}` : token.role;
  return `${role}#${digest(token.token).toString('hex').slice(0, 6)}`;
}

export class TokenVerifier {
  readonly #entries: { readonly digest: Buffer; readonly principal: Principal }[];

  constructor(tokens: readonly ApiToken[]) {
    this.#entries = tokens.map((token) => ({
      digest: digest(token.token),
      principal: {
        subject: tokenSubject(token),
        role: AUDIT_ROLES[token.role],
        tokenRole: token.role,
        tenantId: token.tenantId,
      },
    }));
  }

  get size(): number {
    return this.#entries.length;
  }

  /** The principal of an `Authorization: Bearer <token>` header, or null for a missing or unknown token. */
  verify(authorization: string | undefined): Principal | null {
    const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    if (!match) return null;
    const presented = digest(match[1]!);
    let found: Principal | null = null;
    // No early exit: every comparison runs whatever matched.
    for (const entry of this.#entries) {
      if (timingSafeEqual(entry.digest, presented)) found = entry.principal;
    }
    return found;
  }
}

/** Whether the principal may act with this access on this tenant (null for routes that name none). */
export function allows(principal: Principal, access: Access, tenantId: string | null): boolean {
  switch (principal.tokenRole) {
    case 'operator':
      return true;
    case 'reader':
      return access === 'tenant-read' || access === 'global-read';
    case 'tenant-admin':
      return (access === 'tenant-read' || access === 'tenant-write') && tenantId === principal.tenantId;
  }
}

/** What a refused principal should do instead, for the 403 message. */
export function refusal(principal: Principal, access: Access, tenantId: string | null): string {
  if (principal.tokenRole === 'tenant-admin' && tenantId !== null && tenantId !== principal.tenantId) {
    return `this token manages tenant ${principal.tenantId} only, not ${tenantId}`;
  }
  if (access === 'operator') return 'only an operator token may do this';
  if (principal.tokenRole === 'reader')
    return 'a reader token may only read; use a tenant-admin or operator token';
  return 'this needs an operator or reader token';
}
