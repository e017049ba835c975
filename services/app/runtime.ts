// The composition root: picks the adapters the configuration asks for (adapters.ts), materializes the directory,
// and starts the requested services on them. `relayguard all` starts them all in one process.

import { AdminService } from '../admin/admin-service.js';
import { AuditTrail } from '../admin/audit-trail.js';
import { ChangePublisher } from '../admin/change-publisher.js';
import { startWebhookAdmin, type WebhookEndpointsAdmin } from '../admin/webhook-endpoints.js';
import { TenantDirectory } from '../core/directory.js';
import { DirectorySlice } from '../core/directory-slice.js';
import { EnforcerIndex } from '../core/enforcer-index.js';
import { isRelayguardError } from '../core/errors.js';
import { Enforcer } from '../enforcer/enforcer.js';
import { MessageSpool } from '../enforcer/message-spool.js';
import { systemClock } from '../platform/clock.js';
import type { Config } from '../platform/config.js';
import { dnsTxtResolver } from '../platform/dns.js';
import { keyPartition } from '../platform/key-partition.js';
import type { Logger } from '../platform/logger.js';
import { Metrics } from '../platform/metrics.js';
import type { Clock, PartitionOffset } from '../platform/ports.js';
import { Scorer } from '../scorer/scorer.js';
import { WebhookDeliverer } from '../webhooks/deliverer.js';
import { type Adapters, closeAdapters, embeddedAdapters, productionAdapters } from './adapters.js';
import { type DirectoryFeed, startDirectoryFeed } from './directory-feed.js';
import { restoredIndex } from './index-snapshot.js';
import { logAccess } from './kafka-access.js';
import { SliceLoader } from './slice-loader.js';

export type ServiceName = 'scorer' | 'enforcer' | 'admin' | 'webhooks';

export interface Runtime {
  readonly config: Config;
  readonly adapters: Adapters;
  /**
   * The whole directory; the enforcer's compact index when the process runs the enforcer alone; the slice of its
   * partitions' tenants when it runs the scorer alone.
   */
  readonly directory: TenantDirectory | EnforcerIndex | DirectorySlice;
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

/**
 * What the directory feed materializes for these services: an enforcer alone decides with the index of what
 * decisions read (services/core/enforcer-index.ts: 10M tenants in 1.69 GiB, bench/README.md); a scorer alone
 * scores with the slice of the tenants keyed to its partitions (`partitionOf`, services/core/directory-slice.ts);
 * the admin API and webhooks read the whole directory, and a scorer or an enforcer beside them shares it.
 */
export function directoryFor(
  services: readonly ServiceName[],
  partitionOf: (tenantId: string) => number,
): TenantDirectory | EnforcerIndex | DirectorySlice {
  if (alone(services, 'enforcer')) return new EnforcerIndex();
  return alone(services, 'scorer') ? new DirectorySlice(partitionOf) : new TenantDirectory();
}

function alone(services: readonly ServiceName[], only: ServiceName): boolean {
  return services.length > 0 && services.every((service) => service === only);
}

/** The whole directory of a runtime that runs more than the enforcer alone (which holds the enforcer's index). */
export function wholeDirectory(runtime: Pick<Runtime, 'directory'>): TenantDirectory {
  if (runtime.directory instanceof TenantDirectory) return runtime.directory;
  throw new Error(
    'this runtime runs the enforcer or the scorer alone: it holds the enforcer index or a slice, not the whole directory',
  );
}

/** The directory relays' decisions read: the whole directory or the enforcer's index, not a scorer's slice. */
export function decisionDirectory(runtime: Pick<Runtime, 'directory'>): TenantDirectory | EnforcerIndex {
  if (!(runtime.directory instanceof DirectorySlice)) return runtime.directory;
  throw new Error(
    'this runtime runs the scorer alone: it holds a slice of the directory, which decides nothing',
  );
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
  const wants = new Set(options.services);
  const snapshots = config.snapshot;
  const restored =
    snapshots && alone(options.services, 'enforcer')
      ? await restoredIndex(snapshots.directory, logger)
      : undefined;
  const partitionOf = adapters.keyPartition ?? keyPartition(config.partitions);
  let directory = restored?.index ?? directoryFor(options.services, partitionOf);
  const common = { log: adapters.log, codec: adapters.codec, clock, metrics };
  // Credentials, permissions and replicas are checked before anything starts: a wrong password is a setting to
  // fix, not an outage to retry. Only where the windows are used: an enforcer answers relays without Redis.
  if (wants.has('scorer') || wants.has('admin')) await adapters.store.verify?.();
  // Before any consumer joins a group or producer sends: a missing Read or Write names its topic here, not as a
  // consumer crash or a failed send later.
  await adapters.log.verifyAccess?.(logAccess(options.services)).catch(async (error: unknown) => {
    await closeAdapters(adapters);
    throw error;
  });

  const startFeed = (startOffsets?: readonly PartitionOffset[]) =>
    startDirectoryFeed({
      ...common,
      directory,
      startOffsets,
      snapshots,
      fetchMaxWaitMs: config.kafka?.directoryFetchMaxWaitMs,
      logger: logger.child({ component: 'directory' }),
    });
  const feed: DirectoryFeed = await startFeed(restored?.offsets)
    .catch((error: unknown) => {
      // Offsets beyond the topics' ends: they were made again since the snapshot.
      if (!restored || !isRelayguardError(error) || error.field !== 'startOffsets') throw error;
      logger.warn(
        { err: error },
        'the index snapshot does not match the state topics; reading them from the start',
      );
      directory = new EnforcerIndex();
      return startFeed();
    })
    .catch(async (error: unknown) => {
      // Kafka unreachable at startup (kafkajs gave up retrying): nothing may keep the process half-started.
      await closeAdapters(adapters);
      throw error;
    });
  const whole = directory instanceof TenantDirectory ? directory : undefined;
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
        directory: decisionDirectory({ directory }),
        logger: logger.child({ component: 'enforcer' }),
        notReadyFallback: config.notReadyFallback,
        blockedBouncesPerHour: config.blockedBouncesPerHour,
        spool,
      })
    : undefined;
  const admin =
    wants.has('admin') && whole
      ? new AdminService({
          ...common,
          directory: whole,
          store: adapters.store,
          policy: config.policy,
          logger: logger.child({ component: 'admin' }),
          probationMs: config.probationMs,
          tenantMinPrefix: config.tenantMinPrefix,
          dns: dnsTxtResolver(config.dns),
        })
      : undefined;
  const webhookAdmin =
    admin && whole
      ? await startWebhookAdmin({
          ...common,
          publisher: new ChangePublisher({
            ...common,
            directory: whole,
            logger: logger.child({ component: 'admin' }),
          }),
          configured: config.webhooks.endpoints,
          allowPrivate: config.webhooks.allowPrivate,
          logger: logger.child({ component: 'admin' }),
        })
      : undefined;
  const auditTrail = admin ? new AuditTrail() : undefined;
  const auditFeed = await auditTrail?.follow({
    ...common,
    logger: logger.child({ component: 'audit-trail' }),
  });
  const slice = directory instanceof DirectorySlice ? directory : undefined;
  const scoringDirectory = whole ?? slice;
  const scorer =
    wants.has('scorer') && scoringDirectory
      ? new Scorer({
          ...common,
          directory: scoringDirectory,
          slice:
            slice &&
            new SliceLoader({ ...common, slice, feed, logger: logger.child({ component: 'directory' }) }),
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

  // Scoring and deciding wait until the directory caught up: neither starts from a partial one (a scorer alone then
  // loads the slice of each partition that comes to it before scoring it: slice-loader.ts).
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
