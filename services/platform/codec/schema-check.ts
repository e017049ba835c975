// The schema compatibility check (`relayguard schemas check`): asks the registry whether each schema in
// schemas/ may be registered under its subject, i.e. whether consumers built on it can still read every
// version already registered (BACKWARD_TRANSITIVE: e.g. a new field without a default cannot be read from old
// records). Run before deploying a schema change; the tests run it against the schema's git history.
import { RelayguardError } from '../../core/errors.js';
import { type ContractTopic, TopicSchemas } from '../../core/topics.js';
import type { SchemaRegistryConfig } from '../config.js';
import { readSchema } from './avro.js';
import { RegistryRest, subjectOf } from './registry-codec.js';

export const REQUIRED_LEVEL = 'BACKWARD_TRANSITIVE';

export interface SchemaCheckResult {
  readonly topic: ContractTopic;
  readonly subject: string;
  readonly file: string;
  /**
   * new: nothing registered yet; compatible or incompatible with the registered versions; not-transitive: the
   * subject's level lets a change through that BACKWARD_TRANSITIVE would refuse, so the check proves too little.
   */
  readonly status: 'new' | 'compatible' | 'incompatible' | 'not-transitive';
  /** Versions registered under the subject. */
  readonly versions: number;
  /** The subject's compatibility level (the global one when the subject has none). */
  readonly level: string | undefined;
  /** Why the check failed: the registry's reasons, a wrong compatibility level, an unreadable file. */
  readonly problems: readonly string[];
}

export async function checkSchemas(
  registry: SchemaRegistryConfig,
  schemasDir?: string,
): Promise<SchemaCheckResult[]> {
  const rest = new RegistryRest(registry);
  const results: SchemaCheckResult[] = [];
  for (const topic of Object.keys(TopicSchemas) as ContractTopic[]) {
    results.push(await checkOne(rest, topic, schemasDir));
  }
  return results;
}

async function checkOne(
  rest: RegistryRest,
  topic: ContractTopic,
  schemasDir: string | undefined,
): Promise<SchemaCheckResult> {
  const subject = subjectOf(topic);
  const path = encodeURIComponent(subject);
  const base = { topic, subject, file: TopicSchemas[topic] };
  let schema: string;
  try {
    schema = JSON.stringify(readSchema(topic, schemasDir));
  } catch (error) {
    return { ...base, status: 'incompatible', versions: 0, level: undefined, problems: [String(error)] };
  }
  const versions = ((await rest.request('GET', `/subjects/${path}/versions`)) as number[] | undefined) ?? [];
  if (versions.length === 0) return { ...base, status: 'new', versions: 0, level: undefined, problems: [] };

  const config = (await rest.request('GET', `/config/${path}?defaultToGlobal=true`)) as
    | { compatibilityLevel?: string }
    | undefined;
  const level = config?.compatibilityLevel?.toUpperCase();
  // Without a version the registry checks against the versions its level covers: all of them when transitive.
  const answer = (await rest.request('POST', `/compatibility/subjects/${path}/versions?verbose=true`, {
    schema,
  })) as { is_compatible?: unknown; messages?: unknown } | undefined;
  if (answer === undefined || typeof answer.is_compatible !== 'boolean') {
    throw new RelayguardError('REGISTRY_UNAVAILABLE', `${subject}: unexpected compatibility answer`);
  }
  const problems: string[] = answer.is_compatible
    ? []
    : Array.isArray(answer.messages) && answer.messages.length > 0
      ? answer.messages.map(String)
      : ['the registry refuses it (no reason given)'];
  const transitive = level === REQUIRED_LEVEL;
  if (!transitive) {
    problems.push(
      `compatibility level is ${level ?? 'unknown'}, not ${REQUIRED_LEVEL}: older versions are not all checked (relayguard topics sets it)`,
    );
  }
  return {
    ...base,
    status: !answer.is_compatible ? 'incompatible' : transitive ? 'compatible' : 'not-transitive',
    versions: versions.length,
    level,
    problems,
  };
}
