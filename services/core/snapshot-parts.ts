// What the enforcer's index (enforcer-index.ts) is made of, as named typed arrays and JSON values: its snapshot,
// which services/app/index-snapshot.ts writes to a file and reads back. A structure saves copies (or, for bytes
// that never change once written, the arrays themselves) and loads into an empty structure of its kind.

export type SnapshotArray = Uint8Array | Int32Array | Uint32Array | Float64Array;

type ArrayType<T extends SnapshotArray> = { new (length: number): T; readonly name: string };

export class SnapshotParts {
  readonly arrays = new Map<string, SnapshotArray>();
  readonly values = new Map<string, unknown>();

  /** The array saved under this name; throws when there is none of this type (another version's snapshot). */
  array<T extends SnapshotArray>(name: string, type: ArrayType<T>): T {
    const array = this.arrays.get(name);
    if (!(array instanceof type)) throw new Error(`snapshot: no ${type.name} "${name}"`);
    return array;
  }

  /** The value saved under this name; throws when there is none. */
  value<T>(name: string): T {
    if (!this.values.has(name)) throw new Error(`snapshot: no value "${name}"`);
    return this.values.get(name) as T;
  }
}
