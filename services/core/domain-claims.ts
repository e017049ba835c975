// Which tenant owns each domain: the verified claims of every tenant on it, earliest verification first; the first
// owns the domain. Two verified claims on one domain exist only when two tenants proved control of it (a domain
// that changed hands, or two admin replicas racing): the earliest wins wherever and in whatever order the compacted
// topic is replayed, because the winner depends on the claims only, never on arrival order.
//
// Nearly every domain has one claimant, held as its tenant id alone (no array, no claim object: millions of
// domains); its verification time is then read from the tenant's entry.
import type { AcceptedDomain } from './tenant-record.js';

/** A tenant's verified claim on a domain. */
interface DomainClaim {
  readonly tenantId: string;
  readonly verifiedAt: number;
}

/** The tenant's entry for this domain, pending or verified (kept by the directory's tenant records). */
export type DomainEntryOf = (tenantId: string, domain: string) => AcceptedDomain | undefined;

export class DomainClaims {
  readonly #claims = new Map<string, string | DomainClaim[]>();
  readonly #entryOf: DomainEntryOf;

  constructor(entryOf: DomainEntryOf) {
    this.#entryOf = entryOf;
  }

  /** The tenant of the earliest verified claim on exactly this domain. */
  owner(domain: string): string | undefined {
    const claims = this.#claims.get(domain);
    return typeof claims === 'string' ? claims : claims?.[0]?.tenantId;
  }

  /**
   * Replaces the tenant's claim on the domain by one verified at `verifiedAt` (none when null). `updateEntry`
   * changes the tenant's entry: it runs after the claims of the others are read, which may read the entry.
   */
  change(tenantId: string, domain: string, verifiedAt: number | null, updateEntry: () => void): void {
    const rest = this.#claimants(domain).filter((claim) => claim.tenantId !== tenantId);
    updateEntry();
    if (verifiedAt !== null) {
      const claim = { tenantId, verifiedAt };
      const at = rest.findIndex((other) => verifiedBefore(claim, other));
      rest.splice(at === -1 ? rest.length : at, 0, claim);
    }
    if (rest.length === 0) this.#claims.delete(domain);
    else this.#claims.set(domain, rest.length === 1 ? rest[0]!.tenantId : rest);
  }

  /**
   * Another tenant's verified claim this domain would collide with: the same domain, a parent whose subdomains
   * it registered, or (when this claim takes subdomains) a verified domain below it. The downward check scans
   * every verified domain, so it is for admin writes.
   */
  conflict(tenantId: string, domain: string, matchSubdomains: boolean): string | undefined {
    const isOther = (claims: readonly DomainClaim[] | undefined) =>
      claims?.some((claim) => claim.tenantId !== tenantId) ?? false;
    if (isOther(this.#claimants(domain))) return domain;
    for (let dot = domain.indexOf('.'); dot !== -1; dot = domain.indexOf('.', dot + 1)) {
      const parent = domain.slice(dot + 1);
      const claims = this.#claimants(parent);
      const covering = claims?.some(
        (claim) => claim.tenantId !== tenantId && this.#entryOf(claim.tenantId, parent)?.matchSubdomains,
      );
      if (covering) return parent;
    }
    if (!matchSubdomains) return undefined;
    const suffix = `.${domain}`;
    for (const claimed of this.#claims.keys()) {
      if (claimed.endsWith(suffix) && isOther(this.#claimants(claimed))) return claimed;
    }
    return undefined;
  }

  /** The verified claims on exactly this domain, earliest first (a fresh array). */
  #claimants(domain: string): DomainClaim[] {
    const claims = this.#claims.get(domain);
    if (claims === undefined) return [];
    if (typeof claims !== 'string') return [...claims];
    const verifiedAt = this.#entryOf(claims, domain)!.verification!.verifiedAt;
    return [{ tenantId: claims, verifiedAt }];
  }
}

/** The earlier verification owns a domain; equal times fall to the tenant id, so every replica agrees. */
function verifiedBefore(a: DomainClaim, b: DomainClaim): boolean {
  return a.verifiedAt !== b.verifiedAt ? a.verifiedAt < b.verifiedAt : a.tenantId < b.tenantId;
}
