// Avro types of the contract topics and the Confluent wire format shared by the embedded and registry codecs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { isRelayguardError, RelayguardError } from '../../core/errors.js';
import { type ContractTopic, TopicSchemas } from '../../core/topics.js';
import { projectPath } from '../project-files.js';

export const MAGIC_BYTE = 0;
export const HEADER_BYTES = 5;

/** The topic's schema from schemas/ (or from another directory laid out the same way). */
export function readSchema(topic: ContractTopic, dir = projectPath('schemas')): avro.Schema {
  return JSON.parse(readFileSync(join(dir, TopicSchemas[topic]), 'utf8')) as avro.Schema;
}

export function contractTypes(): Map<ContractTopic, avro.Type> {
  const topics = Object.keys(TopicSchemas) as ContractTopic[];
  return new Map(topics.map((topic) => [topic, avro.Type.forSchema(readSchema(topic))]));
}

/**
 * Reader types holding a few of a topic's fields, each built once: resolving a writer schema to one skips the
 * writer's other fields (Avro schema resolution), which are then neither decoded nor checked.
 */
export class ReaderTypes {
  readonly #types = new Map<string, avro.Type>();

  of(topic: ContractTopic, fields: readonly string[]): avro.Type {
    const key = `${topic}|${fields.join(',')}`;
    let type = this.#types.get(key);
    if (type === undefined) {
      const schema = readSchema(topic) as avro.schema.RecordType;
      const missing = fields.filter((name) => !schema.fields.some((field) => field.name === name));
      if (missing.length > 0) throw new Error(`${topic} has no field ${missing.join(', ')}`);
      // Same record name as the writer's, so that the two resolve; the schema's field order is kept.
      type = avro.Type.forSchema({
        ...schema,
        fields: schema.fields.filter((field) => fields.includes(field.name)),
      });
      this.#types.set(key, type);
    }
    return type;
  }
}

export function frame(schemaId: number, payload: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  framed.writeUInt8(MAGIC_BYTE, 0);
  framed.writeInt32BE(schemaId, 1);
  payload.copy(framed, HEADER_BYTES);
  return framed;
}

/** The schema id of a framed message, or null for bytes that are not in the wire format. */
export function framedSchemaId(bytes: Buffer): number | null {
  return bytes.length >= HEADER_BYTES && bytes.readUInt8(0) === MAGIC_BYTE ? bytes.readInt32BE(1) : null;
}

/** The schema id of a framed message; throws UNDECODABLE for bytes that are not in the wire format. */
export function schemaIdOf(bytes: Buffer): number {
  const id = framedSchemaId(bytes);
  if (id === null) {
    throw new RelayguardError(
      'UNDECODABLE',
      `expected the Confluent wire format (magic byte 0 and a schema id), got ${bytes.length} bytes starting ${bytes.subarray(0, 5).toString('hex')}`,
    );
  }
  return id;
}

/**
 * Decodes the Avro body, through `resolver` when it was written with another (compatible) schema; truncated,
 * trailing or mistyped bytes are a SCHEMA_MISMATCH.
 */
export function decodeBody<T>(type: avro.Type, bytes: Buffer, topic: string, resolver?: avro.Resolver): T {
  let value: unknown;
  try {
    // Read in place after the header: no view of the body per message.
    const decoded = type.decode(bytes, HEADER_BYTES, resolver);
    if (decoded.offset !== bytes.length)
      throw new Error(decoded.offset < 0 ? 'truncated buffer' : 'trailing data');
    value = decoded.value;
  } catch (error) {
    throw new RelayguardError(
      'SCHEMA_MISMATCH',
      `${topic}: the message does not decode with ${type.name}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  // avsc reads an int's varint without checking its range, so corrupted bytes can decode to a number no writer
  // could have encoded (found by fuzzing): such a value is as poisonous as bytes that do not decode.
  if (!type.isValid(value)) {
    const paths: string[] = [];
    type.isValid(value, { errorHook: (path) => paths.push(path.join('.')) });
    throw new RelayguardError(
      'SCHEMA_MISMATCH',
      `${topic}: the message decodes to a value outside ${type.name} at ${paths.join(', ')}`,
      { field: paths[0] },
    );
  }
  return value as T;
}

/** A poison error is kept as the record's answer; any other failure is the batch's and propagates. */
export function asPoison(error: unknown): RelayguardError {
  if (isRelayguardError(error) && !error.retryable) return error;
  throw error;
}

/** `decode` applied to each value, a poison error kept in place of the value it was thrown for. */
export function decodeEach<T>(
  values: readonly Buffer[],
  decode: (bytes: Buffer) => T,
): (T | RelayguardError)[] {
  return values.map((bytes) => {
    try {
      return decode(bytes);
    } catch (error) {
      return asPoison(error);
    }
  });
}

export function encodeBody(type: avro.Type, value: unknown, topic: string): Buffer {
  const errors: string[] = [];
  if (!type.isValid(value, { errorHook: (path) => errors.push(path.join('.') || '(root)') })) {
    throw new RelayguardError(
      'SCHEMA_MISMATCH',
      `${topic}: value does not match ${type.name} at ${errors.join(', ')}`,
      { field: errors[0] },
    );
  }
  return type.toBuffer(value);
}
