// A scorer's slice of the tenant directory: the whole records (directory.ts) of the tenants whose events reach the
// partitions the scorer is assigned, and of no other tenant. A tenant's events all land in the partition its key
// maps to (services/platform/key-partition.ts), so scoring a partition reads its own tenants' records, with one
// exception: whether another tenant verified one of their domains first, which takes the domain from them
// (domain-claims.ts). So every tenant's verified domains are held as well, compactly (domain-holders.ts), and an
// entry the slice holds counts only when no other tenant owns its domain: the same answer as the whole directory.
//
// The feed applies the records of held tenants as they come. A partition is held only once its tenants' records
// were read again from the start of the topics (services/app/slice-loader.ts applies them with `loadInto`); until
// then the scorer scores none of its events. Tenants whose events are found in a held partition that their key does
// not map to (a partition count that differs from RELAYGUARD_PARTITIONS) are loaded and held by name (`adopted`).
import type { AcceptedDomainLookup } from './classify.js';
import { type AcceptedDomain, type DirectoryEvent, TenantDirectory } from './directory.js';
import { DomainHolders, holdingOf, VERIFIED } from './domain-holders.js';
import { StringTable } from './string-table.js';
import { parseStateKey } from './topics.js';

/** What a slice holds or loads: the tenants of these partitions, and these tenants by name. */
export interface SliceTenants {
  readonly partitions: ReadonlySet<number>;
  /** Each tenant held by name, with the partition its events were found in. */
  readonly tenants: ReadonlyMap<string, number>;
}

/** Applies directory records to the tenants being loaded only (the feed's interface, MaterializedDirectory). */
export interface SliceLoading {
  /** Whether the tenant's records are being loaded: the others' need not even be decoded. */
  loads(tenantId: string): boolean;
  apply(change: DirectoryEvent): void;
  applyTombstone(kind: 'accepted-domain' | 'connector', key: string): void;
  readonly blockedCount: number;
  readonly monitorBlockedCount: number;
}

export class DirectorySlice implements AcceptedDomainLookup {
  readonly #partitionOf: (tenantId: string) => number;
  readonly #held = new Set<number>();
  readonly #adopted = new Map<string, number>();
  /** Every tenant's verified domains: who owns a domain, whoever holds it. */
  readonly #names = { tenants: new StringTable(), domains: new StringTable() };
  readonly #verified = new DomainHolders(this.#names.tenants, this.#names.domains);
  readonly #directory = new TenantDirectory({
    outranked: (entry) => this.#verified.ownedByAnother(entry.tenantId, entry.domain),
  });
  /** A load put records of tenants not held yet in the directory (until dropUnheld): they are no one's yet. */
  #unheldRecords = false;

  /** `partitionOf`: the partition a tenant's events are keyed to. */
  constructor(partitionOf: (tenantId: string) => number) {
    this.#partitionOf = partitionOf;
  }

  /** The slice holds this partition's tenants (they were loaded). */
  holdsPartition(partition: number): boolean {
    return this.#held.has(partition);
  }

  /** The slice holds this tenant: its partition's, or by name. */
  holds(tenantId: string): boolean {
    return this.#adopted.has(tenantId) || this.#held.has(this.#partitionOf(tenantId));
  }

  partitionOf(tenantId: string): number {
    return this.#partitionOf(tenantId);
  }

  apply(change: DirectoryEvent): void {
    const { tenantId } = change.event;
    if (change.kind === 'accepted-domain') {
      const { event } = change;
      const flags = holdingOf(event);
      this.#verified.set(
        tenantId,
        event.domain,
        flags & VERIFIED ? flags : 0,
        event.verification?.verifiedAt ?? 0,
      );
    }
    if (this.holds(tenantId)) this.#directory.apply(change);
  }

  applyTombstone(kind: 'accepted-domain' | 'connector', key: string): void {
    const { tenantId, object } = parseStateKey(key);
    if (kind === 'accepted-domain') this.#verified.set(tenantId, object, 0, 0);
    if (this.holds(tenantId)) this.#directory.applyTombstone(kind, key);
  }

  /**
   * Where records read again from the start of the topics go while `loading` is loaded: into the records of its
   * tenants, which are not held yet. The verified domains are not touched: the feed keeps them current.
   */
  loadInto(loading: SliceTenants): SliceLoading {
    const isLoading = (tenantId: string) =>
      loading.tenants.has(tenantId) || loading.partitions.has(this.#partitionOf(tenantId));
    const directory = this.#directory;
    this.#unheldRecords = true;
    return {
      loads: isLoading,
      apply: (change) => {
        if (isLoading(change.event.tenantId) && !this.holds(change.event.tenantId)) directory.apply(change);
      },
      applyTombstone: (kind, key) => {
        const { tenantId } = parseStateKey(key);
        if (isLoading(tenantId) && !this.holds(tenantId)) directory.applyTombstone(kind, key);
      },
      get blockedCount() {
        return directory.blockedCount;
      },
      get monitorBlockedCount() {
        return directory.monitorBlockedCount;
      },
    };
  }

  /** Their records were loaded: the feed keeps them from now on. */
  hold(loaded: SliceTenants): void {
    for (const partition of loaded.partitions) this.#held.add(partition);
    for (const [tenantId, partition] of loaded.tenants) this.#adopted.set(tenantId, partition);
  }

  /**
   * The scorer no longer owns these partitions: their tenants, and those held by name because their events were
   * found there, are dropped. Tenants of other partitions being loaded are left alone.
   */
  release(partitions: Iterable<number>): void {
    const released = new Set(partitions);
    for (const partition of released) this.#held.delete(partition);
    const byName = new Set<string>();
    for (const [tenantId, partition] of this.#adopted) if (released.has(partition)) byName.add(tenantId);
    for (const tenantId of byName) this.#adopted.delete(tenantId);
    this.#drop(({ tenantId }) => byName.has(tenantId) || released.has(this.#partitionOf(tenantId)));
  }

  /** Drops the records of tenants not held: what a load left that ended in failure or was released meanwhile. */
  dropUnheld(): void {
    this.#drop(({ tenantId }) => !this.holds(tenantId));
    this.#unheldRecords = false;
  }

  #drop(dropped: (record: { tenantId: string }) => boolean): void {
    for (const { tenantId } of [...this.#directory.tenants()].filter(dropped))
      this.#directory.forget(tenantId);
  }

  /** Tenants whose records the slice holds. */
  get size(): number {
    return this.#directory.size;
  }

  get blockedCount(): number {
    return this.#directory.blockedCount;
  }

  get monitorBlockedCount(): number {
    return this.#directory.monitorBlockedCount;
  }

  /** A tenant held; one being loaded is not known until all its records are (the scorer waits for it). */
  tenant(tenantId: string): ReturnType<TenantDirectory['tenant']> {
    const record = this.#directory.tenant(tenantId);
    return record === undefined || !this.#unheldRecords || this.holds(tenantId) ? record : undefined;
  }

  acceptedDomain(tenantId: string, domain: string): AcceptedDomain | undefined {
    return this.#directory.acceptedDomain(tenantId, domain);
  }

  isRegistered(tenantId: string, domain: string): boolean {
    return this.#directory.isRegistered(tenantId, domain);
  }

  connector(tenantId: string, connectorId: string): ReturnType<TenantDirectory['connector']> {
    return this.#directory.connector(tenantId, connectorId);
  }

  staleBlocksLast(): ReturnType<TenantDirectory['staleBlocksLast']> {
    return this.#directory.staleBlocksLast();
  }

  /** What the verified domains hold, in typed arrays (the benchmark's heap figure counts them). */
  get arenaBytes(): number {
    return this.#verified.bytes + this.#names.tenants.bytes + this.#names.domains.bytes;
  }
}
