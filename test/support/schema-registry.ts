// An in-process test double of the Confluent Schema Registry REST API: the endpoints that
// @kafkajs/confluent-schema-registry 3.x calls (dist/api/index.js), with the registry's status codes,
// error codes and bodies, and real Avro compatibility checks done with avsc.
// Avro only: schema references and the JSON/PROTOBUF schema types are refused with 422.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import avro from 'avsc';

export interface SchemaRegistryDouble {
  /** http://127.0.0.1:<port>, the `host` for the client. */
  url: string;
  stop(): Promise<void>;
}

const LEVELS = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
] as const;
type Level = (typeof LEVELS)[number];

interface Version {
  version: number;
  id: number;
  schema: string;
  type: avro.Type;
}

interface Subject {
  versions: Version[];
  compatibility?: Level;
}

/** The registry's error: HTTP status plus its own `error_code` (see the registry's REST API reference). */
class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_BODY_BYTES = 1 << 20;
const MAX_VERSION = 2 ** 31 - 1;

/** Starts the double on a free loopback port. Its state (ids, subjects, config) lives in memory. */
export async function startSchemaRegistry(): Promise<SchemaRegistryDouble> {
  const registry = new Registry();
  const server = createServer((req, res) => {
    registry.handle(req).then(
      ({ status, body }) => send(res, status, body),
      (error: unknown) => {
        if (error instanceof RegistryError) {
          send(res, error.status, { error_code: error.errorCode, message: error.message });
        } else {
          send(res, 500, { error_code: 50001, message: String(error) });
        }
      },
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('schema registry double: no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    async stop() {
      // The client keeps connections alive; close them or close() waits for their idle timeout.
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/vnd.schemaregistry.v1+json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

interface Reply {
  status: number;
  body: unknown;
}

const ok = (body: unknown): Reply => ({ status: 200, body });

class Registry {
  private globalCompatibility: Level = 'BACKWARD';
  private readonly subjects = new Map<string, Subject>();
  // Ids are global: the same schema text gets the same id under every subject, as in the registry.
  private readonly idsBySchema = new Map<string, number>();
  private readonly schemasById = new Map<number, string>();

  async handle(req: IncomingMessage): Promise<Reply> {
    const url = new URL(req.url ?? '/', 'http://registry');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const route = `${method} /${parts.map((p, i) => (isParam(parts, i) ? ':' : p)).join('/')}`;
    const [, subject = '', , version = ''] = parts;

    switch (route) {
      case 'GET /subjects':
        // A subject that only has a config (PUT /config/{subject}) is not listed, as in the registry.
        return ok([...this.subjects].filter(([, s]) => s.versions.length > 0).map(([name]) => name));
      case 'GET /subjects/:/versions':
        return ok(this.subject(subject).versions.map((v) => v.version));
      case 'POST /subjects/:/versions':
        return ok({ id: this.register(subject, await readSchema(req)) });
      case 'GET /subjects/:/versions/:': {
        const found = this.version(subject, version);
        return ok({ subject, version: found.version, id: found.id, schema: found.schema });
      }
      case 'POST /subjects/:':
        return ok(this.lookup(subject, await readSchema(req)));
      case 'GET /schemas/ids/:': {
        const schema = this.schemasById.get(Number(parts[2]));
        if (schema === undefined) throw new RegistryError(404, 40403, 'Schema not found');
        return ok({ schema });
      }
      case 'GET /config':
        return ok({ compatibilityLevel: this.globalCompatibility });
      case 'PUT /config':
        this.globalCompatibility = parseLevel(await readJson(req));
        return ok({ compatibility: this.globalCompatibility });
      case 'GET /config/:': {
        const level = this.subjects.get(subject)?.compatibility;
        if (level !== undefined) return ok({ compatibilityLevel: level });
        if (url.searchParams.get('defaultToGlobal') === 'true') {
          return ok({ compatibilityLevel: this.globalCompatibility });
        }
        throw new RegistryError(
          404,
          40408,
          `Subject '${subject}' does not have subject-level compatibility configured`,
        );
      }
      case 'PUT /config/:': {
        // Allowed before the subject has any version, as in the registry (the client relies on it).
        const level = parseLevel(await readJson(req));
        this.subjectOrNew(subject).compatibility = level;
        return ok({ compatibility: level });
      }
      case 'POST /compatibility/subjects/:/versions/:':
      case 'POST /compatibility/subjects/:/versions':
        return ok(
          this.checkCompatibility(
            parts[2] ?? '',
            parts[4],
            await readSchema(req),
            url.searchParams.get('verbose') === 'true',
          ),
        );
      default:
        throw new RegistryError(404, 404, 'HTTP 404 Not Found');
    }
  }

  private subject(name: string): Subject {
    const subject = this.subjects.get(name);
    if (subject === undefined || subject.versions.length === 0) {
      throw new RegistryError(404, 40401, `Subject '${name}' not found.`);
    }
    return subject;
  }

  private subjectOrNew(name: string): Subject {
    let subject = this.subjects.get(name);
    if (subject === undefined) {
      subject = { versions: [] };
      this.subjects.set(name, subject);
    }
    return subject;
  }

  private version(subjectName: string, version: string): Version {
    const subject = this.subject(subjectName);
    // "latest" and -1 both mean the newest version.
    if (version === 'latest' || version === '-1') return subject.versions.at(-1) as Version;
    const number = Number(version);
    if (!Number.isInteger(number) || number < 1 || number > MAX_VERSION) {
      throw new RegistryError(
        422,
        42202,
        `The specified version '${version}' is not a valid version id. ` +
          `Allowed values are between [1, 2^31-1] and the string "latest"`,
      );
    }
    const found = subject.versions.find((v) => v.version === number);
    if (found === undefined) throw new RegistryError(404, 40402, `Version ${version} not found.`);
    return found;
  }

  private register(subjectName: string, candidate: Candidate): number {
    const subject = this.subjectOrNew(subjectName);
    // Registering a schema the subject already has is a no-op that returns its id (no new version).
    const existing = subject.versions.find((v) => v.schema === candidate.schema);
    if (existing !== undefined) return existing.id;

    const level = subject.compatibility ?? this.globalCompatibility;
    const problems = incompatibilities(level, candidate.type, subject.versions);
    if (problems.length > 0) {
      throw new RegistryError(
        409,
        409,
        `Schema being registered is incompatible with an earlier schema for subject "${subjectName}", ` +
          `details: [${problems.join(', ')}, {compatibility: '${level}'}]`,
      );
    }
    let id = this.idsBySchema.get(candidate.schema);
    if (id === undefined) {
      id = this.schemasById.size + 1;
      this.idsBySchema.set(candidate.schema, id);
      this.schemasById.set(id, candidate.schema);
    }
    const version = (subject.versions.at(-1)?.version ?? 0) + 1;
    subject.versions.push({ version, id, schema: candidate.schema, type: candidate.type });
    return id;
  }

  private lookup(subjectName: string, candidate: Candidate) {
    const found = this.subject(subjectName).versions.find((v) => v.schema === candidate.schema);
    if (found === undefined) throw new RegistryError(404, 40403, 'Schema not found');
    return { subject: subjectName, id: found.id, version: found.version, schema: found.schema };
  }

  /**
   * With a version: that version only, in the direction the subject's level says. Without one: every
   * version the level covers (all of them when transitive), as registration would.
   */
  private checkCompatibility(
    subjectName: string,
    version: string | undefined,
    candidate: Candidate,
    verbose: boolean,
  ) {
    const subject = this.subject(subjectName);
    const level = subject.compatibility ?? this.globalCompatibility;
    const problems =
      version === undefined
        ? incompatibilities(level, candidate.type, subject.versions)
        : incompatibilities(directionOf(level), candidate.type, [this.version(subjectName, version)]);
    // ?verbose=true adds the reasons, as the registry does.
    return verbose
      ? { is_compatible: problems.length === 0, messages: problems }
      : { is_compatible: problems.length === 0 };
  }
}

function isParam(parts: readonly string[], i: number): boolean {
  const root = parts[0];
  if (root === 'subjects' || root === 'config') return i === 1 || i === 3;
  if (root === 'schemas') return i === 2;
  if (root === 'compatibility') return i === 2 || i === 4;
  return false;
}

/** BACKWARD: the new schema reads data written with the old ones; FORWARD: the old ones read the new. */
function incompatibilities(level: Level, candidate: avro.Type, versions: readonly Version[]): string[] {
  if (level === 'NONE' || versions.length === 0) return [];
  const against = level.endsWith('_TRANSITIVE') ? versions : versions.slice(-1);
  const direction = directionOf(level);
  const problems: string[] = [];
  for (const old of against) {
    if (direction !== 'FORWARD') {
      const why = resolveError(candidate, old.type);
      if (why) problems.push(`{oldSchemaVersion: ${old.version}, reader: 'new schema', error: '${why}'}`);
    }
    if (direction !== 'BACKWARD') {
      const why = resolveError(old.type, candidate);
      if (why) problems.push(`{oldSchemaVersion: ${old.version}, reader: 'old schema', error: '${why}'}`);
    }
  }
  return problems;
}

function directionOf(level: Level): 'NONE' | 'BACKWARD' | 'FORWARD' | 'FULL' {
  return level.replace('_TRANSITIVE', '') as 'NONE' | 'BACKWARD' | 'FORWARD' | 'FULL';
}

/** avsc's resolver is Avro's schema resolution: it throws when `reader` cannot read `writer`'s data. */
function resolveError(reader: avro.Type, writer: avro.Type): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

interface Candidate {
  /** Whitespace-free JSON of the schema as sent: identity for "already registered", and what is served. */
  schema: string;
  type: avro.Type;
}

async function readSchema(req: IncomingMessage): Promise<Candidate> {
  const body = await readJson(req);
  const invalid = (why: string) => new RegistryError(422, 42201, `Invalid schema: ${why}`);
  if (typeof body !== 'object' || body === null) throw invalid('the request body is not an object');
  const { schema, schemaType, references } = body as Record<string, unknown>;
  if (schemaType !== undefined && schemaType !== 'AVRO') {
    throw invalid(`schemaType ${String(schemaType)} is not supported by this test double (Avro only)`);
  }
  if (Array.isArray(references) && references.length > 0) {
    throw invalid('schema references are not supported by this test double');
  }
  if (typeof schema !== 'string' || schema.trim() === '') throw invalid('Empty schema');
  try {
    const parsed: unknown = JSON.parse(schema);
    return { schema: JSON.stringify(parsed), type: avro.Type.forSchema(parsed as avro.Schema) };
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : String(error));
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new RegistryError(413, 413, 'Request entity too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    // The registry's JSON parser answers a malformed body with 400 and error_code 400.
    throw new RegistryError(400, 400, `Unrecognized request body: ${(error as Error).message}`);
  }
}

function parseLevel(body: unknown): Level {
  const level = (body as { compatibility?: unknown } | null)?.compatibility;
  if (typeof level === 'string' && (LEVELS as readonly string[]).includes(level.toUpperCase())) {
    return level.toUpperCase() as Level;
  }
  throw new RegistryError(
    422,
    42203,
    'Invalid compatibility level. Valid values are none, backward, forward, full, ' +
      'backward_transitive, forward_transitive, and full_transitive',
  );
}
