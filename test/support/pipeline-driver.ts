// Drives the whole embedded pipeline in one process, like Kafka Streams' TopologyTestDriver: pipe events in,
// read block events and decisions out, move a manual clock. Waits on conditions, never on timers.

import type { Actor } from '../../services/admin/admin-service.js';
import type { MessageSubmitted, TenantBlockEvent } from '../../services/core/contracts.generated.js';
import { Topics } from '../../services/core/topics.js';
import { ManualClock } from '../../services/platform/clock.js';
import { loadConfig } from '../../services/platform/config.js';
import { silentLogger } from '../../services/platform/logger.js';
import type { MemoryEventLog } from '../../services/platform/memory/memory-event-log.js';
import { embeddedAdapters, type Runtime, startRuntime } from '../../services/platform/runtime.js';

export const OPERATOR: Actor = { subject: 'test-operator', role: 'OPERATOR' };

export interface PipelineDriver {
  readonly runtime: Runtime;
  readonly clock: ManualClock;
  readonly log: MemoryEventLog;
  publish(events: readonly MessageSubmitted[]): Promise<void>;
  /** Waits until every consumer has processed everything published. */
  settle(): Promise<void>;
  blockEvents(): Promise<TenantBlockEvent[]>;
  stop(): Promise<void>;
}

export async function startPipeline(
  env: Record<string, string> = {},
  start = Date.UTC(2026, 10, 28, 9),
): Promise<PipelineDriver> {
  const config = loadConfig(env);
  const clock = new ManualClock(start);
  const adapters = embeddedAdapters(config, clock);
  const runtime = await startRuntime(config, {
    services: ['scorer', 'enforcer', 'admin'],
    logger: silentLogger,
    clock,
    adapters,
  });
  await runtime.ready;
  const log = adapters.log as MemoryEventLog;
  const { codec } = adapters;
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
    settle: () => log.settled(),
    async blockEvents() {
      return Promise.all(
        log.records(Topics.tenantBlocks).map((record) => codec.decode(Topics.tenantBlocks, record.value!)),
      );
    },
    stop: () => runtime.stop(),
  };
}
