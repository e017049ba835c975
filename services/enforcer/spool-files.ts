// The event spool's files (event-spool.ts): numbered segment files `<seq>.seg` of frames [u32 length][u32 crc32]
// [f64 spooledAt ms][payload], an `ack` file naming the first record not yet delivered (segment, byte offset), and
// a `lock` file naming the process that owns the directory.
import { open, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

export const HEADER_BYTES = 16;
/** A frame longer than this is not one the spool wrote: recovery stops there. */
const MAX_RECORD_BYTES = 1 << 20;
export const LOCK_FILE = 'lock';

export interface SpooledRecord {
  readonly payload: Buffer;
  /** When it was appended, epoch ms. */
  readonly spooledAt: number;
}

export function segmentPath(directory: string, seq: number): string {
  return join(directory, `${String(seq).padStart(12, '0')}.seg`);
}

/** The sequence numbers of the directory's segment files, oldest first. */
export async function segmentSeqs(directory: string): Promise<number[]> {
  return (await readdir(directory))
    .filter((name) => /^\d{12}\.seg$/.test(name))
    .map((name) => Number(name.slice(0, 12)))
    .sort((a, b) => a - b);
}

export function encodeFrame(payload: Buffer, spooledAt: number): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeDoubleBE(spooledAt, 8);
  payload.copy(frame, HEADER_BYTES);
  frame.writeUInt32BE(crc32(frame.subarray(8)), 4);
  return frame;
}

/** The frame at `offset`, or undefined when what is there is not a whole, intact frame. */
export function decodeFrame(
  bytes: Buffer,
  offset: number,
): { record: SpooledRecord; next: number } | undefined {
  if (offset + HEADER_BYTES > bytes.length) return undefined;
  const length = bytes.readUInt32BE(offset);
  const next = offset + HEADER_BYTES + length;
  if (length > MAX_RECORD_BYTES || next > bytes.length) return undefined;
  if (crc32(bytes.subarray(offset + 8, next)) !== bytes.readUInt32BE(offset + 4)) return undefined;
  return {
    record: {
      spooledAt: bytes.readDoubleBE(offset + 8),
      payload: Buffer.from(bytes.subarray(offset + HEADER_BYTES, next)),
    },
    next,
  };
}

/**
 * One process per spool directory: two would interleave frames in one segment. The lock names the process; a
 * lock left by a process that is gone (a crash) is taken over. A container restarts as the same pid, which is
 * this process's own and so free to take.
 */
export async function lock(directory: string): Promise<void> {
  const path = join(directory, LOCK_FILE);
  try {
    const holder = Number(await readFile(path, 'utf8'));
    if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder))
      throw new Error(`the spool directory ${directory} is in use by process ${holder}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await writeFile(path, String(process.pid));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function readAck(directory: string): Promise<{ segment: number; offset: number } | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(directory, 'ack'), 'utf8')) as unknown;
    const { segment, offset } = parsed as { segment: unknown; offset: unknown };
    return Number.isInteger(segment) && Number.isInteger(offset)
      ? { segment: segment as number, offset: offset as number }
      : undefined;
  } catch {
    return undefined; // none yet, or unreadable: everything undelivered as far as the files tell
  }
}

/** Not fsynced: a lost acknowledgement only delivers its records again (at least once). */
export async function writeAck(directory: string, ack: { segment: number; offset: number }): Promise<void> {
  const temporary = join(directory, 'ack.tmp');
  await writeFile(temporary, JSON.stringify(ack));
  await rename(temporary, join(directory, 'ack'));
}

/** Makes a file just created in the directory survive a crash. */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
