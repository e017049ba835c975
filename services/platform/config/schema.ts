// Every environment variable relayguard reads, with its default and its rule, and the rules that tie variables
// together.
import { z } from 'zod';
import { BLOCK_SCOPE_MODES, DEFAULT_POLICY } from '../../core/policy.js';
import { allowedClients, DEFAULT_POSTFIX_ALLOWED_CLIENTS, tokensVariable } from './access.js';
import { DEFAULT_HTTP_LIMITS } from './types.js';
import {
  dnsServerList,
  flag,
  hostPortList,
  numeric,
  optionalText,
  optionalUrl,
  port,
  positiveInt,
} from './values.js';
import { webhooksVariable } from './webhooks.js';

export const EnvSchema = z
  .object({
    KAFKA_BROKERS: hostPortList,
    KAFKA_CLIENT_ID: z.string().trim().min(1).default('relayguard'),
    KAFKA_SSL: flag(false),
    KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
    KAFKA_SASL_USERNAME: optionalText,
    KAFKA_SASL_PASSWORD: optionalText,
    KAFKA_IDEMPOTENT: flag(true),
    // Brokers accept 6 s to 30 s by default (group.min/max.session.timeout.ms).
    KAFKA_SESSION_TIMEOUT_MS: numeric(30_000, { min: 6_000, max: 300_000 }),
    // A broker answers a fetch as soon as it has records; the wait bounds only idle polling (below 10 ms an idle
    // consumer would poll the brokers in a loop).
    KAFKA_FETCH_MAX_WAIT_MS: numeric(1_000, { min: 10, max: 30_000 }),
    // The directory's topics are small and carry the blocks every enforcer must learn at once: idle fetches of
    // their feed are cheap, and a broker that holds a fetch its full wait (some test clusters do) costs this much.
    KAFKA_DIRECTORY_FETCH_MAX_WAIT_MS: numeric(100, { min: 10, max: 30_000 }),
    // Basic auth as https://user:password@host: the credentials are split off before anything is printed.
    SCHEMA_REGISTRY_URL: optionalUrl,
    // rediss:// for TLS; user and password in the URL for AUTH.
    REDIS_URL: optionalUrl.refine(
      (url) => url === undefined || /^rediss?:\/\//.test(url),
      'must start with redis:// or rediss:// (TLS)',
    ),
    REDIS_CLUSTER_NODES: hostPortList,
    // Replicas (of each master written to) that must hold a save before its offsets are committed (WAIT).
    REDIS_WAIT_REPLICAS: numeric(0, { min: 0, max: 5 }),
    REDIS_WAIT_TIMEOUT_MS: numeric(1_000, { min: 10, max: 60_000 }),
    RELAYGUARD_BIND_ADDRESS: z
      .union([z.ipv4(), z.ipv6()], { error: 'must be an IP address' })
      .default('127.0.0.1'),
    RELAYGUARD_HTTP_PORT: port(8080),
    RELAYGUARD_POSTFIX_PORT: port(10040),
    // The HTTP side shares the process (and its file descriptors) with the policy port: capped and timed out so
    // slow clients cannot starve the relays.
    RELAYGUARD_HTTP_MAX_CONNECTIONS: positiveInt(DEFAULT_HTTP_LIMITS.maxConnections),
    RELAYGUARD_HTTP_HEADERS_TIMEOUT_SECONDS: positiveInt(DEFAULT_HTTP_LIMITS.headersTimeoutMs / 1000, 300),
    RELAYGUARD_HTTP_REQUEST_TIMEOUT_SECONDS: positiveInt(DEFAULT_HTTP_LIMITS.requestTimeoutMs / 1000, 600),
    RELAYGUARD_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: positiveInt(
      DEFAULT_HTTP_LIMITS.keepAliveTimeoutMs / 1000,
      600,
    ),
    RELAYGUARD_POSTFIX_MAX_CONNECTIONS: positiveInt(4096),
    // Longer than Postfix's smtpd_policy_service_max_idle (300 s): Postfix closes idle connections first.
    RELAYGUARD_POSTFIX_IDLE_TIMEOUT_SECONDS: positiveInt(330),
    RELAYGUARD_POSTFIX_REQUEST_TIMEOUT_SECONDS: positiveInt(10),
    RELAYGUARD_POSTFIX_ALLOWED_CLIENTS: allowedClients.prefault(DEFAULT_POSTFIX_ALLOWED_CLIENTS),
    RELAYGUARD_TOKENS: tokensVariable.default([]),
    RELAYGUARD_RATE_LIMIT_PER_MINUTE: positiveInt(600),
    // 10,000 decisions a second per relay token: a busy relay's every message, not a leaked token's flood.
    RELAYGUARD_RELAY_RATE_LIMIT_PER_MINUTE: positiveInt(600_000),
    RELAYGUARD_URL: optionalUrl,
    RELAYGUARD_TOKEN: z.string().trim().optional(),
    RELAYGUARD_LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    RELAYGUARD_POLICY_MODE: z.enum(['ENFORCE', 'MONITOR']).default(DEFAULT_POLICY.mode),
    RELAYGUARD_BLOCK_SCOPE: z
      .enum(BLOCK_SCOPE_MODES, { error: 'must be tenant, connector or auto' })
      .default(DEFAULT_POLICY.blockScope),
    RELAYGUARD_MIN_UNREGISTERED: positiveInt(DEFAULT_POLICY.thresholds.minUnregistered),
    RELAYGUARD_MIN_UNREGISTERED_RATIO: numeric(DEFAULT_POLICY.thresholds.minUnregisteredRatio, {
      min: 0,
      max: 1,
      fraction: true,
    }),
    RELAYGUARD_MIN_DISTINCT_DOMAINS: positiveInt(DEFAULT_POLICY.thresholds.minDistinctDomains),
    RELAYGUARD_MIN_UNREGISTERED_WITH_DISTINCT: positiveInt(
      DEFAULT_POLICY.thresholds.minUnregisteredWithDistinct,
    ),
    RELAYGUARD_FORWARDED_WEIGHT: numeric(DEFAULT_POLICY.forwardedWeight, { min: 0, max: 1, fraction: true }),
    RELAYGUARD_WINDOW_MINUTES: positiveInt(DEFAULT_POLICY.windowMinutes, 1440),
    RELAYGUARD_GRACE_MINUTES: numeric(DEFAULT_POLICY.graceMinutes, { min: 0 }),
    RELAYGUARD_DISTINCT_DOMAIN_CAP: positiveInt(DEFAULT_POLICY.distinctDomainCap, 10_000),
    RELAYGUARD_PROBATION_DAYS: numeric(7, { min: 0, fraction: true }),
    // A tenant administrator may claim sender ranges this narrow or narrower; broader ones need an operator.
    RELAYGUARD_TENANT_MIN_PREFIX_IPV4: numeric(16, { min: 0, max: 32 }),
    RELAYGUARD_TENANT_MIN_PREFIX_IPV6: numeric(32, { min: 0, max: 128 }),
    // Domain verification looks up TXT records here (empty: the system's resolvers).
    RELAYGUARD_DNS_SERVERS: dnsServerList,
    RELAYGUARD_DNS_TIMEOUT_MS: numeric(3_000, { min: 100, max: 60_000 }),
    // How often verified domains are looked up again (0: never); a lost record is reported, not enforced.
    RELAYGUARD_DNS_RECHECK_HOURS: numeric(24, { min: 0, fraction: true }),
    // Bounces (null sender) a blocked tenant may still relay per hour and enforcer: they flow, a flood does not.
    RELAYGUARD_BLOCKED_BOUNCES_PER_HOUR: numeric(100, { min: 0 }),
    RELAYGUARD_MAX_CLOCK_SKEW_SECONDS: numeric(120, { min: 0 }),
    RELAYGUARD_NOT_READY_FALLBACK: z.enum(['accept', 'tempfail']).default('accept'),
    // The enforcer's END-OF-MESSAGE event spool (docs/spool.md): off unless a directory is given.
    RELAYGUARD_SPOOL_DIR: optionalText.refine((value) => value === undefined || value.startsWith('/'), {
      error: 'must be an absolute path (a directory of its own for each enforcer process)',
    }),
    RELAYGUARD_SPOOL_MAX_BYTES: numeric(1 << 30, { min: 1 << 20, note: ' (bytes, 1 MiB at least)' }),
    RELAYGUARD_SPOOL_FULL_ACTION: z
      .enum(['accept', 'defer'], { error: 'must be accept or defer' })
      .default('accept'),
    // An enforcer alone writes its index's snapshot here and starts from it (README): off unless set.
    RELAYGUARD_SNAPSHOT_DIR: optionalText.refine((value) => value === undefined || value.startsWith('/'), {
      error: 'must be an absolute path',
    }),
    RELAYGUARD_SNAPSHOT_INTERVAL_SECONDS: numeric(600, { min: 0, fraction: true }),
    RELAYGUARD_PARTITIONS: positiveInt(12),
    RELAYGUARD_SCORER_CACHE_TENANTS: positiveInt(50_000),
    // 0 saves the windows after every batch; above a minute a crash replays more than a minute of events.
    RELAYGUARD_SCORER_COMMIT_INTERVAL_MS: numeric(1_000, { min: 0, max: 60_000 }),
    RELAYGUARD_WEBHOOKS: webhooksVariable.default([]),
    // Loopback, private and link-local destinations are refused unless allowed (a URL must not reach the
    // deployment's own network: SSRF).
    RELAYGUARD_WEBHOOK_ALLOW_PRIVATE: flag(false),
    RELAYGUARD_WEBHOOK_MAX_ATTEMPTS: positiveInt(8, 100),
  })
  .superRefine((env, ctx) => {
    if (env.RELAYGUARD_HTTP_HEADERS_TIMEOUT_SECONDS > env.RELAYGUARD_HTTP_REQUEST_TIMEOUT_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['RELAYGUARD_HTTP_HEADERS_TIMEOUT_SECONDS'],
        message: 'must not exceed RELAYGUARD_HTTP_REQUEST_TIMEOUT_SECONDS',
      });
    }
    if (env.RELAYGUARD_GRACE_MINUTES >= env.RELAYGUARD_WINDOW_MINUTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['RELAYGUARD_GRACE_MINUTES'],
        message: 'must be less than RELAYGUARD_WINDOW_MINUTES',
      });
    }
    // A relay this far ahead moves the tenant's stream time by as much: correct events must still be inside grace.
    if (
      env.RELAYGUARD_MAX_CLOCK_SKEW_SECONDS > 0 &&
      env.RELAYGUARD_MAX_CLOCK_SKEW_SECONDS >= env.RELAYGUARD_GRACE_MINUTES * 60
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['RELAYGUARD_MAX_CLOCK_SKEW_SECONDS'],
        message:
          'must be less than RELAYGUARD_GRACE_MINUTES in seconds, or a relay clock that far ahead makes delayed mail late',
      });
    }
    if (env.RELAYGUARD_DISTINCT_DOMAIN_CAP < env.RELAYGUARD_MIN_DISTINCT_DOMAINS) {
      ctx.addIssue({
        code: 'custom',
        path: ['RELAYGUARD_DISTINCT_DOMAIN_CAP'],
        message: 'must be at least RELAYGUARD_MIN_DISTINCT_DOMAINS, or D could never reach its threshold',
      });
    }
    // Kafka carries Avro framed by the registry. The services also need Redis with Kafka (checked when the
    // adapters are built): the topics and schemas commands do not.
    const kafka = env.KAFKA_BROKERS.length > 0;
    if (kafka && !env.SCHEMA_REGISTRY_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['SCHEMA_REGISTRY_URL'],
        message: 'is required when KAFKA_BROKERS is set',
      });
    }
    // An in-memory log with a shared window store would count every event of every restart again.
    if (!kafka && env.REDIS_URL) {
      ctx.addIssue({ code: 'custom', path: ['KAFKA_BROKERS'], message: 'is required when REDIS_URL is set' });
    }
    if (env.REDIS_CLUSTER_NODES.length > 0 && !env.REDIS_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_URL'],
        message: 'is required with REDIS_CLUSTER_NODES (it carries the credentials, and rediss:// for TLS)',
      });
    }
    const sasl = {
      KAFKA_SASL_USERNAME: env.KAFKA_SASL_USERNAME,
      KAFKA_SASL_PASSWORD: env.KAFKA_SASL_PASSWORD,
    };
    for (const [variable, value] of Object.entries(sasl)) {
      if (env.KAFKA_SASL_MECHANISM && value === undefined) {
        ctx.addIssue({ code: 'custom', path: [variable], message: 'is required with KAFKA_SASL_MECHANISM' });
      }
    }
    if (!env.KAFKA_SASL_MECHANISM && Object.values(sasl).some((value) => value !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['KAFKA_SASL_MECHANISM'],
        message:
          'is required with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (plain, scram-sha-256 or scram-sha-512)',
      });
    }
    if (env.SCHEMA_REGISTRY_URL && !/^https?:\/\//.test(env.SCHEMA_REGISTRY_URL)) {
      ctx.addIssue({
        code: 'custom',
        path: ['SCHEMA_REGISTRY_URL'],
        message: 'must start with http:// or https://',
      });
    }
  });

/** Every environment variable relayguard reads (deployment files are checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(EnvSchema.shape);
