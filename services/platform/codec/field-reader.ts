// A few fields of an Avro record read straight from its bytes, for a writer schema known in advance: the scorer's
// decode of every event without avsc's Tap, its resolver's generic reads and the validity walk after them. It
// answers only for bytes it is sure of: every length and union or enum index in range, each value one avsc's
// reader type accepts, the body ending exactly where the bytes end. For anything else it answers undefined and
// the caller decodes with avsc's resolver, so what is poison, and why, stays avsc's answer (the property test
// test/unit/platform/field-reader.property.test.ts holds the two to it).
import type avro from 'avsc';
import { InternedStrings, type Utf8Slicing } from './interned-strings.js';

/** What a step does with one field of the writer's record. */
enum Step {
  SkipVarint,
  SkipString,
  SkipNullableString,
  ReadString,
  ReadNullableString,
  ReadInt,
  ReadLong,
  ReadEnum,
}

/** avsc's bound for a long it reads without loss (isSafeLong in avsc's types.js). */
const SAFE_LONG = 9007199254740990;

interface Plan {
  readonly steps: Step[];
  /** Per step, the reader field's index its value goes to (-1: skipped). */
  readonly slots: number[];
  /** Per step, a nullable string's union index of null, or an enum's symbols. */
  readonly nullIndex: number[];
  readonly symbols: (readonly string[] | null)[];
  /** Per step, whether its string is looked up among the interned ones (a field whose values repeat). */
  readonly interned: boolean[];
}

type FieldType = avro.Type & { readonly types?: readonly avro.Type[]; readonly symbols?: readonly string[] };

/** The union's branch index of null when it is exactly null and a string, else -1. */
function nullableStringNull(type: FieldType): number {
  const branches = type.types?.map((branch) => branch.typeName);
  if (branches?.length !== 2 || !branches.includes('null') || !branches.includes('string')) return -1;
  return branches.indexOf('null');
}

function readStep(type: FieldType): Step | null {
  switch (type.typeName) {
    case 'string':
      return Step.ReadString;
    case 'int':
      return Step.ReadInt;
    case 'long':
      return Step.ReadLong;
    case 'enum':
      return Step.ReadEnum;
    default:
      return nullableStringNull(type) >= 0 ? Step.ReadNullableString : null;
  }
}

function skipStep(type: FieldType): Step | null {
  switch (type.typeName) {
    case 'string':
    case 'bytes':
      return Step.SkipString;
    case 'int':
    case 'long':
    case 'enum':
      return Step.SkipVarint;
    default:
      return nullableStringNull(type) >= 0 ? Step.SkipNullableString : null;
  }
}

/** The steps reading `reader`'s fields from data written with `writer`, or null when a type is not one read here. */
function planOf(writer: avro.Type, reader: avro.Type, interned: readonly string[]): Plan | null {
  const writerFields = (writer as avro.types.RecordType).fields;
  const readerFields = (reader as avro.types.RecordType).fields;
  if (writer.typeName !== 'record' || reader.typeName !== 'record') return null;
  const plan: Plan = { steps: [], slots: [], nullIndex: [], symbols: [], interned: [] };
  let found = 0;
  for (const field of writerFields) {
    const type = field.type as FieldType;
    const slot = readerFields.findIndex((each) => each.name === field.name);
    // A read field must have the writer's type exactly: no promotion, no enum symbols to map.
    if (slot >= 0 && !readerFields[slot]!.type.equals(type)) return null;
    const step = slot >= 0 ? readStep(type) : skipStep(type);
    if (step === null) return null;
    if (slot >= 0) found++;
    plan.steps.push(step);
    plan.slots.push(slot);
    plan.nullIndex.push(nullableStringNull(type));
    plan.symbols.push(type.typeName === 'enum' ? type.symbols! : null);
    plan.interned.push(slot >= 0 && interned.includes(field.name));
  }
  // A reader field the writer lacks takes its default: avsc's resolver does that.
  return found === readerFields.length ? plan : null;
}

export class FieldReader<T> {
  readonly #plan: Plan;
  readonly #record: new (
    ...values: unknown[]
  ) => T;
  /** The values read so far of the record being read, by reader field (reused: one record at a time). */
  readonly #values: unknown[];
  readonly #interned = new InternedStrings();
  #bytes: Buffer = Buffer.alloc(0);
  #pos = 0;

  /**
   * A reader of `reader`'s fields from data written with `writer`, or null when the schemas are not ones read
   * here. The string fields named in `interned` are read as one shared string per value (InternedStrings).
   */
  static of<T>(
    writer: avro.Type,
    reader: avro.Type,
    interned: readonly string[] = [],
  ): FieldReader<T> | null {
    const plan = planOf(writer, reader, interned);
    return plan && new FieldReader<T>(plan, reader);
  }

  private constructor(plan: Plan, reader: avro.Type) {
    this.#plan = plan;
    // avsc's own record class, so a value read here is the value its resolver would have made.
    this.#record = (reader as avro.types.RecordType).recordConstructor as new (...values: unknown[]) => T;
    this.#values = (reader as avro.types.RecordType).fields.map(() => undefined);
  }

  /** The record whose body starts at `start` and ends with `bytes`, or undefined when avsc must judge them. */
  read(bytes: Buffer, start: number): T | undefined {
    const { steps, slots, nullIndex, symbols, interned } = this.#plan;
    const values = this.#values;
    this.#bytes = bytes;
    this.#pos = start;
    for (let i = 0; i < steps.length; i++) {
      let value: unknown;
      switch (steps[i]) {
        case Step.SkipVarint:
          this.#skipVarint();
          continue;
        case Step.SkipString:
          if (this.#string(false, false) === undefined) return undefined;
          continue;
        case Step.SkipNullableString: {
          const branch = this.#long();
          if (branch === nullIndex[i]) continue;
          if (branch !== 1 - nullIndex[i]! || this.#string(false, false) === undefined) return undefined;
          continue;
        }
        case Step.ReadString:
          value = this.#string(true, interned[i]!);
          if (value === undefined) return undefined;
          break;
        case Step.ReadNullableString: {
          const branch = this.#long();
          if (branch !== nullIndex[i] && branch !== 1 - nullIndex[i]!) return undefined;
          value = branch === nullIndex[i] ? null : this.#string(true, interned[i]!);
          if (value === undefined) return undefined;
          break;
        }
        case Step.ReadInt:
          value = this.#long();
          if (value !== ((value as number) | 0)) return undefined;
          break;
        case Step.ReadLong:
          value = this.#long();
          if (!((value as number) >= -SAFE_LONG && (value as number) <= SAFE_LONG)) return undefined;
          break;
        case Step.ReadEnum:
          value = symbols[i]![this.#long()];
          if (value === undefined) return undefined;
          break;
      }
      values[slots[i]!] = value;
    }
    if (this.#pos !== bytes.length) return undefined;
    return Reflect.construct(this.#record, values) as T;
  }

  /** avsc's varint read (Tap.readLong), bit for bit: past the end it reads undefined as 0, as avsc does. */
  #long(): number {
    const bytes = this.#bytes;
    let n = 0;
    let k = 0;
    let b: number;
    let more: number;
    do {
      b = bytes[this.#pos++]!;
      more = b & 0x80;
      n |= (b & 0x7f) << k;
      k += 7;
    } while (more && k < 28);
    if (!more) return (n >> 1) ^ -(n & 1);
    // Past 28 bits, in floating point as avsc does it.
    let f = n;
    let scale = 268435456;
    do {
      b = bytes[this.#pos++]!;
      f += (b & 0x7f) * scale;
      scale *= 128;
    } while (b & 0x80);
    return (f % 2 ? -(f + 1) : f) / 2;
  }

  #skipVarint(): void {
    const bytes = this.#bytes;
    while (bytes[this.#pos++]! & 0x80) {}
  }

  /** The string at the position (or '' when only skipped), undefined when its length is out of range. */
  #string(read: boolean, interned: boolean): string | undefined {
    const length = this.#long();
    const from = this.#pos;
    const to = from + length;
    if (!(length >= 0 && to <= this.#bytes.length)) return undefined;
    this.#pos = to;
    if (!read) return '';
    // What avsc's readString calls, without toString's argument checks (half the cost of a short string).
    const shared = interned ? this.#interned.of(this.#bytes, from, to) : undefined;
    return shared ?? (this.#bytes as Utf8Slicing).utf8Slice(from, to);
  }
}
