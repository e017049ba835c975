// The windows of one save call of save-window.lua packed into one argument, written field by field straight into
// one buffer that is kept from flush to flush: no string per field, no buffer per window, and one command for
// many windows. The script reads it with Redis's `struct` library (lengths are big-endian uint32). Per window:
//   its byte length (what follows, up to the next window: a refused write is skipped whole),
//   the expected version and the next one, each after its length,
//   a flag byte for `whole` (both hashes emptied first), the fingerprints' change (0 keep, 1 append, 2 replace),
//   the counts of HSET pairs and HDEL fields of the window hash, then of the tracked hash,
//   the fingerprint bytes after their length, then the HSET pairs of the window hash and of the tracked hash, the
//   HDEL fields of each, every field after its length.
// The fields are those window-encoding.ts describes, byte for byte as a template string would write them.
import type { Tracked } from '../../core/connector-windows.js';
import type { EventFingerprints } from '../../core/fingerprints.js';
import type { Bucket, MinuteCounts } from '../../core/minute-counts.js';
import { type TenantWindow, windowVersion } from '../../core/windows.js';
import type { WindowDelta } from '../ports.js';
import { encodeMeta } from './window-encoding.js';

const LENGTH_BYTES = 4;
const WORD_BYTES = 4;
const SEEN_MODES = { keep: 0, append: 1, replace: 2 } as const;
/** Bytes of a field other than its strings: its length, a prefix and separators, numbers in base 36 or 10. */
const FIELD_ROOM = LENGTH_BYTES + 48;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const DIGITS = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz', 'latin1');
const PREFIX = { bucket: 0x62, connectorBucket: 0x6d, connectorDomain: 0x6e, domain: 0x64 } as const;

/** Node's Buffer method under write(string, offset): on every Buffer, though not in its typings. */
type Utf8Writing = Buffer & { utf8Write(text: string, offset: number): number };

/** The fingerprints a save writes: the entries from `from` on, appended to what Redis holds or replacing it. */
export function fingerprintsToWrite(
  table: EventFingerprints,
  held: WindowDelta['fingerprints'] | undefined,
): { mode: keyof typeof SEEN_MODES; from: number } {
  const appends = held !== undefined && held.generation === table.generation && held.count <= table.count;
  if (!appends) return { mode: 'replace', from: 0 };
  return { mode: held.count < table.count ? 'append' : 'keep', from: held.count };
}

export class WritePacker {
  #bytes = Buffer.allocUnsafe(64 * 1024) as Utf8Writing;
  #at = 0;
  /** Where the current window's counts go, once its fields are written. */
  #counts = 0;
  #mainSets = 0;
  #mainDels = 0;
  #trackedSets = 0;
  #trackedDels = 0;

  /** Starts over: the buffer is reused, so what `take` returned before must be sent and answered by now. */
  reset(): void {
    this.#at = 0;
  }

  /** Where the next window will start: `take(start)` after some `add`s returns their argument. */
  get position(): number {
    return this.#at;
  }

  /** The argument of the windows added since `start`. A view into the buffer, valid until `reset`. */
  take(start: number): Buffer {
    return this.#bytes.subarray(start, this.#at);
  }

  /**
   * Appends a window's write: the fields that turn what Redis holds at `expectedVersion` into `window`, only
   * `changes` or (without them) the whole window.
   */
  add(expectedVersion: string, window: TenantWindow, changes: WindowDelta | undefined): void {
    const begin = this.#at;
    this.#reserve(2 * LENGTH_BYTES);
    this.#at += LENGTH_BYTES;
    this.#string(expectedVersion);
    this.#string(windowVersion(window));
    this.#reserve(2 + 4 * LENGTH_BYTES);
    this.#bytes[this.#at++] = changes === undefined ? 1 : 0;
    const seen = fingerprintsToWrite(window.seen, changes?.fingerprints);
    this.#bytes[this.#at++] = SEEN_MODES[seen.mode];
    this.#counts = this.#at;
    this.#at += 4 * LENGTH_BYTES;
    this.#mainSets = this.#mainDels = this.#trackedSets = this.#trackedDels = 0;
    this.#fingerprints(window.seen.entries(seen.from));
    this.#sets(window, changes);
    if (changes !== undefined) this.#dels(window, changes);
    const counts = this.#counts;
    this.#bytes.writeUInt32BE(this.#mainSets, counts);
    this.#bytes.writeUInt32BE(this.#mainDels, counts + LENGTH_BYTES);
    this.#bytes.writeUInt32BE(this.#trackedSets, counts + 2 * LENGTH_BYTES);
    this.#bytes.writeUInt32BE(this.#trackedDels, counts + 3 * LENGTH_BYTES);
    this.#bytes.writeUInt32BE(this.#at - begin - LENGTH_BYTES, begin);
  }

  /** The HSET pairs, window hash first (its meta, then its minutes), then the tracked hash. */
  #sets(window: TenantWindow, changes: WindowDelta | undefined): void {
    this.#string('m');
    this.#string(encodeMeta(window));
    this.#mainSets++;
    this.#mainSets += this.#buckets(window.buckets, changes?.minutes, null);
    for (const key of changes === undefined ? window.domains.keys() : changes.domains) {
      const value = window.domains.get(key);
      if (value !== undefined) this.#trackedSets += this.#tracked(PREFIX.domain, key, null, value);
    }
    const connectors = changes === undefined ? window.connectors.keys() : changes.connectors;
    for (const connectorId of connectors) {
      const connector = window.connectors.get(connectorId);
      if (connector === undefined) continue;
      this.#trackedSets += this.#buckets(connector.buckets, changes?.minutes, connectorId);
      for (const domain of changes === undefined ? connector.domains.keys() : changes.domains) {
        const value = connector.domains.get(domain);
        if (value !== undefined)
          this.#trackedSets += this.#tracked(PREFIX.connectorDomain, domain, connectorId, value);
      }
    }
  }

  /** The HDEL fields: what `changes` names that the window no longer holds. */
  #dels(window: TenantWindow, changes: WindowDelta): void {
    for (const minute of changes.minutes) {
      if (window.buckets.has(minute)) continue;
      this.#minuteField(PREFIX.bucket, minute, null);
      this.#mainDels++;
    }
    for (const key of changes.domains) {
      if (window.domains.has(key)) continue;
      this.#keyField(PREFIX.domain, key, null);
      this.#trackedDels++;
    }
    // A connector's changed minutes and domains are among the window's changed ones.
    for (const connectorId of changes.connectors) {
      const connector = window.connectors.get(connectorId);
      for (const minute of changes.minutes) {
        if (connector?.buckets.has(minute)) continue;
        this.#minuteField(PREFIX.connectorBucket, minute, connectorId);
        this.#trackedDels++;
      }
      for (const domain of changes.domains) {
        if (connector?.domains.has(domain)) continue;
        this.#keyField(PREFIX.connectorDomain, domain, connectorId);
        this.#trackedDels++;
      }
    }
  }

  /** Pairs of the ring's minutes (those of `minutes` it holds, or all): `b<minute36>` or `m<minute36>:<id>`. */
  #buckets(ring: MinuteCounts, minutes: ReadonlySet<number> | undefined, connectorId: string | null): number {
    let pairs = 0;
    if (minutes === undefined) {
      for (const [minute, bucket] of ring) {
        this.#bucket(minute, bucket, connectorId);
        pairs++;
      }
      return pairs;
    }
    for (const minute of minutes) {
      const bucket = ring.get(minute);
      if (bucket === undefined) continue;
      this.#bucket(minute, bucket, connectorId);
      pairs++;
    }
    return pairs;
  }

  /** A minute's pair: its field, and "unregistered,forwarded,total". */
  #bucket(minute: number, bucket: Bucket, connectorId: string | null): void {
    this.#minuteField(connectorId === null ? PREFIX.bucket : PREFIX.connectorBucket, minute, connectorId);
    const start = this.#open(0);
    this.#number(bucket.unregistered, 10);
    this.#bytes[this.#at++] = COMMA;
    this.#number(bucket.forwarded, 10);
    this.#bytes[this.#at++] = COMMA;
    this.#number(bucket.total, 10);
    this.#close(start);
  }

  /** A tracked key's pair: `d:<key>` or `n<key>:<id>` = "<lastSeen36>,<messages>". */
  #tracked(prefix: number, key: string, connectorId: string | null, value: Tracked): number {
    this.#keyField(prefix, key, connectorId);
    const start = this.#open(0);
    this.#number(value.lastSeen, 36);
    this.#bytes[this.#at++] = COMMA;
    this.#number(value.messages, 10);
    this.#close(start);
    return 1;
  }

  #minuteField(prefix: number, minute: number, connectorId: string | null): void {
    const start = this.#open(connectorId?.length ?? 0);
    this.#bytes[this.#at++] = prefix;
    this.#number(minute, 36);
    if (connectorId !== null) {
      this.#bytes[this.#at++] = COLON;
      this.#at += this.#bytes.utf8Write(connectorId, this.#at);
    }
    this.#close(start);
  }

  /** `d:<key>` for the tenant's domains, `n<key>:<id>` for a connector's. */
  #keyField(prefix: number, key: string, connectorId: string | null): void {
    const start = this.#open(key.length + (connectorId?.length ?? 0));
    this.#bytes[this.#at++] = prefix;
    if (connectorId === null) this.#bytes[this.#at++] = COLON;
    this.#at += this.#bytes.utf8Write(key, this.#at);
    if (connectorId !== null) {
      this.#bytes[this.#at++] = COLON;
      this.#at += this.#bytes.utf8Write(connectorId, this.#at);
    }
    this.#close(start);
  }

  #string(text: string): void {
    const start = this.#open(text.length);
    this.#at += this.#bytes.utf8Write(text, this.#at);
    this.#close(start);
  }

  #fingerprints(words: readonly number[]): void {
    this.#reserve(LENGTH_BYTES + words.length * WORD_BYTES);
    this.#bytes.writeUInt32BE(words.length * WORD_BYTES, this.#at);
    this.#at += LENGTH_BYTES;
    for (const word of words) {
      this.#bytes.writeUInt32LE(word, this.#at);
      this.#at += WORD_BYTES;
    }
  }

  /**
   * Opens a field of strings of `textLength` UTF-16 units in all (at most three bytes of UTF-8 each) and numbers:
   * room reserved, its length left to `close`. Returns where its length goes.
   */
  #open(textLength: number): number {
    this.#reserve(FIELD_ROOM + 3 * textLength);
    const start = this.#at;
    this.#at += LENGTH_BYTES;
    return start;
  }

  #close(start: number): void {
    const length = this.#at - start - LENGTH_BYTES;
    const bytes = this.#bytes;
    bytes[start] = length >>> 24;
    bytes[start + 1] = (length >>> 16) & 0xff;
    bytes[start + 2] = (length >>> 8) & 0xff;
    bytes[start + 3] = length & 0xff;
  }

  /** An integer as `toString(radix)` writes it (base 36 or 10), without the string. */
  #number(value: number, radix: number): void {
    const bytes = this.#bytes;
    if (value < 0) {
      bytes[this.#at++] = MINUS;
      value = -value;
    }
    let digits = 1;
    for (let rest = Math.floor(value / radix); rest > 0; rest = Math.floor(rest / radix)) digits++;
    let at = this.#at + digits;
    this.#at = at;
    do {
      bytes[--at] = DIGITS[value % radix]!;
      value = Math.floor(value / radix);
    } while (value > 0);
  }

  /** Room for `bytes` more: the buffer doubles (views taken before keep the old one, which holds their bytes). */
  #reserve(bytes: number): void {
    if (this.#at + bytes <= this.#bytes.length) return;
    let size = this.#bytes.length * 2;
    while (size < this.#at + bytes) size *= 2;
    const grown = Buffer.allocUnsafe(size) as Utf8Writing;
    this.#bytes.copy(grown, 0, 0, this.#at);
    this.#bytes = grown;
  }
}
