// The composition root: picks the adapters the configuration asks for, materializes the directory, and starts
// the requested services on them. `relayguard all` starts all three in one process.

import { AdminService } from '../admin/admin-service.js';
import { TenantDirectory } from '../core/directory.js';
import { MINUTE_MS } from '../core/policy.js';
import { Enforcer } from '../enforcer/enforcer.js';
import { Scorer } from '../scorer/scorer.js';
import { systemClock } from './clock.js';
import { EmbeddedCodec } from './codec/embedded-codec.js';
import type { Config } from './config.js';
import { startDirectoryFeed } from './directory-feed.js';
import type { Logger } from './logger.js';
import { MemoryEventLog } from './memory/memory-event-log.js';
import { MemoryWindowStore } from './memory/memory-window-store.js';
import { Metrics } from './metrics.js';
import type { Clock, EventLog, SchemaCodec, Subscription, WindowStore } from './ports.js';

export type ServiceName = 'scorer' | 'enforcer' | 'admin';

export interface Adapters {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly store: WindowStore;
  /** Where each adapter points, for the startup banner (no secrets). */
  readonly description: Readonly<Record<'log' | 'codec' | 'store', string>>;
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
  const adapters = options.adapters ?? embeddedAdapters(config, clock);
  const metrics = options.metrics ?? new Metrics();
  const { logger } = options;
  const directory = new TenantDirectory();
  const wants = new Set(options.services);
  const common = { log: adapters.log, codec: adapters.codec, directory, clock, metrics };

  const feed: Subscription = await startDirectoryFeed({
    ...common,
    logger: logger.child({ component: 'directory' }),
  });
  const enforcer = wants.has('enforcer')
    ? new Enforcer({
        ...common,
        logger: logger.child({ component: 'enforcer' }),
        notReadyFallback: config.notReadyFallback,
      })
    : undefined;
  const admin = wants.has('admin')
    ? new AdminService({
        ...common,
        store: adapters.store,
        policy: config.policy,
        logger: logger.child({ component: 'admin' }),
        probationMs: config.probationMs,
      })
    : undefined;
  const scorer = wants.has('scorer')
    ? new Scorer({
        ...common,
        store: adapters.store,
        policy: config.policy,
        logger: logger.child({ component: 'scorer' }),
        maxClockSkewMs: config.maxClockSkewMs,
      })
    : undefined;

  // Scoring and deciding need the whole directory: neither starts from a partial one.
  const ready = feed.caughtUp.then(async () => {
    enforcer?.markReady();
    await scorer?.start();
  });

  return {
    config,
    adapters,
    directory,
    metrics,
    clock,
    scorer,
    enforcer,
    admin,
    ready,
    stop: async () => {
      await ready;
      // Events still being batched are delivered before the log closes.
      await enforcer?.close();
      await scorer?.stop();
      await feed.stop();
      await adapters.log.close();
      await adapters.store.close();
    },
  };
}
