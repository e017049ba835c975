// The composition root: picks the adapters the configuration asks for (adapters.ts), materializes the directory,
// and starts the requested services on them. `relayguard all` starts them all in one process.

import { AdminService } from '../admin/admin-service.js';
import { AuditTrail, startAuditFeed } from '../admin/audit-trail.js';
import { ChangePublisher } from '../admin/change-publisher.js';
import { startWebhookAdmin, type WebhookEndpointsAdmin } from '../admin/webhook-endpoints.js';
import { TenantDirectory } from '../core/directory.js';
import { Enforcer } from '../enforcer/enforcer.js';
import { MessageSpool } from '../enforcer/message-spool.js';
import { systemClock } from '../platform/clock.js';
import type { Config } from '../platform/config.js';
import { dnsTxtResolver } from '../platform/dns.js';
import type { Logger } from '../platform/logger.js';
import { Metrics } from '../platform/metrics.js';
import type { Clock, Subscription } from '../platform/ports.js';
import { Scorer } from '../scorer/scorer.js';
import { WebhookDeliverer } from '../webhooks/deliverer.js';
import { type Adapters, closeAdapters, embeddedAdapters, productionAdapters } from './adapters.js';
import { startDirectoryFeed } from './directory-feed.js';
import { logAccess } from './kafka-access.js';

export type ServiceName = 'scorer' | 'enforcer' | 'admin' | 'webhooks';

export interface Runtime {
  readonly config: Config;
  readonly adapters: Adapters;
  readonly directory: TenantDirectory;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly scorer: Scorer | undefined;
  readonly enforcer: Enforcer | undefined;
  readonly admin: AdminService | undefined;
  /** Posts block events to the endpoints of RELAYGUARD_WEBHOOKS and those registered through the admin API. */
  readonly webhooks: WebhookDeliverer | undefined;
  /** The admin API's webhook endpoints, delivery log and replays. */
  readonly webhookEndpoints: WebhookEndpointsAdmin | undefined;
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
  // Before any consumer joins a group or producer sends: a missing Read or Write names its topic here, not as a
  // consumer crash or a failed send later.
  await adapters.log.verifyAccess?.(logAccess(options.services)).catch(async (error: unknown) => {
    await closeAdapters(adapters);
    throw error;
  });

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
  const webhookAdmin = admin
    ? await startWebhookAdmin({
        ...common,
        publisher: new ChangePublisher({ ...common, logger: logger.child({ component: 'admin' }) }),
        configured: config.webhooks.endpoints,
        allowPrivate: config.webhooks.allowPrivate,
        logger: logger.child({ component: 'admin' }),
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
        keyPartition: adapters.keyPartition,
      })
    : undefined;

  // Always: endpoints registered through the admin API reach a deliverer started without RELAYGUARD_WEBHOOKS.
  const webhooks = wants.has('webhooks')
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
  // The admin API checks registrations against the endpoints it has read.
  const ready = Promise.all([feed.caughtUp, webhookAdmin?.caughtUp]).then(() => {
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
    webhookEndpoints: webhookAdmin?.admin,
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
      await webhookAdmin?.stop();
      await closeAdapters(adapters);
    },
  };
}
