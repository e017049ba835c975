// A bounded on-disk FIFO of records: the enforcer answers END-OF-MESSAGE once the event is here, durable, and a
// drainer hands the records to the event log in batches. A relay's SMTP session then never waits on the broker
// (a leader election, an outage), and a crash loses nothing that was answered.
//
// Layout (spool-files.ts): numbered segment files of checksummed frames and an `ack` file naming the first record
// not yet delivered. Appends are group-committed: the records that arrive while one write + fdatasync is in flight
// go together in the next one, so many concurrent sessions share one fsync. Recovery truncates a torn last frame (a crash mid-write: that record's append never
// resolved, so no relay was answered for it). The ack file is written after each delivered batch but not
// fsynced: a crash can lose the last acks, and those records are delivered again (at least once; the consumers
// de-duplicate by event id). Segments wholly delivered are deleted; the spool refuses appends beyond maxBytes.
import { type FileHandle, mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../platform/ports.js';
import {
  decodeFrame,
  encodeFrame,
  HEADER_BYTES,
  LOCK_FILE,
  lock,
  readAck,
  type SpooledRecord,
  segmentPath,
  segmentSeqs,
  syncDirectory,
  writeAck,
} from './spool-files.js';

export type { SpooledRecord } from './spool-files.js';

const DEFAULT_SEGMENT_BYTES = 8 << 20;
const READ_CHUNK_BYTES = 1 << 20;
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;
const CLOSE_GRACE_MS = 2_000;

export interface EventSpoolOptions {
  readonly directory: string;
  /** Bytes on disk not yet delivered, at most; an append beyond it is refused (`full`). */
  readonly maxBytes: number;
  /** Hands one batch, in spool order, to its destination; a rejection retries the same batch after a back-off. */
  readonly deliver: (records: readonly SpooledRecord[]) => Promise<void>;
  readonly clock: Clock;
  /** Records per delivery at most. */
  readonly maxBatch?: number;
  readonly segmentBytes?: number;
  readonly onDeliveryError?: (error: unknown, records: number) => void;
}

export interface SpoolDepth {
  readonly events: number;
  readonly bytes: number;
  /** spooledAt of the oldest record not yet delivered; undefined when there is none. */
  readonly oldestSpooledAt: number | undefined;
}

export interface RecoveryReport {
  readonly events: number;
  /** Bytes cut from the end of a segment: a torn write, or a corrupt frame and what followed it. */
  readonly truncatedBytes: number;
}

interface Segment {
  readonly seq: number;
  /** Bytes of whole frames in the file. */
  size: number;
  /** Records in the file, delivered or not. */
  records: number;
  /** Of those, the firsts ones delivered, and the byte offset after them. */
  delivered: number;
  deliveredBytes: number;
}

interface PendingAppend {
  readonly frame: Buffer;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class EventSpool {
  readonly #options: EventSpoolOptions;
  readonly #segmentBytes: number;
  readonly #maxBatch: number;
  readonly #segments: Segment[] = [];
  #writer: FileHandle | undefined;
  #pending: PendingAppend[] = [];
  #pendingBytes = 0;
  #committing = false;
  #oldestSpooledAt: number | undefined;
  #failed: Error | undefined;
  #draining: Promise<void> | undefined;
  /** Ends the drainer's wait for appends. */
  #wake: (() => void) | undefined;
  /** Ends the drainer's back-off after a failed delivery (close only). */
  #endBackoff: (() => void) | undefined;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;

  private constructor(options: EventSpoolOptions) {
    this.#options = options;
    this.#segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.#maxBatch = options.maxBatch ?? 500;
  }

  /** Opens (creating it if need be) and recovers the directory, then starts delivering what it holds. */
  static async open(options: EventSpoolOptions): Promise<{ spool: EventSpool; recovered: RecoveryReport }> {
    const spool = new EventSpool(options);
    const recovered = await spool.#recover();
    spool.#draining = spool.#drainLoop();
    return { spool, recovered };
  }

  depth(): SpoolDepth {
    let events = 0;
    let bytes = 0;
    for (const segment of this.#segments) {
      events += segment.records - segment.delivered;
      bytes += segment.size - segment.deliveredBytes;
    }
    return { events, bytes, oldestSpooledAt: events > 0 ? this.#oldestSpooledAt : undefined };
  }

  /**
   * Resolves once the record is durable on disk. Returns false at once, without writing, when the spool holds
   * maxBytes already: the caller decides what the relay is told. Rejects when the disk write fails.
   */
  append(payload: Buffer): Promise<void> | false {
    if (this.#closed) return Promise.reject(new Error('the event spool is closed'));
    if (this.#failed) return Promise.reject(this.#failed);
    const frame = encodeFrame(payload, this.#options.clock.now());
    if (this.depth().bytes + this.#pendingBytes + frame.length > this.#options.maxBytes) return false;
    this.#pendingBytes += frame.length;
    const done = new Promise<void>((resolve, reject) => this.#pending.push({ frame, resolve, reject }));
    if (!this.#committing) void this.#commit();
    return done;
  }

  /**
   * Stops taking appends and lets the ones in hand commit; the delivery in hand gets a grace period (the event
   * log may be the reason the spool is needed). What is left is delivered after the next open.
   */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#committing) await new Promise((resolve) => setImmediate(resolve));
    clearTimeout(this.#retryTimer);
    this.#wake?.();
    this.#endBackoff?.();
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#draining,
      new Promise((resolve) => {
        grace = setTimeout(resolve, CLOSE_GRACE_MS);
      }),
    ]);
    clearTimeout(grace);
    await this.#writer?.close();
    await rm(join(this.#options.directory, LOCK_FILE), { force: true });
  }

  /** One write and one fdatasync for every append that arrived while the previous commit was in flight. */
  async #commit(): Promise<void> {
    this.#committing = true;
    try {
      while (this.#pending.length > 0 && !this.#failed) {
        const group = this.#pending;
        this.#pending = [];
        const bytes = group.reduce((sum, append) => sum + append.frame.length, 0);
        try {
          const segment = await this.#activeSegment();
          await this.#write(
            segment,
            group.map((append) => append.frame),
          );
          this.#pendingBytes -= bytes;
          this.#oldestSpooledAt ??= group[0]!.frame.readDoubleBE(8);
          segment.size += bytes;
          segment.records += group.length;
          for (const append of group) append.resolve();
          this.#wake?.();
        } catch (error) {
          this.#pendingBytes -= bytes;
          for (const append of group) append.reject(error);
        }
      }
    } finally {
      this.#committing = false;
    }
  }

  /** A failed write may leave part of a frame: it is cut off, or nothing more is written (recovery would stop). */
  async #write(segment: Segment, frames: Buffer[]): Promise<void> {
    const writer = this.#writer!;
    try {
      await writer.writev(frames, segment.size);
      await writer.datasync();
    } catch (error) {
      try {
        await writer.truncate(segment.size);
      } catch (truncateError) {
        this.#failed = new Error(`the event spool cannot write: ${(truncateError as Error).message}`);
      }
      throw error;
    }
  }

  async #activeSegment(): Promise<Segment> {
    const last = this.#segments.at(-1);
    if (last && this.#writer && last.size < this.#segmentBytes) return last;
    await this.#writer?.close();
    this.#writer = undefined;
    const segment: Segment = {
      seq: (last?.seq ?? 0) + 1,
      size: 0,
      records: 0,
      delivered: 0,
      deliveredBytes: 0,
    };
    this.#writer = await open(this.#path(segment.seq), 'a+');
    await syncDirectory(this.#options.directory);
    this.#segments.push(segment);
    return segment;
  }

  async #drainLoop(): Promise<void> {
    let retryMs = FIRST_RETRY_MS;
    while (!this.#closed) {
      const head = this.#segments.find((segment) => segment.delivered < segment.records);
      if (!head) {
        await this.#deleteDelivered().catch((error: unknown) => this.#options.onDeliveryError?.(error, 0));
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      let records: SpooledRecord[] = [];
      try {
        const batch = await this.#read(head);
        records = batch.records;
        this.#oldestSpooledAt = records[0]?.spooledAt;
        await this.#options.deliver(records);
        retryMs = FIRST_RETRY_MS;
        head.delivered += records.length;
        head.deliveredBytes += batch.bytes;
      } catch (error) {
        // The event log is away (or the disk failed a read): the same batch again after a back-off that
        // appends do not cut short, or every commit would retry at once.
        this.#options.onDeliveryError?.(error, records.length);
        await new Promise<void>((resolve) => {
          this.#endBackoff = resolve;
          this.#retryTimer = setTimeout(resolve, retryMs);
        });
        this.#endBackoff = undefined;
        retryMs = Math.min(MAX_RETRY_MS, retryMs * 2);
        continue;
      }
      // The next read names the new oldest; an append meanwhile names one no older than it.
      this.#oldestSpooledAt = undefined;
      // A lost acknowledgement only delivers its batch again after a restart (at least once).
      await writeAck(this.#options.directory, { segment: head.seq, offset: head.deliveredBytes }).catch(
        (error: unknown) => this.#options.onDeliveryError?.(error, 0),
      );
      if (head.delivered === head.records)
        await this.#deleteDelivered().catch((error: unknown) => this.#options.onDeliveryError?.(error, 0));
    }
  }

  /** The next batch of the segment, from its first undelivered record. */
  async #read(segment: Segment): Promise<{ records: SpooledRecord[]; bytes: number }> {
    const end = Math.min(segment.size, segment.deliveredBytes + READ_CHUNK_BYTES);
    const handle = await open(this.#path(segment.seq), 'r');
    try {
      let buffer = Buffer.alloc(end - segment.deliveredBytes);
      await handle.read(buffer, 0, buffer.length, segment.deliveredBytes);
      const first = buffer.readUInt32BE(0) + HEADER_BYTES;
      if (first > buffer.length) {
        // One record larger than a read chunk.
        buffer = Buffer.alloc(first);
        await handle.read(buffer, 0, first, segment.deliveredBytes);
      }
      const records: SpooledRecord[] = [];
      let offset = 0;
      const undelivered = segment.records - segment.delivered;
      while (records.length < Math.min(this.#maxBatch, undelivered)) {
        const frame = decodeFrame(buffer, offset);
        if (!frame) break;
        records.push(frame.record);
        offset = frame.next;
      }
      return { records, bytes: offset };
    } finally {
      await handle.close();
    }
  }

  /** Every wholly delivered segment but the one being written goes. */
  async #deleteDelivered(): Promise<void> {
    while (this.#segments.length > 1 && this.#segments[0]!.delivered === this.#segments[0]!.records) {
      const [done] = this.#segments.splice(0, 1);
      await rm(this.#path(done!.seq), { force: true });
    }
  }

  async #recover(): Promise<RecoveryReport> {
    const { directory } = this.#options;
    await mkdir(directory, { recursive: true });
    await lock(directory);
    const ack = await readAck(directory);
    const seqs = await segmentSeqs(directory);
    let events = 0;
    let truncatedBytes = 0;
    for (const seq of seqs) {
      if (ack && seq < ack.segment) {
        await rm(this.#path(seq), { force: true });
        continue;
      }
      const bytes = await readFile(this.#path(seq));
      const segment: Segment = { seq, size: 0, records: 0, delivered: 0, deliveredBytes: 0 };
      for (let frame = decodeFrame(bytes, 0); frame; frame = decodeFrame(bytes, segment.size)) {
        if (ack?.segment === seq && segment.size < ack.offset) {
          segment.delivered++;
          segment.deliveredBytes = frame.next;
        } else {
          events++;
          this.#oldestSpooledAt ??= frame.record.spooledAt;
        }
        segment.records++;
        segment.size = frame.next;
      }
      if (segment.size < bytes.length) {
        truncatedBytes += bytes.length - segment.size;
        const handle = await open(this.#path(seq), 'r+');
        await handle.truncate(segment.size);
        await handle.datasync();
        await handle.close();
      }
      this.#segments.push(segment);
    }
    // Appends go to a fresh segment: the last one may have ended in a torn frame, now cut, and is left as read.
    return { events, truncatedBytes };
  }

  #path(seq: number): string {
    return segmentPath(this.#options.directory, seq);
  }
}
