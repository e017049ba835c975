// One partition of the embedded event log, with what a broker's log cleaner does to it, so a long-running
// embedded process holds a bounded window: a topic with a retention drops its oldest records (by age and by
// count), a compacted topic keeps the latest record of each key (and every record younger than its
// compaction lag, as Kafka's min.compaction.lag.ms does). A partition's last record is never dropped (it is
// the newest, and the latest of its key). Offsets never change: what is dropped leaves a gap,
// and a reader behind the first record left goes on from it, as a Kafka consumer whose offset fell out of
// retention does (auto.offset.reset=earliest).
import type { LogRecord } from '../ports.js';

/** How a topic's records are cleaned up. */
export type CleanupPolicy =
  | { readonly kind: 'delete'; readonly maxAgeMs: number; readonly maxRecords: number }
  | { readonly kind: 'compact'; readonly minCompactionLagMs: number }
  | { readonly kind: 'keep' };

/** Superseded records a compacted partition may hold before it is compacted: amortized, never per publish. */
const MIN_SUPERSEDED_TO_COMPACT = 64;

export class PartitionLog {
  readonly #policy: CleanupPolicy;
  /** Offsets ascending, with gaps where records were dropped; live ones from #start. */
  #records: LogRecord[] = [];
  #start = 0;
  /** The offset the next record gets: the log end. */
  #end = 0;
  /** Compacted: each key's latest offset, and how many records a later one of their key superseded. */
  readonly #latest = new Map<string, number>();
  #superseded = 0;
  /** Superseded records that start the next compaction: doubles past those the compaction lag keeps. */
  #compactAt = MIN_SUPERSEDED_TO_COMPACT;

  constructor(policy: CleanupPolicy) {
    this.#policy = policy;
  }

  get end(): number {
    return this.#end;
  }

  /** The records held, oldest first. */
  get records(): readonly LogRecord[] {
    return this.#start === 0 ? this.#records : this.#records.slice(this.#start);
  }

  append(record: Omit<LogRecord, 'offset'>, now: number): void {
    const offset = this.#end++;
    this.#records.push({ ...record, offset: String(offset) });
    const policy = this.#policy;
    if (policy.kind === 'delete') this.#expire(policy.maxAgeMs, policy.maxRecords, now);
    else if (policy.kind === 'compact' && record.key !== null) {
      if (this.#latest.has(record.key)) this.#superseded++;
      this.#latest.set(record.key, offset);
      const live = this.#records.length - this.#start;
      if (this.#superseded >= this.#compactAt && this.#superseded * 2 > live)
        this.#compact(policy.minCompactionLagMs, now);
    }
  }

  /** Up to `max` records from `offset` on (or from the first one held, when that is later). */
  read(offset: number, max: number): { records: LogRecord[]; lag: number } {
    let low = this.#start;
    let high = this.#records.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (Number(this.#records[middle]!.offset) < offset) low = middle + 1;
      else high = middle;
    }
    const records = this.#records.slice(low, low + max);
    return { records, lag: this.#records.length - low - records.length };
  }

  #expire(maxAgeMs: number, maxRecords: number, now: number): void {
    const records = this.#records;
    while (
      this.#start < records.length &&
      (records.length - this.#start > maxRecords || records[this.#start]!.timestamp < now - maxAgeMs)
    ) {
      this.#start++;
    }
    // The array is copied only once half of it is gone: each record is copied at most once on average.
    if (this.#start * 2 > records.length) {
      this.#records = records.slice(this.#start);
      this.#start = 0;
    }
  }

  #compact(minCompactionLagMs: number, now: number): void {
    const latest = this.#latest;
    this.#records = this.#records.filter(
      (record) =>
        record.key === null ||
        latest.get(record.key) === Number(record.offset) ||
        record.timestamp > now - minCompactionLagMs,
    );
    this.#start = 0;
    this.#superseded = 0;
    for (const record of this.#records)
      if (record.key !== null && latest.get(record.key) !== Number(record.offset)) this.#superseded++;
    this.#compactAt = Math.max(MIN_SUPERSEDED_TO_COMPACT, this.#superseded * 2);
  }
}
