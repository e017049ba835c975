// Which tenant a domain counts as registered to, in one hashed lookup (classification asks once per suffix of
// every sender domain): per domain, the entries that can count. Those are the verified claims, earliest
// verification first, the first owning the domain; then the entries accepted before relayguard verified domains
// (legacy), which count only while nobody has verified the domain: an upgrade must not turn every tenant's own
// mail into unregistered volume and block it. Pending entries never count and are not here.
//
// Two verified claims on one domain exist only when two tenants proved control of it (a domain that changed hands,
// or two admin replicas racing): the earliest wins wherever and in whatever order the compacted topic is replayed,
// because the winner depends on the claims only, never on arrival order. Nearly every domain has one holder, held
// as the tenant's entry itself (no array, no claim object: millions of domains).
import { type AcceptedDomain, isLegacyDomain } from './tenant-record.js';

type Holders = AcceptedDomain | readonly AcceptedDomain[];

const list = (holders: Holders | undefined): readonly AcceptedDomain[] =>
  holders === undefined ? [] : Array.isArray(holders) ? holders : [holders as AcceptedDomain];

export class DomainClaims {
  readonly #holders = new Map<string, Holders>();

  /**
   * The tenant's entry for exactly this domain when it counts as registered: verified and owned by this tenant
   * (no other tenant verified it earlier), or legacy while no tenant verified the domain.
   */
  registered(tenantId: string, domain: string): AcceptedDomain | undefined {
    const holders = this.#holders.get(domain);
    if (holders === undefined) return undefined;
    if (!Array.isArray(holders)) {
      const entry = holders as AcceptedDomain;
      return entry.tenantId === tenantId ? entry : undefined;
    }
    const first = holders[0]!;
    if (first.verification) return first.tenantId === tenantId ? first : undefined;
    return holders.find((entry) => entry.tenantId === tenantId);
  }

  /** Replaces the tenant's entry for the domain by `entry` (none when undefined). */
  change(tenantId: string, domain: string, entry: AcceptedDomain | undefined): void {
    const rest = list(this.#holders.get(domain)).filter((other) => other.tenantId !== tenantId);
    if (entry?.verification || (entry && isLegacyDomain(entry))) {
      const at = rest.findIndex((other) => holdsBefore(entry, other));
      rest.splice(at === -1 ? rest.length : at, 0, entry);
    }
    if (rest.length === 0) this.#holders.delete(domain);
    else this.#holders.set(domain, rest.length === 1 ? rest[0]! : rest);
  }

  /**
   * Another tenant's verified claim this domain would collide with: the same domain, a parent whose subdomains
   * it registered, or (when this claim takes subdomains) a verified domain below it. The downward check scans
   * every domain held, so it is for admin writes.
   */
  conflict(tenantId: string, domain: string, matchSubdomains: boolean): string | undefined {
    const other = (held: string, covering: boolean) =>
      list(this.#holders.get(held)).some(
        (entry) =>
          entry.verification !== null && entry.tenantId !== tenantId && (!covering || entry.matchSubdomains),
      );
    if (other(domain, false)) return domain;
    for (let dot = domain.indexOf('.'); dot !== -1; dot = domain.indexOf('.', dot + 1)) {
      const parent = domain.slice(dot + 1);
      if (other(parent, true)) return parent;
    }
    if (!matchSubdomains) return undefined;
    const suffix = `.${domain}`;
    for (const held of this.#holders.keys()) {
      if (held.endsWith(suffix) && other(held, false)) return held;
    }
    return undefined;
  }
}

/**
 * Verified entries first, the earlier verification owning the domain (equal times fall to the tenant id, so every
 * replica agrees); legacy ones after, by tenant id.
 */
function holdsBefore(a: AcceptedDomain, b: AcceptedDomain): boolean {
  if (a.verification && b.verification) {
    const [at, bt] = [a.verification.verifiedAt, b.verification.verifiedAt];
    if (at !== bt) return at < bt;
  } else if (a.verification || b.verification) {
    return a.verification !== null;
  }
  return a.tenantId < b.tenantId;
}
