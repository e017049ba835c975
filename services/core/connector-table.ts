// The enforcer's connectors (enforcer-index.ts) as rows of typed arrays, and their claims on sender ranges and
// certificate names in a hash multimap (claim-table.ts): ~60 B per connector instead of ~300 B of objects (the
// connector, its id strings, its decoded ranges array, a Map entry per range). A relay request asks which
// connector a client is; the answer follows the rules of connector-claims.ts, which the whole directory keeps:
// the earliest claim on an identifier owns it, whatever order the compacted topic is replayed in, and a disabled
// connector still owns its ranges and certificate.
//
// A connector's identifiers (connector-identifiers.ts) sit in a pool, its rows linked per tenant; a claim dates
// from the connector's creation unless the connector took the identifier later (identifiersSince), which few do.

import { ClaimTable } from './claim-table.js';
import { CERTIFICATE, ConnectorIdentifiers } from './connector-identifiers.js';
import type { ConnectorChanged, RelayPath } from './contracts.generated.js';
import type { SnapshotParts } from './snapshot-parts.js';
import { Growable, StringTable } from './string-table.js';

/** What an answer reads of a connector. */
export interface IndexedConnector {
  readonly connectorId: string;
  readonly relayPath: RelayPath;
  readonly enabled: boolean;
}

export interface IndexedClient {
  readonly tenantId: string;
  readonly connector: IndexedConnector;
}

const RELAY_PATHS: readonly RelayPath[] = ['ONPREM', 'FORWARDED', 'APPLICATION'];
const ENABLED = 1;
const LIVE = 2;
/** The relay path's index sits above the flag bits. */
const PATH_SHIFT = 2;

export class ConnectorTable {
  readonly #tenantNames: StringTable;
  readonly #connectorIds = new StringTable();
  readonly #identifiers = new ConnectorIdentifiers();
  /** Per row: its tenant's and connector id's numbers, flags and relay path, creation, identifiers in the pool. */
  readonly #tenant = new Growable((n) => new Int32Array(n));
  readonly #connectorId = new Growable((n) => new Int32Array(n));
  readonly #flags = new Growable((n) => new Uint8Array(n));
  readonly #createdAt = new Growable((n) => new Float64Array(n));
  readonly #identifiersAt = new Growable((n) => new Int32Array(n));
  readonly #identifierCount = new Growable((n) => new Int32Array(n));
  /** Per row, the next row of its tenant (of the free rows, for a free one) + 1; 0 ends the list. */
  readonly #next = new Growable((n) => new Int32Array(n));
  /** Per tenant number, its first row + 1. */
  readonly #firstRow = new Growable((n) => new Int32Array(n));
  #rows = 0;
  #freeRow = 0;
  /** The identifiers of every row, each row's in one run; runs of removed rows are reclaimed by `#compactPool`. */
  #poolCodes = new Growable((n) => new Uint8Array(n));
  #poolValues = new Growable((n) => new Int32Array(n));
  #poolEnd = 0;
  #poolUnused = 0;
  /** By pool position: the time of a claim taken after its connector's creation. */
  #laterSince = new Map<number, number>();
  readonly #claims = new ClaimTable();

  constructor(tenantNames: StringTable) {
    this.#tenantNames = tenantNames;
  }

  /** The connector of the event in place of the tenant's connector of the same id, if any. */
  upsert(event: ConnectorChanged): void {
    const identifiers = this.#identifiers.of(event);
    const tenant = this.#tenantNames.intern(event.tenantId);
    const connectorId = this.#connectorIds.intern(event.connectorId);
    this.#remove(tenant, connectorId);
    const row = this.#newRow();
    this.#tenant.reserve(row)[row] = tenant;
    this.#connectorId.reserve(row)[row] = connectorId;
    const path = RELAY_PATHS.indexOf(event.relayPath);
    this.#flags.reserve(row)[row] = LIVE | (event.enabled ? ENABLED : 0) | (path << PATH_SHIFT);
    this.#createdAt.reserve(row)[row] = event.createdAt;
    this.#identifiersAt.reserve(row)[row] = this.#poolEnd;
    this.#identifierCount.reserve(row)[row] = identifiers.length;
    for (const { code, value, since } of identifiers) {
      const at = this.#poolEnd++;
      this.#poolCodes.reserve(at)[at] = code;
      this.#poolValues.reserve(at)[at] = value;
      if (since !== event.createdAt) this.#laterSince.set(at, since);
      this.#claims.add(code, value, row);
      this.#identifiers.count(code, 1);
    }
    this.#next.reserve(row)[row] = this.#firstRow.reserve(tenant)[tenant]!;
    this.#firstRow.array[tenant] = row + 1;
  }

  remove(tenantId: string, connectorId: string): void {
    const tenant = this.#tenantNames.find(tenantId);
    const id = this.#connectorIds.find(connectorId);
    if (tenant !== undefined && id !== undefined) this.#remove(tenant, id);
  }

  connector(tenantId: string, connectorId: string): IndexedConnector | undefined {
    const tenant = this.#tenantNames.find(tenantId);
    const id = this.#connectorIds.find(connectorId);
    if (tenant === undefined || id === undefined) return undefined;
    const { row } = this.#rowOf(tenant, id);
    return row === -1 ? undefined : this.#client(row).connector;
  }

  /**
   * The connector that identifies a client at this address: the tenant of the earliest claim on a range
   * containing the address owns the address, and its most specific enabled connector there identifies it (as
   * `ConnectorClaims.byAddress`).
   */
  byAddress(addressBytes: readonly number[]): IndexedClient | undefined {
    const covering: { code: number; value: number; rows: number[] }[] = [];
    let owner: { row: number; since: number } | undefined;
    for (const { code, value } of this.#identifiers.covering(addressBytes)) {
      const rows = this.#claims.claimants(code, value);
      if (rows.length === 0) continue;
      covering.push({ code, value, rows });
      const earliest = this.#earliest(rows, code, value);
      if (!owner || this.#claimsBefore(earliest, owner)) owner = earliest;
    }
    if (!owner) return undefined;
    const tenant = this.#tenant.array[owner.row]!;
    for (const { code, value, rows } of covering) {
      const own = rows.filter((row) => this.#tenant.array[row] === tenant);
      if (own.length === 0) continue;
      const { row } = this.#earliest(own, code, value);
      if (this.#flags.array[row]! & ENABLED) return this.#client(row);
    }
    return undefined;
  }

  /** The connector of the earliest claim on a (normalized) certificate name, when it is enabled. */
  byCertificate(certificate: string): IndexedClient | undefined {
    const value = this.#identifiers.certificate(certificate);
    if (value === undefined) return undefined;
    const rows = this.#claims.claimants(CERTIFICATE, value);
    if (rows.length === 0) return undefined;
    const { row } = this.#earliest(rows, CERTIFICATE, value);
    return this.#flags.array[row]! & ENABLED ? this.#client(row) : undefined;
  }

  /** Bytes held in typed arrays. */
  get bytes(): number {
    const rows = this.#growables().reduce((sum, [, growable]) => sum + growable.bytes, 0);
    return rows + this.#connectorIds.bytes + this.#claims.bytes + this.#identifiers.bytes;
  }

  /** Gives back the arrays' unused room (enforcer-index.ts `trim`). */
  trim(): void {
    for (const [, growable] of this.#growables()) growable.trim();
    this.#connectorIds.trim();
    this.#identifiers.trim();
  }

  saveTo(parts: SnapshotParts, name: string): void {
    this.#connectorIds.saveTo(parts, `${name}.connectorIds`);
    for (const [field, growable] of this.#growables()) growable.saveTo(parts, `${name}.${field}`);
    this.#claims.saveTo(parts, `${name}.claims`);
    this.#identifiers.saveTo(parts, `${name}.identifiers`);
    parts.values.set(name, {
      rows: this.#rows,
      freeRow: this.#freeRow,
      poolEnd: this.#poolEnd,
      poolUnused: this.#poolUnused,
      laterSince: [...this.#laterSince],
    });
  }

  /** Into an empty table whose tenant names were loaded first. */
  loadFrom(parts: SnapshotParts, name: string): void {
    this.#connectorIds.loadFrom(parts, `${name}.connectorIds`);
    for (const [field, growable] of this.#growables()) growable.loadFrom(parts, `${name}.${field}`);
    this.#claims.loadFrom(parts, `${name}.claims`);
    this.#identifiers.loadFrom(parts, `${name}.identifiers`);
    const saved = parts.value<{
      rows: number;
      freeRow: number;
      poolEnd: number;
      poolUnused: number;
      laterSince: [number, number][];
    }>(name);
    this.#rows = saved.rows;
    this.#freeRow = saved.freeRow;
    this.#poolEnd = saved.poolEnd;
    this.#poolUnused = saved.poolUnused;
    this.#laterSince = new Map(saved.laterSince);
  }

  #growables(): [string, Growable<Uint8Array | Int32Array | Float64Array>][] {
    return [
      ['tenant', this.#tenant],
      ['connectorId', this.#connectorId],
      ['flags', this.#flags],
      ['createdAt', this.#createdAt],
      ['identifiersAt', this.#identifiersAt],
      ['identifierCount', this.#identifierCount],
      ['next', this.#next],
      ['firstRow', this.#firstRow],
      ['poolCodes', this.#poolCodes],
      ['poolValues', this.#poolValues],
    ];
  }

  /** The tenant's row of this connector id (-1: none), and the row before it in the tenant's list (-1: first). */
  #rowOf(tenant: number, connectorId: number): { row: number; previous: number } {
    let previous = -1;
    let row = (this.#firstRow.array[tenant] ?? 0) - 1;
    while (row !== -1 && this.#connectorId.array[row] !== connectorId) {
      previous = row;
      row = this.#next.array[row]! - 1;
    }
    return { row, previous };
  }

  #remove(tenant: number, connectorId: number): void {
    const { row, previous } = this.#rowOf(tenant, connectorId);
    if (row === -1) return;
    if (previous === -1) this.#firstRow.array[tenant] = this.#next.array[row]!;
    else this.#next.array[previous] = this.#next.array[row]!;
    const [from, count] = [this.#identifiersAt.array[row]!, this.#identifierCount.array[row]!];
    for (let at = from; at < from + count; at++) {
      this.#claims.remove(this.#poolCodes.array[at]!, this.#poolValues.array[at]!, row);
      this.#identifiers.count(this.#poolCodes.array[at]!, -1);
      this.#laterSince.delete(at);
    }
    this.#flags.array[row] = 0;
    this.#next.array[row] = this.#freeRow;
    this.#freeRow = row + 1;
    this.#poolUnused += count;
    if (this.#poolUnused > 4096 && this.#poolUnused * 2 > this.#poolEnd) this.#compactPool();
  }

  #newRow(): number {
    if (this.#freeRow === 0) return this.#rows++;
    const row = this.#freeRow - 1;
    this.#freeRow = this.#next.array[row]!;
    return row;
  }

  /** Copies the runs of the live rows into a new pool, dropping those of removed rows. */
  #compactPool(): void {
    const [codes, values, laterSince] = [this.#poolCodes.array, this.#poolValues.array, this.#laterSince];
    const live = this.#poolEnd - this.#poolUnused;
    this.#poolCodes = new Growable((n) => new Uint8Array(n), Math.max(1024, live));
    this.#poolValues = new Growable((n) => new Int32Array(n), Math.max(1024, live));
    this.#laterSince = new Map();
    let end = 0;
    for (let row = 0; row < this.#rows; row++) {
      if (!(this.#flags.array[row]! & LIVE)) continue;
      const from = this.#identifiersAt.array[row]!;
      this.#identifiersAt.array[row] = end;
      for (let at = from; at < from + this.#identifierCount.array[row]!; at++, end++) {
        this.#poolCodes.reserve(end)[end] = codes[at]!;
        this.#poolValues.reserve(end)[end] = values[at]!;
        const since = laterSince.get(at);
        if (since !== undefined) this.#laterSince.set(end, since);
      }
    }
    this.#poolEnd = end;
    this.#poolUnused = 0;
  }

  /** The time of the row's claim on the identifier: its creation, unless it took the identifier later. */
  #since(row: number, code: number, value: number): number {
    const from = this.#identifiersAt.array[row]!;
    if (this.#laterSince.size > 0) {
      for (let at = from; at < from + this.#identifierCount.array[row]!; at++) {
        if (this.#poolCodes.array[at] === code && this.#poolValues.array[at] === value) {
          const since = this.#laterSince.get(at);
          if (since !== undefined) return since;
        }
      }
    }
    return this.#createdAt.array[row]!;
  }

  #earliest(rows: readonly number[], code: number, value: number): { row: number; since: number } {
    let earliest = { row: rows[0]!, since: this.#since(rows[0]!, code, value) };
    for (const row of rows.slice(1)) {
      const claim = { row, since: this.#since(row, code, value) };
      if (this.#claimsBefore(claim, earliest)) earliest = claim;
    }
    return earliest;
  }

  /** The earlier claim owns an identifier; equal times fall to the tenant and connector ids, as every replica does. */
  #claimsBefore(a: { row: number; since: number }, b: { row: number; since: number }): boolean {
    if (a.since !== b.since) return a.since < b.since;
    const [ta, tb] = [this.#tenant.array[a.row]!, this.#tenant.array[b.row]!];
    if (ta !== tb) return this.#tenantNames.text(ta) < this.#tenantNames.text(tb);
    const [ca, cb] = [this.#connectorId.array[a.row]!, this.#connectorId.array[b.row]!];
    return this.#connectorIds.text(ca) < this.#connectorIds.text(cb);
  }

  #client(row: number): IndexedClient {
    const flags = this.#flags.array[row]!;
    return {
      tenantId: this.#tenantNames.text(this.#tenant.array[row]!),
      connector: {
        connectorId: this.#connectorIds.text(this.#connectorId.array[row]!),
        relayPath: RELAY_PATHS[flags >> PATH_SHIFT]!,
        enabled: (flags & ENABLED) !== 0,
      },
    };
  }
}
