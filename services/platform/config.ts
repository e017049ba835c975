// Configuration is read once, here: the environment is parsed against a schema, every problem is reported at
// once with the variable's name, and the frozen result is passed down. Nothing else reads process.env.
import { z } from 'zod';
import { RelayguardError } from '../core/errors.js';
import { DEFAULT_POLICY, type Policy } from '../core/policy.js';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
/** Tenant and connector ids: what a URL path segment, a Kafka key part and a log field can carry unescaped. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const ID_RULE = '1-128 letters, digits, dots, underscores or hyphens, starting with a letter or digit';

export type TokenRole = 'operator' | 'reader' | 'tenant-admin';

export interface ApiToken {
  readonly token: string;
  readonly role: TokenRole;
  /** The tenant a tenant-admin token manages; null for the other roles. */
  readonly tenantId: string | null;
}

/** Short enough to type, long enough that guessing one is hopeless. */
const MIN_TOKEN_LENGTH = 16;

// Messages name the entry by position only: a token must never appear in an error message or a log line.
const tokensVariable = z.string().transform((value, ctx): ApiToken[] => {
  const tokens: ApiToken[] = [];
  const entries = value.trim() === '' ? [] : value.split(',');
  for (const [index, raw] of entries.entries()) {
    const entry = raw.trim();
    const problem = (message: string) =>
      ctx.addIssue({ code: 'custom', message: `entry ${index + 1}: ${message}` });
    const [token = '', role = '', ...rest] = entry.split(':');
    const tenantId = rest.join(':');
    if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
      problem(
        `the token must be at least ${MIN_TOKEN_LENGTH} characters without spaces (e.g. from \`openssl rand -hex 24\`)`,
      );
    } else if (tokens.some((other) => other.token === token)) {
      problem('the same token appears twice');
    } else if ((role === 'operator' || role === 'reader') && rest.length === 0) {
      tokens.push({ token, role, tenantId: null });
    } else if (role === 'tenant-admin' && ID_PATTERN.test(tenantId)) {
      tokens.push({ token, role, tenantId });
    } else if (role === 'tenant-admin') {
      problem(`expected <token>:tenant-admin:<tenantId> with a tenant id of ${ID_RULE}`);
    } else {
      problem('expected <token>:operator, <token>:reader or <token>:tenant-admin:<tenantId>');
    }
  }
  return tokens;
});

const optionalUrl = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .pipe(z.url().optional())
  .optional();

const EnvSchema = z
  .object({
    KAFKA_BROKERS: z
      .string()
      .trim()
      .transform((value) => (value === '' ? [] : value.split(',').map((broker) => broker.trim())))
      .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each broker must be host:port')))
      .default([]),
    SCHEMA_REGISTRY_URL: optionalUrl,
    REDIS_URL: optionalUrl,
    RELAYGUARD_BIND_ADDRESS: z
      .union([z.ipv4(), z.ipv6()], { error: 'must be an IP address' })
      .default('127.0.0.1'),
    RELAYGUARD_HTTP_PORT: port(8080),
    RELAYGUARD_POLICY_PORT: port(10040),
    RELAYGUARD_POLICY_MAX_CONNECTIONS: positiveInt(4096),
    // Longer than Postfix's smtpd_policy_service_max_idle (300 s): Postfix closes idle connections first.
    RELAYGUARD_POLICY_IDLE_TIMEOUT_SECONDS: positiveInt(330),
    RELAYGUARD_POLICY_REQUEST_TIMEOUT_SECONDS: positiveInt(10),
    RELAYGUARD_TOKENS: tokensVariable.default([]),
    RELAYGUARD_RATE_LIMIT_PER_MINUTE: positiveInt(600),
    RELAYGUARD_URL: optionalUrl,
    RELAYGUARD_TOKEN: z.string().trim().optional(),
    RELAYGUARD_LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    RELAYGUARD_POLICY_MODE: z.enum(['ENFORCE', 'MONITOR']).default(DEFAULT_POLICY.mode),
    RELAYGUARD_MIN_UNREGISTERED: positiveInt(DEFAULT_POLICY.thresholds.minUnregistered),
    RELAYGUARD_MIN_UNREGISTERED_RATIO: z.coerce
      .number()
      .min(0)
      .max(1)
      .default(DEFAULT_POLICY.thresholds.minUnregisteredRatio),
    RELAYGUARD_MIN_DISTINCT_DOMAINS: positiveInt(DEFAULT_POLICY.thresholds.minDistinctDomains),
    RELAYGUARD_MIN_UNREGISTERED_WITH_DISTINCT: positiveInt(
      DEFAULT_POLICY.thresholds.minUnregisteredWithDistinct,
    ),
    RELAYGUARD_FORWARDED_WEIGHT: z.coerce.number().min(0).max(1).default(DEFAULT_POLICY.forwardedWeight),
    RELAYGUARD_WINDOW_MINUTES: positiveInt(DEFAULT_POLICY.windowMinutes).pipe(z.number().max(1440)),
    RELAYGUARD_GRACE_MINUTES: z.coerce.number().int().min(0).default(DEFAULT_POLICY.graceMinutes),
    RELAYGUARD_DISTINCT_DOMAIN_CAP: positiveInt(DEFAULT_POLICY.distinctDomainCap).pipe(
      z.number().max(10_000),
    ),
    RELAYGUARD_PROBATION_DAYS: z.coerce.number().min(0).default(7),
    RELAYGUARD_MAX_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).default(300),
    RELAYGUARD_NOT_READY_FALLBACK: z.enum(['accept', 'tempfail']).default('accept'),
    RELAYGUARD_PARTITIONS: positiveInt(12),
  })
  .superRefine((env, ctx) => {
    if (env.RELAYGUARD_GRACE_MINUTES >= env.RELAYGUARD_WINDOW_MINUTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['RELAYGUARD_GRACE_MINUTES'],
        message: 'must be less than RELAYGUARD_WINDOW_MINUTES',
      });
    }
    if (env.RELAYGUARD_DISTINCT_DOMAIN_CAP < env.RELAYGUARD_MIN_DISTINCT_DOMAINS) {
      ctx.addIssue({
        code: 'custom',
        path: ['RELAYGUARD_DISTINCT_DOMAIN_CAP'],
        message: 'must be at least RELAYGUARD_MIN_DISTINCT_DOMAINS, or D could never reach its threshold',
      });
    }
    const kafka = env.KAFKA_BROKERS.length > 0;
    if (kafka && !env.SCHEMA_REGISTRY_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['SCHEMA_REGISTRY_URL'],
        message: 'is required when KAFKA_BROKERS is set',
      });
    }
    if (!kafka && env.SCHEMA_REGISTRY_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['KAFKA_BROKERS'],
        message: 'is required when SCHEMA_REGISTRY_URL is set',
      });
    }
  });

/** Every environment variable relayguard reads (deployment files are checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(EnvSchema.shape);

export interface Config {
  /** Embedded: every port on its in-memory adapter, in one process. */
  readonly embedded: boolean;
  readonly kafka: { readonly brokers: readonly string[] } | undefined;
  readonly schemaRegistryUrl: string | undefined;
  readonly redisUrl: string | undefined;
  readonly bindAddress: string;
  readonly httpPort: number;
  readonly policyPort: number;
  /** The Postfix policy server's caps and timeouts. */
  readonly policyService: {
    readonly maxConnections: number;
    readonly idleTimeoutMs: number;
    readonly requestTimeoutMs: number;
  };
  /** Admin API bearer tokens with their roles (RELAYGUARD_TOKENS). */
  readonly tokens: readonly ApiToken[];
  /** Admin API requests a minute per token (per client address without a valid token). */
  readonly rateLimitPerMinute: number;
  /** Where the admin CLI commands send their requests, and with which token. */
  readonly client: { readonly url: string; readonly token: string | undefined };
  readonly logLevel: string;
  readonly policy: Policy;
  readonly probationMs: number;
  readonly maxClockSkewMs: number;
  readonly notReadyFallback: 'accept' | 'tempfail';
  readonly partitions: number;
}

/** Parses the environment; throws INVALID_CONFIG listing every problem as `VARIABLE: what is wrong`. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const [variable = '(environment)', ...rest] = issue.path.map(String);
      return `${variable}: ${issue.message}${rest.length > 0 ? ` (entry ${Number(rest[0]) + 1})` : ''}`;
    });
    throw new RelayguardError('INVALID_CONFIG', `invalid configuration:\n  ${problems.join('\n  ')}`, {
      field: String(parsed.error.issues[0]?.path[0] ?? ''),
    });
  }
  const e = parsed.data;
  const kafka = e.KAFKA_BROKERS.length > 0 ? { brokers: e.KAFKA_BROKERS } : undefined;
  return Object.freeze({
    embedded: !kafka && !e.REDIS_URL,
    kafka,
    schemaRegistryUrl: e.SCHEMA_REGISTRY_URL,
    redisUrl: e.REDIS_URL,
    bindAddress: e.RELAYGUARD_BIND_ADDRESS,
    httpPort: e.RELAYGUARD_HTTP_PORT,
    policyPort: e.RELAYGUARD_POLICY_PORT,
    policyService: Object.freeze({
      maxConnections: e.RELAYGUARD_POLICY_MAX_CONNECTIONS,
      idleTimeoutMs: e.RELAYGUARD_POLICY_IDLE_TIMEOUT_SECONDS * 1000,
      requestTimeoutMs: e.RELAYGUARD_POLICY_REQUEST_TIMEOUT_SECONDS * 1000,
    }),
    tokens: e.RELAYGUARD_TOKENS,
    rateLimitPerMinute: e.RELAYGUARD_RATE_LIMIT_PER_MINUTE,
    client: {
      url: e.RELAYGUARD_URL ?? `http://127.0.0.1:${e.RELAYGUARD_HTTP_PORT}`,
      token: e.RELAYGUARD_TOKEN || undefined,
    },
    logLevel: e.RELAYGUARD_LOG_LEVEL,
    policy: Object.freeze({
      ...DEFAULT_POLICY,
      mode: e.RELAYGUARD_POLICY_MODE,
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
    }),
    probationMs: e.RELAYGUARD_PROBATION_DAYS * 86_400_000,
    maxClockSkewMs: e.RELAYGUARD_MAX_CLOCK_SKEW_SECONDS * 1000,
    notReadyFallback: e.RELAYGUARD_NOT_READY_FALLBACK,
    partitions: e.RELAYGUARD_PARTITIONS,
  });
}
