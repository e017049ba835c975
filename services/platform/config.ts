// Configuration is read once, here: the environment is parsed against a schema, every problem is reported at
// once with the variable's name, and the frozen result is passed down. Nothing else reads process.env.
// The parts: config/values.ts (one variable), access.ts and webhooks.ts (the lists), schema.ts (every variable),
// types.ts (the result).
import { RelayguardError } from '../core/errors.js';
import { DEFAULT_POLICY } from '../core/policy.js';
import { underCurrentNames } from './config/renamed.js';
import { EnvSchema } from './config/schema.js';
import type { Config, SchemaRegistryConfig } from './config/types.js';

export { type ApiToken, DEFAULT_POSTFIX_ALLOWED_CLIENTS, type TokenRole } from './config/access.js';
export { RENAMED_VARIABLES } from './config/renamed.js';
export { CONFIG_VARIABLES } from './config/schema.js';
export type {
  Config,
  HttpLimits,
  KafkaConfig,
  RedisConfig,
  SchemaRegistryConfig,
  SpoolConfig,
} from './config/types.js';
export { DEFAULT_HTTP_LIMITS } from './config/types.js';
export { ID_PATTERN, ID_RULE } from './config/values.js';
export type { WebhookEndpoint } from './config/webhooks.js';
export { ENDPOINT_ID_PATTERN, ENDPOINT_ID_RULE } from './config/webhooks.js';

/**
 * Parses the environment; throws INVALID_CONFIG listing every problem as `VARIABLE: what is wrong`. A variable
 * under its old name (RENAMED_VARIABLES) is read, and named in `warnings`.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const renamed = underCurrentNames(env);
  const nameSet = (variable: string) => renamed.setAs.get(variable) ?? variable;
  const parsed = EnvSchema.safeParse(renamed.env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const [variable = '(environment)', ...rest] = issue.path.map(String);
      return `${nameSet(variable)}: ${issue.message}${rest.length > 0 ? ` (entry ${Number(rest[0]) + 1})` : ''}`;
    });
    throw new RelayguardError('INVALID_CONFIG', `invalid configuration:\n  ${problems.join('\n  ')}`, {
      field: nameSet(String(parsed.error.issues[0]?.path[0] ?? '')),
    });
  }
  const e = parsed.data;
  const sasl =
    e.KAFKA_SASL_MECHANISM && e.KAFKA_SASL_USERNAME && e.KAFKA_SASL_PASSWORD
      ? {
          mechanism: e.KAFKA_SASL_MECHANISM,
          username: e.KAFKA_SASL_USERNAME,
          password: e.KAFKA_SASL_PASSWORD,
        }
      : undefined;
  const kafka =
    e.KAFKA_BROKERS.length > 0
      ? {
          brokers: e.KAFKA_BROKERS,
          clientId: e.KAFKA_CLIENT_ID,
          ssl: e.KAFKA_SSL,
          sasl,
          idempotent: e.KAFKA_IDEMPOTENT,
          sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
          fetchMaxWaitMs: e.KAFKA_FETCH_MAX_WAIT_MS,
          directoryFetchMaxWaitMs: e.KAFKA_DIRECTORY_FETCH_MAX_WAIT_MS,
        }
      : undefined;
  return deepFreeze({
    embedded: kafka === undefined,
    kafka,
    schemaRegistry: e.SCHEMA_REGISTRY_URL ? splitCredentials(e.SCHEMA_REGISTRY_URL) : undefined,
    redis: e.REDIS_URL
      ? {
          url: e.REDIS_URL,
          clusterNodes: e.REDIS_CLUSTER_NODES.map((node) => {
            const [host = '', port = ''] = node.split(':');
            return { host, port: Number(port) };
          }),
          waitReplicas: e.REDIS_WAIT_REPLICAS,
          waitTimeoutMs: e.REDIS_WAIT_TIMEOUT_MS,
        }
      : undefined,
    bindAddress: e.RELAYGUARD_BIND_ADDRESS,
    httpPort: e.RELAYGUARD_HTTP_PORT,
    postfixPort: e.RELAYGUARD_POSTFIX_PORT,
    httpService: {
      maxConnections: e.RELAYGUARD_HTTP_MAX_CONNECTIONS,
      headersTimeoutMs: e.RELAYGUARD_HTTP_HEADERS_TIMEOUT_SECONDS * 1000,
      requestTimeoutMs: e.RELAYGUARD_HTTP_REQUEST_TIMEOUT_SECONDS * 1000,
      keepAliveTimeoutMs: e.RELAYGUARD_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
    },
    postfixService: {
      maxConnections: e.RELAYGUARD_POSTFIX_MAX_CONNECTIONS,
      idleTimeoutMs: e.RELAYGUARD_POSTFIX_IDLE_TIMEOUT_SECONDS * 1000,
      requestTimeoutMs: e.RELAYGUARD_POSTFIX_REQUEST_TIMEOUT_SECONDS * 1000,
      allowedClients: e.RELAYGUARD_POSTFIX_ALLOWED_CLIENTS,
    },
    tokens: e.RELAYGUARD_TOKENS,
    rateLimitPerMinute: e.RELAYGUARD_RATE_LIMIT_PER_MINUTE,
    relayRateLimitPerMinute: e.RELAYGUARD_RELAY_RATE_LIMIT_PER_MINUTE,
    client: {
      url: e.RELAYGUARD_URL ?? `http://127.0.0.1:${e.RELAYGUARD_HTTP_PORT}`,
      token: e.RELAYGUARD_TOKEN || undefined,
    },
    logLevel: e.RELAYGUARD_LOG_LEVEL,
    policy: {
      ...DEFAULT_POLICY,
      mode: e.RELAYGUARD_POLICY_MODE,
      blockScope: e.RELAYGUARD_BLOCK_SCOPE,
      thresholds: {
        minUnregistered: e.RELAYGUARD_MIN_UNREGISTERED,
        minUnregisteredRatio: e.RELAYGUARD_MIN_UNREGISTERED_RATIO,
        minDistinctDomains: e.RELAYGUARD_MIN_DISTINCT_DOMAINS,
        minUnregisteredWithDistinct: e.RELAYGUARD_MIN_UNREGISTERED_WITH_DISTINCT,
      },
      forwardedWeight: e.RELAYGUARD_FORWARDED_WEIGHT,
      windowMinutes: e.RELAYGUARD_WINDOW_MINUTES,
      graceMinutes: e.RELAYGUARD_GRACE_MINUTES,
      distinctDomainCap: e.RELAYGUARD_DISTINCT_DOMAIN_CAP,
    },
    probationMs: e.RELAYGUARD_PROBATION_DAYS * 86_400_000,
    tenantMinPrefix: {
      ipv4: e.RELAYGUARD_TENANT_MIN_PREFIX_IPV4,
      ipv6: e.RELAYGUARD_TENANT_MIN_PREFIX_IPV6,
    },
    dns: {
      servers: e.RELAYGUARD_DNS_SERVERS,
      timeoutMs: e.RELAYGUARD_DNS_TIMEOUT_MS,
      tries: 2,
      recheckMs: e.RELAYGUARD_DNS_RECHECK_HOURS * 3_600_000,
    },
    maxClockSkewMs: e.RELAYGUARD_MAX_CLOCK_SKEW_SECONDS * 1000,
    notReadyFallback: e.RELAYGUARD_NOT_READY_FALLBACK,
    blockedBouncesPerHour: e.RELAYGUARD_BLOCKED_BOUNCES_PER_HOUR,
    spool: e.RELAYGUARD_SPOOL_DIR
      ? {
          directory: e.RELAYGUARD_SPOOL_DIR,
          maxBytes: e.RELAYGUARD_SPOOL_MAX_BYTES,
          whenFull: e.RELAYGUARD_SPOOL_FULL_ACTION,
        }
      : undefined,
    snapshot: e.RELAYGUARD_SNAPSHOT_DIR
      ? { directory: e.RELAYGUARD_SNAPSHOT_DIR, intervalMs: e.RELAYGUARD_SNAPSHOT_INTERVAL_SECONDS * 1000 }
      : undefined,
    partitions: e.RELAYGUARD_PARTITIONS,
    scorer: {
      windowCacheTenants: e.RELAYGUARD_SCORER_CACHE_TENANTS,
      commitIntervalMs: e.RELAYGUARD_SCORER_COMMIT_INTERVAL_MS,
    },
    webhooks: {
      endpoints: e.RELAYGUARD_WEBHOOKS,
      allowPrivate: e.RELAYGUARD_WEBHOOK_ALLOW_PRIVATE,
      maxAttempts: e.RELAYGUARD_WEBHOOK_MAX_ATTEMPTS,
    },
    warnings: renamed.warnings,
  });
}

/**
 * Freezes the configuration all the way down: a service that changed a threshold or a token list in place would
 * change it for every other service of the process.
 */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function splitCredentials(raw: string): SchemaRegistryConfig {
  const url = new URL(raw);
  const auth = url.username
    ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }
    : undefined;
  url.username = '';
  url.password = '';
  return { url: url.toString().replace(/\/$/, ''), auth };
}

/** A URL fit for a banner or a log line: the password (and user) replaced. */
export function redactUrl(raw: string): string {
  const url = new URL(raw);
  if (url.username || url.password) {
    url.username = url.username ? '***' : '';
    url.password = url.password ? '***' : '';
  }
  return url.toString().replace(/\/$/, '');
}
