// The production codec on a Confluent Schema Registry, through @kafkajs/confluent-schema-registry 3.x: 4.x
// declares Node.js >= 22 and relayguard runs on Node.js 20 (the current LTS of its Dockerfile and CI machines);
// 3.x speaks the same REST API and wire format. Each contract topic's schema lives under the subject
// `<topic>-value` (passed explicitly: the client's default subject is the record's full name) with
// BACKWARD_TRANSITIVE compatibility set on the subject before the first registration.
//
// Decoding never passes `readerSchema` to the client (it would parse the schema again on every call): the
// writer schema of each id is fetched once (the client caches it), a resolver from it to relayguard's schema
// (or to a reader type of a few fields: decodeFields, with the field reader that goes first) is built once and
// cached per (topic, writer id, fields).
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { RelayguardError } from '../../core/errors.js';
import { type ContractTopic, type TopicContracts, TopicSchemas } from '../../core/topics.js';
import type { SchemaRegistryConfig } from '../config.js';
import type { SchemaCodec } from '../ports.js';
import {
  asPoison,
  contractTypes,
  decodeBody,
  decodeEach,
  encodeBody,
  frame,
  framedSchemaId,
  HEADER_BYTES,
  ReaderTypes,
  readSchema,
  schemaIdOf,
} from './avro.js';
import { FieldReader } from './field-reader.js';

export const subjectOf = (topic: string) => `${topic}-value`;

/**
 * How values of one writer schema are read: avsc's resolver (none when the writer schema is the reader's own),
 * and for a reader type of a few fields the field reader that reads well-formed bytes first (when it can).
 */
interface Reader {
  readonly resolver: avro.Resolver | undefined;
  readonly fields: FieldReader<unknown> | null;
}

/** Writer ids that failed for good; bounded so a flood of random ids cannot grow it without limit. */
const MAX_REMEMBERED_FAILURES = 1_024;

function registryError(error: unknown, what: string): RelayguardError {
  const status = (error as { status?: unknown }).status;
  // The client reports a network failure as status 400 (mappersmith); any answer but 404 is the registry's
  // trouble, not the message's: retry.
  if (status === 404) {
    return new RelayguardError('UNKNOWN_SCHEMA_ID', `${what}: not known to the schema registry`, {
      cause: error,
    });
  }
  return new RelayguardError(
    'REGISTRY_UNAVAILABLE',
    `${what}: schema registry request failed: ${(error as Error).message}`,
    { cause: error },
  );
}

export class RegistryCodec implements SchemaCodec {
  readonly #client: SchemaRegistry;
  readonly #rest: RegistryRest;
  readonly #types = contractTypes();
  readonly #readerTypes = new ReaderTypes();
  readonly #writerIds = new Map<ContractTopic, Promise<number>>();
  readonly #readers = new Map<string, Promise<Reader>>();
  readonly #failures = new Map<string, RelayguardError>();

  constructor(config: SchemaRegistryConfig) {
    this.#client = new SchemaRegistry({
      host: config.url,
      auth: config.auth ? { ...config.auth } : undefined,
      clientId: 'relayguard',
    });
    this.#rest = new RegistryRest(config);
  }

  async encode<T extends ContractTopic>(topic: T, value: TopicContracts[T]): Promise<Buffer> {
    // Validate first: a bad value is the caller's error whatever the registry's state.
    const body = encodeBody(this.#type(topic), value, topic);
    return frame(await this.#writerId(topic), body);
  }

  async decode<T extends ContractTopic>(topic: T, bytes: Buffer): Promise<TopicContracts[T]> {
    const id = schemaIdOf(bytes);
    const { resolver } = await this.#reader(topic, id, null);
    return decodeBody<TopicContracts[T]>(this.#type(topic), bytes, topic, resolver);
  }

  decodeAll<T extends ContractTopic>(
    topic: T,
    values: readonly Buffer[],
  ): Promise<(TopicContracts[T] | RelayguardError)[]> {
    return this.#decodeWith(topic, values, null);
  }

  decodeFields<T extends ContractTopic, K extends keyof TopicContracts[T] & string>(
    topic: T,
    values: readonly Buffer[],
    fields: readonly K[],
    interned: readonly K[] = [],
  ): Promise<(Pick<TopicContracts[T], K> | RelayguardError)[]> {
    return this.#decodeWith(topic, values, fields, interned);
  }

  /** Every value read as relayguard's type of the topic, or as the reader type of `fields` when given. */
  async #decodeWith<V>(
    topic: ContractTopic,
    values: readonly Buffer[],
    fields: readonly string[] | null,
    interned: readonly string[] = [],
  ): Promise<(V | RelayguardError)[]> {
    const type = this.#readerType(topic, fields);
    // One await per writer schema the batch uses (usually one), then every record decoded without awaiting.
    const readers = new Map<number, Reader | RelayguardError>();
    for (const bytes of values) {
      const id = framedSchemaId(bytes);
      if (id !== null && !readers.has(id))
        readers.set(id, await this.#reader(topic, id, fields, interned).catch(asPoison));
    }
    return decodeEach(values, (bytes) => {
      const reader = readers.get(schemaIdOf(bytes))!;
      if (reader instanceof RelayguardError) throw reader;
      return (
        (reader.fields?.read(bytes, HEADER_BYTES) as V) ?? decodeBody<V>(type, bytes, topic, reader.resolver)
      );
    });
  }

  /**
   * Sets BACKWARD_TRANSITIVE on every contract subject and registers relayguard's schemas (a no-op for a
   * schema the subject already has). Rejects with the registry's message when a schema is incompatible.
   */
  async registerAll(): Promise<Map<ContractTopic, number>> {
    const ids = new Map<ContractTopic, number>();
    for (const topic of this.#types.keys()) ids.set(topic, await this.#register(topic));
    return ids;
  }

  /** The id of relayguard's schema for the topic: looked up, registered when the registry lacks it. */
  #writerId(topic: ContractTopic): Promise<number> {
    let id = this.#writerIds.get(topic);
    if (id === undefined) {
      id = this.#lookupOrRegister(topic);
      this.#writerIds.set(topic, id);
      id.catch(() => this.#writerIds.delete(topic));
    }
    return id;
  }

  async #lookupOrRegister(topic: ContractTopic): Promise<number> {
    const found = await this.#rest.request('POST', `/subjects/${encodeURIComponent(subjectOf(topic))}`, {
      schema: schemaOf(topic).schema,
    });
    // Not registered yet (the topics command registers ahead of the services in production).
    if (found === undefined) return this.#register(topic);
    return (found as { id: number }).id;
  }

  async #register(topic: ContractTopic): Promise<number> {
    const subject = subjectOf(topic);
    // Set before registering, so that even a subject created by another tool is checked transitively.
    await this.#rest.request('PUT', `/config/${encodeURIComponent(subject)}`, {
      compatibility: COMPATIBILITY.BACKWARD_TRANSITIVE,
    });
    try {
      const { id } = await this.#client.register(schemaOf(topic), {
        subject,
        compatibility: COMPATIBILITY.BACKWARD_TRANSITIVE,
      });
      this.#writerIds.set(topic, Promise.resolve(id));
      return id;
    } catch (error) {
      if ((error as { status?: unknown }).status === 409) {
        throw new RelayguardError(
          'SCHEMA_MISMATCH',
          `${subject}: schemas/${TopicSchemas[topic]} is not BACKWARD_TRANSITIVE compatible with the registered versions: ${(error as Error).message}`,
          { cause: error },
        );
      }
      throw registryError(error, subject);
    }
  }

  /** The resolver from the writer's schema to relayguard's type, or to the reader type of `fields`. */
  #reader(
    topic: ContractTopic,
    writerId: number,
    fields: readonly string[] | null,
    interned: readonly string[] = [],
  ): Promise<Reader> {
    const key = `${topic}:${writerId}:${fields?.join(',') ?? '*'}:${interned.join(',')}`;
    const failure = this.#failures.get(key);
    if (failure) return Promise.reject(failure);
    let reader = this.#readers.get(key);
    if (reader === undefined) {
      reader = this.#buildReader(topic, writerId, this.#readerType(topic, fields), interned);
      this.#readers.set(key, reader);
      reader.catch((error: RelayguardError) => {
        this.#readers.delete(key);
        if (error.retryable) return;
        if (this.#failures.size >= MAX_REMEMBERED_FAILURES) this.#failures.clear();
        this.#failures.set(key, error);
      });
    }
    return reader;
  }

  async #buildReader(
    topic: ContractTopic,
    writerId: number,
    reader: avro.Type,
    interned: readonly string[],
  ): Promise<Reader> {
    let writer: unknown;
    try {
      writer = await this.#client.getSchema(writerId);
    } catch (error) {
      throw registryError(error, `${topic}: schema id ${writerId}`);
    }
    if (!(writer instanceof avro.Type)) {
      throw new RelayguardError('SCHEMA_MISMATCH', `${topic}: schema id ${writerId} is not an Avro schema`);
    }
    if (reader.equals(writer)) return { resolver: undefined, fields: null };
    try {
      return { resolver: reader.createResolver(writer), fields: FieldReader.of(writer, reader, interned) };
    } catch (error) {
      throw new RelayguardError(
        'SCHEMA_MISMATCH',
        `${topic}: data written with schema id ${writerId} (${writer.name ?? writer.typeName}) cannot be read as ${reader.name}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  #type(topic: ContractTopic): avro.Type {
    return this.#types.get(topic)!;
  }

  #readerType(topic: ContractTopic, fields: readonly string[] | null): avro.Type {
    return fields === null ? this.#type(topic) : this.#readerTypes.of(topic, fields);
  }
}

function schemaOf(topic: ContractTopic) {
  return { type: SchemaType.AVRO as const, schema: JSON.stringify(readSchema(topic)) };
}

/**
 * The REST calls the client does not expose (subject config, versions, compatibility checks), with the same
 * base URL and basic auth.
 */
export class RegistryRest {
  readonly #url: string;
  readonly #authorization: string | undefined;

  constructor(config: SchemaRegistryConfig) {
    this.#url = config.url;
    this.#authorization = config.auth
      ? `Basic ${Buffer.from(`${config.auth.username}:${config.auth.password}`).toString('base64')}`
      : undefined;
  }

  /** The JSON answer; a 404 resolves to undefined; any other failure rejects with REGISTRY_UNAVAILABLE. */
  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.#url}${path}`, {
        method,
        headers: {
          accept: 'application/vnd.schemaregistry.v1+json, application/json',
          'content-type': 'application/vnd.schemaregistry.v1+json',
          ...(this.#authorization ? { authorization: this.#authorization } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new RelayguardError(
        'REGISTRY_UNAVAILABLE',
        `schema registry ${this.#url} unreachable: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const answer: unknown = await response.json().catch(() => undefined);
    if (response.status === 404) return undefined;
    if (!response.ok) {
      const message = (answer as { message?: unknown } | undefined)?.message;
      throw new RelayguardError(
        'REGISTRY_UNAVAILABLE',
        `schema registry: ${method} ${path} answered ${response.status}${message ? `: ${String(message)}` : ''}`,
      );
    }
    return answer;
  }
}
