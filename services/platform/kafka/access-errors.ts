// A broker that refuses relayguard's credentials or permissions: a setting to fix, named in one line, not an outage
// to retry. kafkajs reports a refused SASL login as KafkaJSSASLAuthenticationError and a missing ACL as a protocol
// error of type *_AUTHORIZATION_FAILED, often wrapped (KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded).
import { RelayguardError } from '../../core/errors.js';
import type { KafkaConfig } from '../config.js';
import type { Refusal } from './access-check.js';

/** What the failed call touched, for the message. */
export interface KafkaResources {
  readonly topics?: readonly string[];
  readonly group?: string;
}

function* causes(error: unknown): Generator<{ name?: string; type?: string }> {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    yield current as { name?: string; type?: string };
    current = (current as { cause?: unknown }).cause;
  }
}

/** The INVALID_CONFIG error that names the variable and the refused resource; undefined for any other error. */
export function accessError(
  error: unknown,
  config: KafkaConfig,
  resources: KafkaResources,
): RelayguardError | undefined {
  const chain = [...causes(error)];
  const user = principal(config);
  if (chain.some((cause) => cause.name === 'KafkaJSSASLAuthenticationError')) {
    return new RelayguardError(
      'INVALID_CONFIG',
      `KAFKA_SASL_PASSWORD: the brokers refused the SASL ${config.sasl?.mechanism ?? ''} login of ${user} (check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD)`,
      { field: 'KAFKA_SASL_PASSWORD', cause: error },
    );
  }
  const type = chain.map((cause) => cause.type).find((t) => t?.endsWith('_AUTHORIZATION_FAILED'));
  if (type === undefined) return undefined;
  const refused =
    type === 'TOPIC_AUTHORIZATION_FAILED'
      ? `topic ${resources.topics?.join(', ') ?? '(unknown)'}`
      : type === 'GROUP_AUTHORIZATION_FAILED'
        ? `consumer group ${resources.group ?? '(unknown)'}`
        : type === 'CLUSTER_AUTHORIZATION_FAILED'
          ? 'the cluster'
          : type;
  return aclError(config, `${refused} (${type})`, error);
}

/** The INVALID_CONFIG error of the startup check (access-check.ts): every refused topic and group, in one line. */
export function refusedAccessError(config: KafkaConfig, refused: readonly Refusal[]): RelayguardError {
  const what = refused.map(({ resource, name, missing, undescribed }) => {
    const failed = resource === 'topic' ? 'TOPIC_AUTHORIZATION_FAILED' : 'GROUP_AUTHORIZATION_FAILED';
    return `${resource} ${name} (${missing} not allowed${undescribed ? `: ${failed}` : ''})`;
  });
  return aclError(config, what.join(', '));
}

function principal(config: KafkaConfig): string {
  return config.sasl ? `user '${config.sasl.username}'` : 'the anonymous user (no KAFKA_SASL_MECHANISM)';
}

function aclError(config: KafkaConfig, refused: string, cause?: unknown): RelayguardError {
  return new RelayguardError(
    'INVALID_CONFIG',
    `KAFKA_SASL_USERNAME: the brokers' ACLs do not allow ${principal(config)} on ${refused}; grant the ACLs deploy/RUNBOOK.md lists for this service`,
    { field: 'KAFKA_SASL_USERNAME', cause },
  );
}
