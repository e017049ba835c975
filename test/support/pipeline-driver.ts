// Drives the whole pipeline in one process, like Kafka Streams' TopologyTestDriver: pipe events in, read block
// events and decisions out, move a manual clock. Waits on conditions, never on timers. The same driver runs on
// the embedded adapters (startPipeline) and on Kafka + Schema Registry + Redis (startProductionPipeline).

import { after, before } from 'node:test';
import type { Actor } from '../../services/admin/change-publisher.js';
import { type Adapters, embeddedAdapters, productionAdapters } from '../../services/app/adapters.js';
import { type Runtime, startRuntime } from '../../services/app/runtime.js';
import type { MessageSubmitted, TenantBlockEvent } from '../../services/core/contracts.generated.js';
import { Topics } from '../../services/core/topics.js';
import { ManualClock } from '../../services/platform/clock.js';
import { type Config, loadConfig } from '../../services/platform/config.js';
import { silentLogger } from '../../services/platform/logger.js';
import type { MemoryEventLog } from '../../services/platform/memory/memory-event-log.js';
import type { EventLog, LogRecord, Subscription } from '../../services/platform/ports.js';
import type { KafkaCluster } from './kafka-broker.js';
import type { KafkaMock } from './kafka-mock.js';
import {
  type ProductionStack,
  type ProductionStackOptions,
  startProductionStack,
} from './production-stack.js';

export const OPERATOR: Actor = { subject: 'test-operator', role: 'OPERATOR' };

/** What a scenario needs, whatever the adapters. */
export interface Pipeline {
  readonly runtime: Runtime;
  readonly clock: ManualClock;
  /** The event log the services use (to publish raw records, or read any topic). */
  readonly log: EventLog;
  publish(events: readonly MessageSubmitted[]): Promise<void>;
  /**
   * Waits until every consumer has handled everything published, including what handlers published meanwhile
   * (block events reach the enforcer's directory and the scorer's resets).
   */
  settle(): Promise<void>;
  blockEvents(): Promise<TenantBlockEvent[]>;
  stop(): Promise<void>;
}

/** The embedded pipeline, with its in-memory log open to inspection. */
export interface PipelineDriver extends Pipeline {
  readonly log: MemoryEventLog;
}

const DEFAULT_START = Date.UTC(2026, 10, 28, 9);

export async function startPipeline(
  env: Record<string, string> = {},
  start = DEFAULT_START,
): Promise<PipelineDriver> {
  const config = loadConfig(env);
  const clock = new ManualClock(start);
  const adapters = embeddedAdapters(config, clock);
  const log = adapters.log as MemoryEventLog;
  const pipeline = await drive(config, clock, adapters, {
    settle: () => log.settled(),
    blockRecords: async () => log.records(Topics.tenantBlocks),
  });
  return { ...pipeline, log };
}

/**
 * The same pipeline on the production adapters against `stack`, through the real wire protocols. Block events
 * are read back by a group-less subscription of their own.
 */
export async function startProductionPipeline(
  stack: ProductionStack<KafkaCluster | KafkaMock>,
  env: Record<string, string> = {},
  start = DEFAULT_START,
): Promise<Pipeline> {
  const config = loadConfig({ ...stack.env, ...env });
  const clock = new ManualClock(start);
  const adapters = productionAdapters(config, silentLogger);
  const { log } = adapters;
  const blocks: LogRecord[] = [];
  let collector: Subscription | undefined;
  const pipeline = await drive(config, clock, adapters, {
    settle: () => log.settled(),
    blockRecords: async () => blocks,
    started: async () => {
      collector = await log.subscribe({
        groupId: null,
        topics: [Topics.tenantBlocks],
        handleBatch: async (batch) => {
          blocks.push(...batch.records);
        },
      });
      await collector.caughtUp;
    },
  });
  return {
    ...pipeline,
    async stop() {
      await collector?.stop();
      await pipeline.stop();
    },
  };
}

/**
 * A suite's production stack (a real Kafka broker, the registry double, Redis) and the pipeline on it, started
 * before its tests and stopped after them; read `stack` and `driver` inside the tests.
 */
export function productionPipelineSuite(
  options: ProductionStackOptions = {},
  start = DEFAULT_START,
): { readonly stack: ProductionStack; readonly driver: Pipeline } {
  let stack: ProductionStack | undefined;
  let driver: Pipeline | undefined;
  before(async () => {
    stack = await startProductionStack(options);
    driver = await startProductionPipeline(stack, {}, start);
  });
  after(async () => {
    await driver?.stop();
    await stack?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the production pipeline is started by the suite's before hook");
    return value;
  };
  return {
    get stack() {
      return started(stack);
    },
    get driver() {
      return started(driver);
    },
  };
}

interface DriveOptions {
  settle(): Promise<void>;
  blockRecords(): Promise<readonly LogRecord[]>;
  started?(): Promise<void>;
}

async function drive(
  config: Config,
  clock: ManualClock,
  adapters: Adapters,
  options: DriveOptions,
): Promise<Pipeline> {
  const runtime = await startRuntime(config, {
    services: ['scorer', 'enforcer', 'admin'],
    logger: silentLogger,
    clock,
    adapters,
  });
  await runtime.ready;
  await options.started?.();
  const { codec, log } = adapters;
  return {
    runtime,
    clock,
    log,
    async publish(events) {
      const records = await Promise.all(
        events.map(async (event) => ({
          key: event.tenantId,
          value: await codec.encode(Topics.messageSubmitted, event),
        })),
      );
      await log.publish(Topics.messageSubmitted, records);
    },
    settle: options.settle,
    async blockEvents() {
      return Promise.all(
        (await options.blockRecords()).map((record) => codec.decode(Topics.tenantBlocks, record.value!)),
      );
    },
    stop: () => runtime.stop(),
  };
}
