// The codec of the embedded mode: the same wire format as production, with schema ids assigned locally
// (1..n in topic order) instead of by a Schema Registry.
import type avro from 'avsc';
import { RelayguardError } from '../../core/errors.js';
import type { ContractTopic, TopicContracts } from '../../core/topics.js';
import type { SchemaCodec } from '../ports.js';
import { contractTypes, decodeBody, decodeEach, encodeBody, frame, schemaIdOf } from './avro.js';

export class EmbeddedCodec implements SchemaCodec {
  readonly #types = contractTypes();
  readonly #idOf = new Map<ContractTopic, number>();
  readonly #topicOf = new Map<number, ContractTopic>();

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

  #decodeNow<T extends ContractTopic>(topic: T, bytes: Buffer): TopicContracts[T] {
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
    return decodeBody<TopicContracts[T]>(this.#type(topic), bytes, topic);
  }

  #type(topic: ContractTopic): avro.Type {
    return this.#types.get(topic)!;
  }
}
