// Reads packed window writes back as save-window.lua does (its struct.unpack calls, in JS), and stores a window the
// way Redis would hold it after a whole write: for tests of the encoding without a Redis.
import type { TenantWindow } from '../../services/core/windows.js';
import type { WindowDelta } from '../../services/platform/ports.js';
import { WritePacker } from '../../services/platform/redis/packed-writes.js';
import { decodeWindow } from '../../services/platform/redis/window-encoding.js';

export interface UnpackedWrite {
  readonly expected: string;
  readonly version: string;
  readonly whole: boolean;
  /** 0 keep, 1 append, 2 replace. */
  readonly seenMode: number;
  readonly seen: Buffer;
  readonly main: { readonly set: string[]; readonly del: string[] };
  readonly tracked: { readonly set: string[]; readonly del: string[] };
}

export function unpackWrites(packed: Buffer): UnpackedWrite[] {
  const writes: UnpackedWrite[] = [];
  let at = 0;
  const length = () => {
    at += 4;
    return packed.readUInt32BE(at - 4);
  };
  const bytes = () => {
    const size = length();
    at += size;
    return packed.subarray(at - size, at);
  };
  const fields = (count: number) => Array.from({ length: count }, () => bytes().toString('utf8'));
  while (at < packed.length) {
    const end = length() + at;
    const expected = bytes().toString('utf8');
    const version = bytes().toString('utf8');
    const whole = packed[at++] === 1;
    const seenMode = packed[at++]!;
    const [mainSets, mainDels, trackedSets, trackedDels] = [length(), length(), length(), length()];
    const seen = bytes();
    const mainSet = fields(2 * mainSets!);
    const trackedSet = fields(2 * trackedSets!);
    const main = { set: mainSet, del: fields(mainDels!) };
    const tracked = { set: trackedSet, del: fields(trackedDels!) };
    if (at !== end) throw new Error(`a packed write ends at ${at}, its length says ${end}`);
    writes.push({ expected, version, whole, seenMode, seen, main, tracked });
  }
  return writes;
}

/** The one write `add` packs of the window (whole without `changes`). */
export function packedWrite(window: TenantWindow, changes?: WindowDelta, expected = '-'): UnpackedWrite {
  const packer = new WritePacker();
  packer.add(expected, window, changes);
  return unpackWrites(packer.take(0))[0]!;
}

/** The window as Redis holds it after its whole write, read back: what a load returns. */
export function storedAndLoaded(window: TenantWindow): TenantWindow | undefined {
  const write = packedWrite(window);
  const pairs = (fields: readonly string[]) =>
    Object.fromEntries(fields.flatMap((_, i) => (i % 2 === 0 ? [[fields[i]!, fields[i + 1]!]] : [])));
  return decodeWindow(pairs(write.main.set), pairs(write.tracked.set), write.seen);
}
