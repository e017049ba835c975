// The composition root: picks the adapters the configuration asks for, materializes the directory, and starts
// the requested services on them. `relayguard all` starts all three in one process.

import { AdminService } from '../admin/admin-service.js';
import { AuditTrail, startAuditFeed } from '../admin/audit-trail.js';
import { TenantDirectory } from '../core/directory.js';
import { RelayguardError } from '../core/errors.js';
import { MINUTE_MS } from '../core/policy.js';
import { Enforcer } from '../enforcer/enforcer.js';
import { MessageSpool } from '../enforcer/message-spool.js';
import { Scorer } from '../scorer/scorer.js';
import { WebhookDeliverer } from '../webhooks/deliverer.js';
import { systemClock } from './clock.js';
import { EmbeddedCodec } from './codec/embedded-codec.js';
import { RegistryCodec } from './codec/registry-codec.js';
import { type Config, redactUrl } from './config.js';
import { deferred } from './deferred.js';
import { startDirectoryFeed } from './directory-feed.js';
import { dnsTxtResolver } from './dns.js';
import { KafkaEventLog } from './kafka/kafka-event-log.js';
import type { Logger } from './logger.js';
import { MemoryEventLog } from './memory/memory-event-log.js';
import { MemoryWindowStore } from './memory/memory-window-store.js';
import { Metrics } from './metrics.js';
import type { Clock, EventLog, SchemaCodec, Subscription, WindowStore } from './ports.js';
import { RedisWindowStore } from './redis/redis-window-store.js';

export type ServiceName = 'scorer' | 'enforcer' | 'admin' | 'webhooks';

export interface Adapters {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly store: WindowStore;
  /** Where each adapter points, for the startup banner (no secrets). */
  readonly description: Readonly<Record<'log' | 'codec' | 'store', string>>;
  /**
   * Resolves with the error when an adapter failed for good (a Kafka consumer that kafkajs will not restart):
   * the process must then exit non-zero so that its supervisor restarts it.
   */
  readonly fatal?: Promise<Error>;
}

export function embeddedAdapters(config: Config, clock: Clock): Adapters {
  return {
    log: new MemoryEventLog({ clock, partitions: config.partitions }),
    codec: new EmbeddedCodec(),
    store: new MemoryWindowStore({ clock, ttlMs: windowTtlMs(config) }),
    description: {
      log: 'embedded in-memory event log',
      codec: 'embedded Avro codec',
      store: 'embedded in-memory window store',
    },
  };
}

/** Kafka, the Schema Registry and Redis, as configured (KAFKA_*, SCHEMA_REGISTRY_URL, REDIS_*). */
export function productionAdapters(config: Config, logger: Logger): Adapters {
  const { kafka, schemaRegistry, redis } = config;
  if (!kafka || !schemaRegistry || !redis) {
    const missing = !kafka ? 'KAFKA_BROKERS' : !schemaRegistry ? 'SCHEMA_REGISTRY_URL' : 'REDIS_URL';
    throw new RelayguardError(
      'INVALID_CONFIG',
      `invalid configuration:\n  ${missing}: the services need Kafka, the Schema Registry and Redis together`,
      { field: missing },
    );
  }
  const fatal = deferred<Error>();
  const clusterNodes = redis.clusterNodes.length > 0 ? redis.clusterNodes : undefined;
  const redisTls = redis.url.startsWith('rediss:') ? ', TLS' : '';
  const durability =
    redis.waitReplicas > 0
      ? `, saves wait for ${redis.waitReplicas} replica(s)`
      : ', saves acknowledged by the master alone';
  const store = new RedisWindowStore({
    url: redis.url,
    clusterNodes,
    ttlMs: windowTtlMs(config),
    waitReplicas: redis.waitReplicas,
    waitTimeoutMs: redis.waitTimeoutMs,
  });
  // ioredis reconnects by itself; its connection errors go to the log rather than to stderr.
  store.client.on('error', (error: Error) =>
    logger.warn({ component: 'redis', err: error }, 'redis connection error; reconnecting'),
  );
  return {
    log: new KafkaEventLog({
      kafka,
      maxWaitTimeMs: kafka.fetchMaxWaitMs,
      logger: logger.child({ component: 'kafka' }),
      onFatal: (error) => fatal.resolve(error),
    }),
    codec: new RegistryCodec(schemaRegistry),
    store,
    description: {
      log: [
        `Kafka at ${kafka.brokers.join(',')} (client id ${kafka.clientId}`,
        kafka.ssl ? ', TLS' : '',
        kafka.sasl ? `, SASL ${kafka.sasl.mechanism}` : '',
        kafka.idempotent
          ? ', idempotent producer'
          : ', producer NOT idempotent (retries may duplicate events)',
        ', acks=all)',
      ].join(''),
      codec: `Schema Registry at ${schemaRegistry.url}${schemaRegistry.auth ? ' (basic auth)' : ''}`,
      store: clusterNodes
        ? `Redis Cluster at ${clusterNodes.map((node) => `${node.host}:${node.port}`).join(',')}${redisTls}${durability}`
        : `Redis at ${redactUrl(redis.url)}${redisTls}${durability}`,
    },
    fatal: fatal.promise,
  };
}

/** A window outlives its newest event by the window and the grace period, then costs nothing. */
export function windowTtlMs(config: Config): number {
  return (config.policy.windowMinutes + config.policy.graceMinutes) * MINUTE_MS;
}

export interface Runtime {
  readonly config: Config;
  readonly adapters: Adapters;
  readonly directory: TenantDirectory;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly scorer: Scorer | undefined;
  readonly enforcer: Enforcer | undefined;
  readonly admin: AdminService | undefined;
  /** Posts block events to RELAYGUARD_WEBHOOKS; absent when no endpoint is configured. */
  readonly webhooks: WebhookDeliverer | undefined;
  /** The admin service's recent audit records per tenant (the console's audit trail). */
  readonly auditTrail: AuditTrail | undefined;
  /** Resolves once the directory has caught up and the scorer consumes: until then the enforcer falls back. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  readonly services: readonly ServiceName[];
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly adapters?: Adapters;
  readonly metrics?: Metrics;
}

export async function startRuntime(config: Config, options: RuntimeOptions): Promise<Runtime> {
  const clock = options.clock ?? systemClock;
  const adapters =
    options.adapters ??
    (config.embedded ? embeddedAdapters(config, clock) : productionAdapters(config, options.logger));
  const metrics = options.metrics ?? new Metrics();
  const { logger } = options;
  const directory = new TenantDirectory();
  const wants = new Set(options.services);
  const common = { log: adapters.log, codec: adapters.codec, directory, clock, metrics };
  // Credentials, permissions and replicas are checked before anything starts: a wrong password is a setting to
  // fix, not an outage to retry. Only where the windows are used: an enforcer answers relays without Redis.
  if (wants.has('scorer') || wants.has('admin')) await adapters.store.verify?.();

  const feed: Subscription = await startDirectoryFeed({
    ...common,
    fetchMaxWaitMs: config.kafka?.directoryFetchMaxWaitMs,
    logger: logger.child({ component: 'directory' }),
  }).catch(async (error: unknown) => {
    // Kafka unreachable at startup (kafkajs gave up retrying): nothing may keep the process half-started.
    await closeAdapters(adapters);
    throw error;
  });
  const spool =
    wants.has('enforcer') && config.spool
      ? await MessageSpool.open({
          ...common,
          config: config.spool,
          logger: logger.child({ component: 'spool' }),
        }).catch(async (error: unknown) => {
          await feed.stop();
          await closeAdapters(adapters);
          throw error;
        })
      : undefined;
  const enforcer = wants.has('enforcer')
    ? new Enforcer({
        ...common,
        logger: logger.child({ component: 'enforcer' }),
        notReadyFallback: config.notReadyFallback,
        blockedBouncesPerHour: config.blockedBouncesPerHour,
        spool,
      })
    : undefined;
  const admin = wants.has('admin')
    ? new AdminService({
        ...common,
        store: adapters.store,
        policy: config.policy,
        logger: logger.child({ component: 'admin' }),
        probationMs: config.probationMs,
        tenantMinPrefix: config.tenantMinPrefix,
        dns: dnsTxtResolver(config.dns),
      })
    : undefined;
  const auditTrail = admin ? new AuditTrail() : undefined;
  const auditFeed = auditTrail
    ? await startAuditFeed({
        ...common,
        trail: auditTrail,
        logger: logger.child({ component: 'audit-trail' }),
      })
    : undefined;
  const scorer = wants.has('scorer')
    ? new Scorer({
        ...common,
        store: adapters.store,
        policy: config.policy,
        logger: logger.child({ component: 'scorer' }),
        maxClockSkewMs: config.maxClockSkewMs,
        windowCacheTenants: config.scorer.windowCacheTenants,
        commitIntervalMs: config.scorer.commitIntervalMs,
      })
    : undefined;

  const webhooks =
    wants.has('webhooks') && config.webhooks.endpoints.length > 0
      ? new WebhookDeliverer({
          log: adapters.log,
          codec: adapters.codec,
          metrics,
          clock,
          ...config.webhooks,
          logger: logger.child({ component: 'webhooks' }),
        })
      : undefined;

  // Scoring and deciding need the whole directory: neither starts from a partial one.
  let stopping = false;
  let starting: Promise<void> | undefined;
  const ready = feed.caughtUp.then(() => {
    if (stopping) return;
    starting = (async () => {
      enforcer?.markReady();
      await scorer?.start();
      await webhooks?.start();
    })();
    return starting;
  });

  const domainRechecks =
    admin && config.dns.recheckMs > 0
      ? setInterval(() => void admin.recheckVerifiedDomains(), config.dns.recheckMs).unref()
      : undefined;
  return {
    config,
    adapters,
    directory,
    metrics,
    clock,
    scorer,
    enforcer,
    admin,
    webhooks,
    auditTrail,
    ready,
    stop: async () => {
      // A stop before the directory caught up (a signal or a failure during startup) does not wait for it.
      stopping = true;
      clearInterval(domainRechecks);
      await starting?.catch(() => undefined);
      // Events still being batched are delivered before the log closes.
      await enforcer?.close();
      await scorer?.stop();
      await webhooks?.close();
      await feed.stop();
      await auditFeed?.stop();
      await closeAdapters(adapters);
    },
  };
}

/** Closes the clients an adapter set holds (Kafka producer and admin, Redis connections). */
export async function closeAdapters(adapters: Adapters): Promise<void> {
  await adapters.log.close();
  await adapters.store.close();
}
