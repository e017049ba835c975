// Which connector owns each sender range and certificate name: every connector's claims, enabled or not (a
// disabled connector still owns its ranges and certificate), per identifier, earliest first. Two claims on one
// identifier, or on nested ranges of two tenants, exist only when two admin replicas accepted them concurrently:
// the earliest claim wins wherever and in whatever order the compacted topic is replayed, because the winner
// depends on the claims only, never on arrival order.
//
// The whole directory holds a claim per connector of every tenant, so the common case costs nothing beyond the
// index entry: one claimant is held alone (no array), and a claim dating from its connector's creation is the
// connector itself (no claim object); only a later claim carries its own time. An enforcer alone keeps the same
// rules over rows of typed arrays (connector-table.ts).

import { type IpRange, IpRangeIndex, parseIpRange } from './ip-ranges.js';
import type { Connector } from './tenant-record.js';

/** What a claim reads of a connector. */
export type ClaimingConnector = Pick<
  Connector,
  | 'tenantId'
  | 'connectorId'
  | 'enabled'
  | 'createdAt'
  | 'identifiersSince'
  | 'senderIpRanges'
  | 'tlsCertificateDomain'
>;

/** A connector's claim on an identifier it took after it was created (`identifiersSince`). */
interface LaterClaim<C> {
  readonly connector: C;
  readonly since: number;
}

type Claim<C> = C | LaterClaim<C>;
/** One claimant alone, or several, earliest first. */
type Claims<C> = Claim<C> | readonly Claim<C>[];

/** Why an identifier cannot be claimed: which connector's claim is in the way, and on what. */
export interface ClaimConflict<C extends ClaimingConnector = Connector> {
  readonly identifier: string;
  readonly claimedBy: C;
}

const connectorOf = <C extends ClaimingConnector>(claim: Claim<C>): C =>
  'since' in claim ? (claim as LaterClaim<C>).connector : (claim as C);
const sinceOf = <C extends ClaimingConnector>(claim: Claim<C>): number =>
  'since' in claim ? (claim as LaterClaim<C>).since : (claim as C).createdAt;
const list = <C>(claims: Claims<C> | undefined): readonly Claim<C>[] =>
  claims === undefined ? [] : Array.isArray(claims) ? claims : [claims as Claim<C>];
const first = <C>(claims: Claims<C>): Claim<C> => (Array.isArray(claims) ? claims[0]! : (claims as Claim<C>));

export class ConnectorClaims<C extends ClaimingConnector = Connector> {
  readonly #ranges = new IpRangeIndex<Claims<C>>();
  readonly #certificates = new Map<string, Claims<C>>();

  add(connector: C): void {
    for (const cidr of connector.senderIpRanges) {
      const range = parseIpRange(cidr);
      this.#ranges.set(range, withClaim(this.#ranges.get(range), claimOf(connector, cidr)));
    }
    const certificate = connector.tlsCertificateDomain;
    if (certificate) {
      const claim = claimOf(connector, certificate);
      this.#certificates.set(certificate, withClaim(this.#certificates.get(certificate), claim));
    }
  }

  remove(connector: C): void {
    for (const cidr of connector.senderIpRanges) {
      const range = parseIpRange(cidr);
      const rest = withoutClaim(this.#ranges.get(range), connector);
      if (rest) this.#ranges.set(range, rest);
      else this.#ranges.delete(range);
    }
    const certificate = connector.tlsCertificateDomain;
    if (certificate) {
      const rest = withoutClaim(this.#certificates.get(certificate), connector);
      if (rest) this.#certificates.set(certificate, rest);
      else this.#certificates.delete(certificate);
    }
  }

  /**
   * The connector that identifies a client at this address: the tenant of the earliest claim on a range
   * containing the address owns the address, and its most specific enabled connector there identifies it. A
   * later claim of another tenant inside or around that range (a race between admin replicas) identifies nothing.
   */
  byAddress(addressBytes: readonly number[]): C | undefined {
    const covering = this.#ranges.covering(addressBytes);
    let owner: Claim<C> | undefined;
    for (const claims of covering) {
      const earliest = first(claims);
      if (!owner || claimsBefore(earliest, owner)) owner = earliest;
    }
    if (!owner) return undefined;
    const { tenantId } = connectorOf(owner);
    for (const claims of covering) {
      const own = list(claims).find((claim) => connectorOf(claim).tenantId === tenantId);
      if (own && connectorOf(own).enabled) return connectorOf(own);
    }
    return undefined;
  }

  /** The connector of the earliest claim on a (normalized) certificate name, when it is enabled. */
  byCertificate(certificate: string): C | undefined {
    const claims = this.#certificates.get(certificate);
    const owner = claims === undefined ? undefined : connectorOf(first(claims));
    return owner?.enabled ? owner : undefined;
  }

  /**
   * The claims of other connectors that a connector claiming these identifiers would collide with: a range the
   * same as another connector's, or inside or around another tenant's (enabled or not), a certificate domain
   * another connector names. Scans, so it is for admin writes, not relay lookups.
   */
  conflicts(
    tenantId: string,
    connectorId: string,
    ranges: readonly IpRange[],
    certificate: string | null,
  ): ClaimConflict<C>[] {
    const isOther = (connector: C) =>
      connector.tenantId !== tenantId || connector.connectorId !== connectorId;
    const conflicts: ClaimConflict<C>[] = [];
    for (const range of ranges) {
      for (const claims of this.#ranges.overlapping(range)) {
        // A tenant may nest its own ranges (a server's /32 on its own connector inside the site's /24).
        const other = list(claims)
          .map(connectorOf)
          .find(
            (connector) =>
              isOther(connector) &&
              (connector.tenantId !== tenantId || connector.senderIpRanges.includes(range.cidr)),
          );
        if (other) conflicts.push({ identifier: range.cidr, claimedBy: other });
      }
    }
    if (certificate !== null) {
      const other = list(this.#certificates.get(certificate)).map(connectorOf).find(isOther);
      if (other) conflicts.push({ identifier: certificate, claimedBy: other });
    }
    return conflicts;
  }
}

function claimOf<C extends ClaimingConnector>(connector: C, identifier: string): Claim<C> {
  const since = connector.identifiersSince[identifier];
  return since === undefined || since === connector.createdAt ? connector : { connector, since };
}

/** The earlier claim owns an identifier; equal times fall to the tenant and connector ids, so every replica agrees. */
function claimsBefore<C extends ClaimingConnector>(a: Claim<C>, b: Claim<C>): boolean {
  const [sa, sb] = [sinceOf(a), sinceOf(b)];
  if (sa !== sb) return sa < sb;
  const { tenantId: ta, connectorId: ca } = connectorOf(a);
  const { tenantId: tb, connectorId: cb } = connectorOf(b);
  return ta !== tb ? ta < tb : ca < cb;
}

/** The claims with this one in its place, earliest first; the connector's earlier claim, if any, replaced. */
function withClaim<C extends ClaimingConnector>(claims: Claims<C> | undefined, claim: Claim<C>): Claims<C> {
  const others = list(claims).filter((other) => !sameConnector(connectorOf(other), connectorOf(claim)));
  if (others.length === 0) return claim;
  const at = others.findIndex((other) => claimsBefore(claim, other));
  return at === -1 ? [...others, claim] : others.toSpliced(at, 0, claim);
}

/** The claims without this connector's; undefined when none is left. */
function withoutClaim<C extends ClaimingConnector>(
  claims: Claims<C> | undefined,
  connector: C,
): Claims<C> | undefined {
  const rest = list(claims).filter((claim) => !sameConnector(connectorOf(claim), connector));
  return rest.length === 0 ? undefined : rest.length === 1 ? rest[0] : rest;
}

function sameConnector(a: ClaimingConnector, b: ClaimingConnector): boolean {
  return a.tenantId === b.tenantId && a.connectorId === b.connectorId;
}
