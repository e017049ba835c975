// The parsed configuration that loadConfig passes down, by concern.
import type { IpRange } from '../../core/ip-ranges.js';
import type { Policy } from '../../core/policy.js';
import type { ApiToken } from './access.js';
import type { WebhookEndpoint } from './webhooks.js';

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
  readonly postfixPort: number;
  /** The HTTP server's connection cap and timeouts. */
  readonly httpService: HttpLimits;
  /** The Postfix policy server's caps and timeouts. */
  readonly postfixService: {
    readonly maxConnections: number;
    readonly idleTimeoutMs: number;
    readonly requestTimeoutMs: number;
    /** Clients the policy server answers; others are disconnected at once (RELAYGUARD_POSTFIX_ALLOWED_CLIENTS). */
    readonly allowedClients: readonly IpRange[];
  };
  /** Bearer tokens of the admin API and the decision API, with their roles (RELAYGUARD_TOKENS). */
  readonly tokens: readonly ApiToken[];
  /**
   * Admin API requests a minute per token; requests without a valid token a minute per client address, the admin
   * and decision APIs together.
   */
  readonly rateLimitPerMinute: number;
  /** Decision API requests a minute per token (RELAYGUARD_RELAY_RATE_LIMIT_PER_MINUTE). */
  readonly relayRateLimitPerMinute: number;
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
  /**
   * Where an enforcer alone keeps its index's snapshot and how often it writes one (RELAYGUARD_SNAPSHOT_*): a
   * restart loads it and reads the topics on from the offsets it reflects. Undefined: off.
   */
  readonly snapshot: { readonly directory: string; readonly intervalMs: number } | undefined;
  readonly partitions: number;
  /** The scorer's window cache bound (tenants) and how often it saves dirty windows and commits (0: per batch). */
  readonly scorer: { readonly windowCacheTenants: number; readonly commitIntervalMs: number };
  /** The webhook deliverer's endpoints and limits. */
  readonly webhooks: {
    readonly endpoints: readonly WebhookEndpoint[];
    readonly allowPrivate: boolean;
    readonly maxAttempts: number;
  };
  /** What the environment should change, one line each (a variable under its old name); the CLI prints them. */
  readonly warnings: readonly string[];
}
