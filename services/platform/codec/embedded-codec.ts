// The codec of the embedded mode: the same wire format as production, with schema ids assigned locally
// (1..n in topic order) instead of by a Schema Registry.
import type avro from 'avsc';
import { RelayguardError } from '../../core/errors.js';
import type { ContractTopic, TopicContracts } from '../../core/topics.js';
import type { SchemaCodec } from '../ports.js';
import {
  contractTypes,
  decodeBody,
  decodeEach,
  encodeBody,
  frame,
  HEADER_BYTES,
  ReaderTypes,
  schemaIdOf,
} from './avro.js';
import { FieldReader } from './field-reader.js';

export class EmbeddedCodec implements SchemaCodec {
  readonly #types = contractTypes();
  readonly #idOf = new Map<ContractTopic, number>();
  readonly #topicOf = new Map<number, ContractTopic>();
  readonly #readerTypes = new ReaderTypes();
  /**
   * By topic, reader fields and interned fields, from the topic's full type (every value here was written with
   * it) to the reader type of those fields: avsc's resolver, and the field reader that reads well-formed bytes first.
   */
  readonly #resolvers = new Map<
    string,
    { reader: avro.Type; resolver: avro.Resolver; fields: FieldReader<unknown> | null }
  >();

  constructor() {
    let id = 1;
    for (const topic of this.#types.keys()) {
      this.#idOf.set(topic, id);
      this.#topicOf.set(id++, topic);
    }
  }

  async encode<T extends ContractTopic>(topic: T, value: TopicContracts[T]): Promise<Buffer> {
    return frame(this.#idOf.get(topic)!, encodeBody(this.#type(topic), value, topic));
  }

  async decode<T extends ContractTopic>(topic: T, bytes: Buffer): Promise<TopicContracts[T]> {
    return this.#decodeNow(topic, bytes);
  }

  async decodeAll<T extends ContractTopic>(
    topic: T,
    values: readonly Buffer[],
  ): Promise<(TopicContracts[T] | RelayguardError)[]> {
    return decodeEach(values, (bytes) => this.#decodeNow(topic, bytes));
  }

  async decodeFields<T extends ContractTopic, K extends keyof TopicContracts[T] & string>(
    topic: T,
    values: readonly Buffer[],
    fields: readonly K[],
    interned: readonly K[] = [],
  ): Promise<(Pick<TopicContracts[T], K> | RelayguardError)[]> {
    const key = `${topic}|${fields.join(',')}|${interned.join(',')}`;
    let resolved = this.#resolvers.get(key);
    if (resolved === undefined) {
      const [writer, reader] = [this.#type(topic), this.#readerTypes.of(topic, fields)];
      resolved = {
        reader,
        resolver: reader.createResolver(writer),
        fields: FieldReader.of(writer, reader, interned),
      };
      this.#resolvers.set(key, resolved);
    }
    const {
      reader,
      resolver,
      fields: fieldReader,
    } = resolved as {
      reader: avro.Type;
      resolver: avro.Resolver;
      fields: FieldReader<Pick<TopicContracts[T], K>> | null;
    };
    return decodeEach(values, (bytes) => {
      this.#checkId(topic, bytes);
      return fieldReader?.read(bytes, HEADER_BYTES) ?? decodeBody(reader, bytes, topic, resolver);
    });
  }

  #decodeNow<T extends ContractTopic>(topic: T, bytes: Buffer): TopicContracts[T] {
    this.#checkId(topic, bytes);
    return decodeBody<TopicContracts[T]>(this.#type(topic), bytes, topic);
  }

  /** Throws the poison error of bytes not framed with this topic's schema id. */
  #checkId(topic: ContractTopic, bytes: Buffer): void {
    const id = schemaIdOf(bytes);
    const writerTopic = this.#topicOf.get(id);
    if (writerTopic === undefined)
      throw new RelayguardError('UNKNOWN_SCHEMA_ID', `${topic}: schema id ${id} is unknown`);
    if (writerTopic !== topic) {
      throw new RelayguardError(
        'SCHEMA_MISMATCH',
        `${topic}: schema id ${id} belongs to ${writerTopic}, not this topic`,
      );
    }
  }

  #type(topic: ContractTopic): avro.Type {
    return this.#types.get(topic)!;
  }
}
