// The enforcer index's snapshot on disk (RELAYGUARD_SNAPSHOT_DIR): a restarted or new replica loads it and reads
// the state topics on from the offsets it reflects, instead of replaying them from the start (a minute per million
// tenants). One file, replaced atomically: written to a temporary file, synced, renamed over the last one.
//
// Layout: a magic line, the header's length (uint32 LE), the header (JSON: format, offsets, values, and per
// array its name, type, length and CRC-32), then each array's bytes. A file of another format, cut
// short or failing a checksum is refused with the reason, and the caller reads the topics from the start.
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { EnforcerIndex } from '../core/enforcer-index.js';
import { type SnapshotArray, SnapshotParts } from '../core/snapshot-parts.js';
import type { Logger } from '../platform/logger.js';
import type { PartitionOffset } from '../platform/ports.js';

/** Bump when a saved structure (string-table.ts, claim-table.ts, connector-table.ts, enforcer-index.ts) changes. */
export const SNAPSHOT_FORMAT = 1;
const FILE = 'enforcer-index.snapshot';
const MAGIC = Buffer.from('relayguard enforcer index\n');
/** Bytes read or written at once: fs takes at most 2 GiB, and a write given up (its signal aborted) stops within one. */
const CHUNK = 1 << 26;
const TYPES = { Uint8Array, Int32Array, Uint32Array, Float64Array } as const;

interface Header {
  readonly format: number;
  readonly writtenAt: number;
  readonly offsets: readonly PartitionOffset[];
  readonly values: Record<string, unknown>;
  readonly arrays: readonly {
    name: string;
    type: keyof typeof TYPES;
    length: number;
    crc: number;
  }[];
}

export interface IndexSnapshot {
  readonly index: EnforcerIndex;
  /** The next offset of each partition of the snapshot's topics that the index reflects. */
  readonly offsets: readonly PartitionOffset[];
  readonly writtenAt: number;
}

/**
 * Writes the parts and the offsets they reflect; returns the bytes written. When `signal` aborts first, the write
 * is given up: it rejects with the signal's reason, its temporary file is removed and the last snapshot stands.
 */
export async function writeIndexSnapshot(
  directory: string,
  parts: SnapshotParts,
  offsets: readonly PartitionOffset[],
  writtenAt: number,
  signal?: AbortSignal,
): Promise<number> {
  await mkdir(directory, { recursive: true });
  const arrays = [...parts.arrays];
  const header: Header = {
    format: SNAPSHOT_FORMAT,
    writtenAt,
    offsets,
    values: Object.fromEntries(parts.values),
    arrays: arrays.map(([name, array]) => ({
      name,
      type: array.constructor.name as keyof typeof TYPES,
      length: array.length,
      crc: crc32(bytesOf(array)),
    })),
  };
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  // Named for the host, not the write: a write cut short (a stop timeout, a kill) leaves its temporary file, which
  // the host's next write truncates instead of leaving it beside a new one, 1.6 GiB each at 10M tenants. Replicas
  // sharing a volume have names of their own, so none truncates another's write.
  const temporary = join(directory, `${FILE}.${hostname()}.tmp`);
  const file = await open(temporary, 'w');
  let written = 0;
  try {
    for (const bytes of [MAGIC, length, json]) {
      written += (await file.write(bytes)).bytesWritten;
    }
    for (const [, array] of arrays) {
      const bytes = bytesOf(array);
      for (let at = 0; at < bytes.length; at += CHUNK) {
        signal?.throwIfAborted();
        written += (await file.write(bytes.subarray(at, at + CHUNK))).bytesWritten;
      }
    }
    signal?.throwIfAborted();
    await file.sync();
  } catch (error) {
    await file.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await file.close();
  await rename(temporary, join(directory, FILE));
  // The rename itself is durable once the directory is synced.
  const dir = await open(directory, 'r');
  await dir.sync().finally(() => dir.close());
  return written;
}

/**
 * The index the directory's snapshot holds; undefined when there is none; throws an Error saying what is wrong
 * with one that cannot be used (another format, cut short, a checksum that does not match).
 */
export async function readIndexSnapshot(directory: string): Promise<IndexSnapshot | undefined> {
  const file = await open(join(directory, FILE), 'r').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!file) return undefined;
  try {
    let position = 0;
    const read = async (into: Uint8Array) => {
      for (let at = 0; at < into.length; ) {
        const { bytesRead } = await file.read(into, at, Math.min(CHUNK, into.length - at), position);
        if (bytesRead === 0) throw new Error(`cut short at byte ${position}`);
        at += bytesRead;
        position += bytesRead;
      }
    };
    const start = Buffer.alloc(MAGIC.length + 4);
    await read(start);
    if (!start.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not an enforcer index snapshot');
    const json = Buffer.alloc(start.readUInt32LE(MAGIC.length));
    await read(json);
    const header = JSON.parse(json.toString()) as Header;
    if (header.format !== SNAPSHOT_FORMAT) {
      throw new Error(`format ${header.format}, this version reads format ${SNAPSHOT_FORMAT}`);
    }
    const parts = new SnapshotParts();
    for (const [name, value] of Object.entries(header.values)) parts.values.set(name, value);
    for (const { name, type, length, crc } of header.arrays) {
      const array = new TYPES[type](length);
      await read(bytesOf(array));
      if (crc32(bytesOf(array)) !== crc) throw new Error(`"${name}" does not match its checksum`);
      parts.arrays.set(name, array);
    }
    return { index: EnforcerIndex.fromSnapshot(parts), offsets: header.offsets, writtenAt: header.writtenAt };
  } finally {
    await file.close();
  }
}

/** The directory's snapshot for a starting enforcer; undefined, logged, when there is none or it cannot be used. */
export async function restoredIndex(directory: string, logger: Logger): Promise<IndexSnapshot | undefined> {
  const started = performance.now();
  try {
    const snapshot = await readIndexSnapshot(directory);
    if (!snapshot) {
      logger.info({ directory }, 'no index snapshot yet; reading the state topics from the start');
      return undefined;
    }
    const { writtenAt, offsets } = snapshot;
    const ms = Math.round(performance.now() - started);
    logger.info({ directory, writtenAt, partitions: offsets.length, ms }, 'loaded the index snapshot');
    return snapshot;
  } catch (error) {
    logger.warn(
      { err: error, directory },
      'the index snapshot cannot be used; reading the state topics from the start',
    );
    return undefined;
  }
}

function bytesOf(array: SnapshotArray): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}
