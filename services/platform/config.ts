// Configuration is read once, here: the environment is parsed against a schema, every problem is reported at
// once with the variable's name, and the frozen result is passed down. Nothing else reads process.env.
import { z } from 'zod';
import { RelayguardError } from '../core/errors.js';
import { type IpRange, parseIpRange } from '../core/ip-ranges.js';
import { DEFAULT_POLICY, type Policy } from '../core/policy.js';

/**
 * A number in plain decimal digits within a range. Not z.coerce: it reads "" and " " as 0 (a random port for
 * RELAYGUARD_HTTP_PORT=" ") and reports "abc" as "expected number, received NaN".
 */
function numeric(fallback: number, rule: { min: number; max?: number; fraction?: boolean; note?: string }) {
  const pattern = rule.fraction ? /^\d+(\.\d+)?$/ : /^\d+$/;
  const range = rule.max === undefined ? `${rule.min} or more` : `from ${rule.min} to ${rule.max}`;
  const kind = rule.fraction ? 'a number' : 'a whole number';
  return z
    .string()
    .trim()
    .refine(
      (value) =>
        pattern.test(value) &&
        Number(value) >= rule.min &&
        (rule.max === undefined || Number(value) <= rule.max),
      {
        error: (issue) =>
          `must be ${kind} ${range}${rule.note ?? ''}, not ${issue.input === '' ? 'blank (unset it for the default)' : `"${issue.input}"`}`,
      },
    )
    .transform(Number)
    .default(fallback);
}
const port = (fallback: number) => numeric(fallback, { min: 0, max: 65535, note: ' (0 picks a free port)' });
const positiveInt = (fallback: number, max?: number) => numeric(fallback, { min: 1, max });
/** Tenant and connector ids: what a URL path segment, a Kafka key part and a log field can carry unescaped. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const ID_RULE = '1-128 letters, digits, dots, underscores or hyphens, starting with a letter or digit';

/** relay: asks for decisions (POST /v1/decisions) and nothing else; the others are the admin API's roles. */
export type TokenRole = 'operator' | 'reader' | 'tenant-admin' | 'relay';

export interface ApiToken {
  readonly token: string;
  readonly role: TokenRole;
  /** The tenant a tenant-admin token manages; null for the other roles. */
  readonly tenantId: string | null;
}

/** Loopback only, like the default bind address: a relay elsewhere must be listed. */
export const DEFAULT_POLICY_ALLOWED_CLIENTS = '127.0.0.0/8,::1/128';

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
    } else if ((role === 'operator' || role === 'reader' || role === 'relay') && rest.length === 0) {
      tokens.push({ token, role, tenantId: null });
    } else if (role === 'tenant-admin' && ID_PATTERN.test(tenantId)) {
      tokens.push({ token, role, tenantId });
    } else if (role === 'tenant-admin') {
      problem(`expected <token>:tenant-admin:<tenantId> with a tenant id of ${ID_RULE}`);
    } else {
      problem('expected <token>:operator, <token>:reader, <token>:relay or <token>:tenant-admin:<tenantId>');
    }
  }
  return tokens;
});

/** A webhook endpoint (RELAYGUARD_WEBHOOKS): where block events are posted, signed with its secret. */
export interface WebhookEndpoint {
  /** Names the endpoint in metrics, logs and dead letters (never its URL's credentials or its secret). */
  readonly id: string;
  readonly url: string;
  readonly secret: string;
  readonly events: readonly ('blocked' | 'unblocked')[];
  /** Only these tenants' events; every tenant's when absent. */
  readonly tenants: readonly string[] | undefined;
}

const webhookEntry = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'id: 1-63 lower-case letters, digits or hyphens'),
  url: z.url({ protocol: /^https?$/, error: 'url: must be an http:// or https:// URL' }),
  // Messages never echo the value: it is a secret.
  secret: z.string().min(MIN_TOKEN_LENGTH, {
    error: `secret: at least ${MIN_TOKEN_LENGTH} characters (e.g. from \`openssl rand -hex 32\`)`,
  }),
  events: z
    .array(z.enum(['blocked', 'unblocked']))
    .min(1)
    .default(['blocked', 'unblocked']),
  tenants: z
    .array(z.string().regex(ID_PATTERN, `tenants: each ${ID_RULE}`))
    .min(1)
    .optional(),
});

// A JSON array, e.g. [{"id":"billing","url":"https://billing.example/hooks/relayguard","secret":"…"}].
const webhooksVariable = z.string().transform((value, ctx): WebhookEndpoint[] => {
  if (value.trim() === '') return [];
  let entries: unknown;
  try {
    entries = JSON.parse(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON array of {id, url, secret, events?, tenants?}' });
    return [];
  }
  if (!Array.isArray(entries)) {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON array of {id, url, secret, events?, tenants?}' });
    return [];
  }
  const endpoints: WebhookEndpoint[] = [];
  for (const [index, entry] of entries.entries()) {
    const parsed = webhookEntry.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({ code: 'custom', message: `entry ${index + 1}: ${issue.message}` });
      }
    } else if (endpoints.some((other) => other.id === parsed.data.id)) {
      ctx.addIssue({ code: 'custom', message: `entry ${index + 1}: the id ${parsed.data.id} appears twice` });
    } else {
      endpoints.push({ ...parsed.data, tenants: parsed.data.tenants });
    }
  }
  return endpoints;
});

// The Postfix policy protocol has no authentication: the policy server answers only clients in these ranges.
const allowedClients = z.string().transform((value, ctx): IpRange[] => {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: 'list at least one CIDR range of the relays (0.0.0.0/0,::/0 would allow every client)',
    });
  }
  const ranges: IpRange[] = [];
  for (const [index, entry] of entries.entries()) {
    try {
      ranges.push(parseIpRange(entry, `entry ${index + 1}`));
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  }
  return ranges;
});

const optionalUrl = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .pipe(z.url().optional())
  .optional();
const hostPortList = z
  .string()
  .trim()
  .transform((value) => (value === '' ? [] : value.split(',').map((entry) => entry.trim())))
  .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each entry must be host:port')))
  .default([]);
/** Resolver addresses as node's dns.setServers takes them: IPv4 or [IPv6], each with an optional :port. */
const dnsServerList = z
  .string()
  .trim()
  .transform((value) => (value === '' ? [] : value.split(',').map((entry) => entry.trim())))
  .pipe(
    z.array(
      z
        .string()
        .regex(
          /^(\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?|\[[0-9a-fA-F:.]+\](:\d{1,5})?|[0-9a-fA-F:]+)$/,
          'each entry must be an IP address, with an optional port: 192.0.2.53, 192.0.2.53:5353, [2001:db8::53]:53',
        ),
    ),
  )
  .default([]);
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true');
const optionalText = z
  .string()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

export interface HttpLimits {
  /** Open HTTP connections at most; more are closed on accept and counted. */
  readonly maxConnections: number;
  /** From a connection's first byte to the end of a request's headers. */
  readonly headersTimeoutMs: number;
  /** From a request's first byte to the end of its body. */
  readonly requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open between requests. */
  readonly keepAliveTimeoutMs: number;
}

// Well under the usual 1,024 file descriptors a process starts with, which the policy port needs too.
export const DEFAULT_HTTP_LIMITS: HttpLimits = Object.freeze({
  maxConnections: 512,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
});

const EnvSchema = z
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
    RELAYGUARD_POLICY_PORT: port(10040),
    // The HTTP side shares the process (and its file descriptors) with the policy port: capped and timed out so
    // slow clients cannot starve the relays.
    RELAYGUARD_HTTP_MAX_CONNECTIONS: positiveInt(DEFAULT_HTTP_LIMITS.maxConnections),
    RELAYGUARD_HTTP_HEADERS_TIMEOUT_SECONDS: positiveInt(DEFAULT_HTTP_LIMITS.headersTimeoutMs / 1000, 300),
    RELAYGUARD_HTTP_REQUEST_TIMEOUT_SECONDS: positiveInt(DEFAULT_HTTP_LIMITS.requestTimeoutMs / 1000, 600),
    RELAYGUARD_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: positiveInt(
      DEFAULT_HTTP_LIMITS.keepAliveTimeoutMs / 1000,
      600,
    ),
    RELAYGUARD_POLICY_MAX_CONNECTIONS: positiveInt(4096),
    // Longer than Postfix's smtpd_policy_service_max_idle (300 s): Postfix closes idle connections first.
    RELAYGUARD_POLICY_IDLE_TIMEOUT_SECONDS: positiveInt(330),
    RELAYGUARD_POLICY_REQUEST_TIMEOUT_SECONDS: positiveInt(10),
    RELAYGUARD_POLICY_ALLOWED_CLIENTS: allowedClients.prefault(DEFAULT_POLICY_ALLOWED_CLIENTS),
    RELAYGUARD_TOKENS: tokensVariable.default([]),
    RELAYGUARD_RATE_LIMIT_PER_MINUTE: positiveInt(600),
    RELAYGUARD_URL: optionalUrl,
    RELAYGUARD_TOKEN: z.string().trim().optional(),
    RELAYGUARD_LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    RELAYGUARD_POLICY_MODE: z.enum(['ENFORCE', 'MONITOR']).default(DEFAULT_POLICY.mode),
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

export interface KafkaConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl: boolean;
  readonly sasl:
    | {
        readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
        readonly username: string;
        readonly password: string;
      }
    | undefined;
  /** Idempotent producer (KIP-98): on in production; off only against brokers without InitProducerId. */
  readonly idempotent: boolean;
  /** A consumer silent this long leaves its group and its partitions move to the other members. */
  readonly sessionTimeoutMs: number;
  /** How long the broker may hold a fetch that has no records yet (the scorer's and every other subscription). */
  readonly fetchMaxWaitMs: number;
  /** The same for the directory feed, whose records (blocks above all) must reach the enforcers at once. */
  readonly directoryFetchMaxWaitMs: number;
}

export interface SchemaRegistryConfig {
  /** Without credentials: safe to print. */
  readonly url: string;
  readonly auth: { readonly username: string; readonly password: string } | undefined;
}

export interface RedisConfig {
  /** With credentials (AUTH) when given: print `redactUrl(url)`. */
  readonly url: string;
  /** Seed nodes of a Redis Cluster; empty for a single Redis. */
  readonly clusterNodes: readonly { readonly host: string; readonly port: number }[];
  /** Replicas that must acknowledge a save (WAIT) before the scorer commits its offsets; 0: the master alone. */
  readonly waitReplicas: number;
  /** How long a save waits for them; a save not replicated by then fails and is retried. */
  readonly waitTimeoutMs: number;
}

/** The enforcer's END-OF-MESSAGE event spool (RELAYGUARD_SPOOL_*). */
export interface SpoolConfig {
  readonly directory: string;
  /** Bytes of undelivered events on disk at most. */
  readonly maxBytes: number;
  /** What the relay is told when the spool is full: accept the message uncounted, or defer it. */
  readonly whenFull: 'accept' | 'defer';
}

export interface Config {
  /** Embedded: every port on its in-memory adapter, in one process. */
  readonly embedded: boolean;
  readonly kafka: KafkaConfig | undefined;
  readonly schemaRegistry: SchemaRegistryConfig | undefined;
  readonly redis: RedisConfig | undefined;
  readonly bindAddress: string;
  readonly httpPort: number;
  readonly policyPort: number;
  /** The HTTP server's connection cap and timeouts. */
  readonly httpService: HttpLimits;
  /** The Postfix policy server's caps and timeouts. */
  readonly policyService: {
    readonly maxConnections: number;
    readonly idleTimeoutMs: number;
    readonly requestTimeoutMs: number;
    /** Clients the policy server answers; others are disconnected at once (RELAYGUARD_POLICY_ALLOWED_CLIENTS). */
    readonly allowedClients: readonly IpRange[];
  };
  /** Bearer tokens of the admin API and the decision API, with their roles (RELAYGUARD_TOKENS). */
  readonly tokens: readonly ApiToken[];
  /** Admin API requests a minute per token (per client address without a valid token). */
  readonly rateLimitPerMinute: number;
  /** Where the admin CLI commands send their requests, and with which token. */
  readonly client: { readonly url: string; readonly token: string | undefined };
  readonly logLevel: string;
  readonly policy: Policy;
  readonly probationMs: number;
  /** The broadest sender range (prefix length per family) a tenant administrator may claim. */
  readonly tenantMinPrefix: { readonly ipv4: number; readonly ipv6: number };
  /** Where domain verification resolves TXT records, and how often verified domains are checked again. */
  readonly dns: {
    readonly servers: readonly string[];
    readonly timeoutMs: number;
    readonly tries: number;
    readonly recheckMs: number;
  };
  readonly maxClockSkewMs: number;
  readonly notReadyFallback: 'accept' | 'tempfail';
  /** Null-sender messages a blocked tenant may still relay per hour, per enforcer. */
  readonly blockedBouncesPerHour: number;
  /** The enforcer's END-OF-MESSAGE spool; undefined (off: answers wait for the event log) without a directory. */
  readonly spool: SpoolConfig | undefined;
  readonly partitions: number;
  /** The scorer's window cache bound (tenants) and how often it saves dirty windows and commits (0: per batch). */
  readonly scorer: { readonly windowCacheTenants: number; readonly commitIntervalMs: number };
  /** The webhook deliverer's endpoints and limits. */
  readonly webhooks: {
    readonly endpoints: readonly WebhookEndpoint[];
    readonly allowPrivate: boolean;
    readonly maxAttempts: number;
  };
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
  return Object.freeze({
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
    policyPort: e.RELAYGUARD_POLICY_PORT,
    httpService: Object.freeze({
      maxConnections: e.RELAYGUARD_HTTP_MAX_CONNECTIONS,
      headersTimeoutMs: e.RELAYGUARD_HTTP_HEADERS_TIMEOUT_SECONDS * 1000,
      requestTimeoutMs: e.RELAYGUARD_HTTP_REQUEST_TIMEOUT_SECONDS * 1000,
      keepAliveTimeoutMs: e.RELAYGUARD_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
    }),
    policyService: Object.freeze({
      maxConnections: e.RELAYGUARD_POLICY_MAX_CONNECTIONS,
      idleTimeoutMs: e.RELAYGUARD_POLICY_IDLE_TIMEOUT_SECONDS * 1000,
      requestTimeoutMs: e.RELAYGUARD_POLICY_REQUEST_TIMEOUT_SECONDS * 1000,
      allowedClients: e.RELAYGUARD_POLICY_ALLOWED_CLIENTS,
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
    tenantMinPrefix: Object.freeze({
      ipv4: e.RELAYGUARD_TENANT_MIN_PREFIX_IPV4,
      ipv6: e.RELAYGUARD_TENANT_MIN_PREFIX_IPV6,
    }),
    dns: Object.freeze({
      servers: Object.freeze(e.RELAYGUARD_DNS_SERVERS),
      timeoutMs: e.RELAYGUARD_DNS_TIMEOUT_MS,
      tries: 2,
      recheckMs: e.RELAYGUARD_DNS_RECHECK_HOURS * 3_600_000,
    }),
    maxClockSkewMs: e.RELAYGUARD_MAX_CLOCK_SKEW_SECONDS * 1000,
    notReadyFallback: e.RELAYGUARD_NOT_READY_FALLBACK,
    blockedBouncesPerHour: e.RELAYGUARD_BLOCKED_BOUNCES_PER_HOUR,
    spool: e.RELAYGUARD_SPOOL_DIR
      ? Object.freeze({
          directory: e.RELAYGUARD_SPOOL_DIR,
          maxBytes: e.RELAYGUARD_SPOOL_MAX_BYTES,
          whenFull: e.RELAYGUARD_SPOOL_FULL_ACTION,
        })
      : undefined,
    partitions: e.RELAYGUARD_PARTITIONS,
    scorer: Object.freeze({
      windowCacheTenants: e.RELAYGUARD_SCORER_CACHE_TENANTS,
      commitIntervalMs: e.RELAYGUARD_SCORER_COMMIT_INTERVAL_MS,
    }),
    webhooks: Object.freeze({
      endpoints: e.RELAYGUARD_WEBHOOKS,
      allowPrivate: e.RELAYGUARD_WEBHOOK_ALLOW_PRIVATE,
      maxAttempts: e.RELAYGUARD_WEBHOOK_MAX_ATTEMPTS,
    }),
  });
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
