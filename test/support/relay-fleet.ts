// A relay fleet in front of an enforcer on the production adapters, with or without the END-OF-MESSAGE spool:
// CONNECTIONS policy connections, each waiting for its reply before the next request, as Postfix's smtpd
// processes do. The spool benchmark and the stopped-broker test share it.

import { closeAdapters, productionAdapters } from '../../services/app/adapters.js';
import { PolicyClient } from '../../services/cli/simulation/policy-client.js';
import type { MessageSubmitted } from '../../services/core/contracts.generated.js';
import { Topics } from '../../services/core/topics.js';
import { Enforcer } from '../../services/enforcer/enforcer.js';
import { MessageSpool } from '../../services/enforcer/message-spool.js';
import { systemClock } from '../../services/platform/clock.js';
import { loadConfig, type SpoolConfig } from '../../services/platform/config.js';
import { silentLogger } from '../../services/platform/logger.js';
import { Metrics } from '../../services/platform/metrics.js';
import type { EventLog, SchemaCodec } from '../../services/platform/ports.js';
import { directoryWithConnectors, endOfMessage, readRecords } from './enforcement.js';
import { startLoopbackPolicyServer } from './loopback-policy-server.js';
import { waitFor } from './tether.js';

export const CONNECTIONS = 16;
const TENANTS = Array.from({ length: 64 }, (_, i) => ({
  tenantId: `spool-${i}`,
  range: `10.77.${i}.0/24`,
  client: `10.77.${i}.25`,
}));

export interface SpoolingEnforcerOptions {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  /** Off when undefined: END-OF-MESSAGE waits for the event log. */
  readonly spool: SpoolConfig | undefined;
  readonly tenants: readonly { readonly tenantId: string; readonly range: string }[];
  readonly connections: number;
}

/** An enforcer (ready, a connector per tenant) behind a policy server on `port`, and relay connections to it. */
export async function startSpoolingEnforcer(
  { log, codec, spool, tenants, connections }: SpoolingEnforcerOptions,
  defer: (fn: () => unknown) => void,
) {
  const config = loadConfig({});
  const metrics = new Metrics({ processMetrics: false });
  const messageSpool = spool
    ? await MessageSpool.open({
        config: spool,
        log,
        codec,
        clock: systemClock,
        metrics,
        logger: silentLogger,
      })
    : undefined;
  const enforcer = new Enforcer({
    directory: directoryWithConnectors(tenants, systemClock.now()),
    log,
    codec,
    clock: systemClock,
    logger: silentLogger,
    metrics,
    notReadyFallback: 'accept',
    blockedBouncesPerHour: config.blockedBouncesPerHour,
    spool: messageSpool,
  });
  enforcer.markReady();
  defer(() => enforcer.close());
  const server = await startLoopbackPolicyServer(enforcer, metrics);
  defer(() => server.close());
  const clients = await Promise.all(
    Array.from({ length: connections }, () => PolicyClient.connect(server.host, server.port)),
  );
  defer(() => {
    for (const client of clients) client.close();
  });
  return { metrics, clients, port: server.port };
}

/** The fleet on the production adapters of `stackEnv`, with the spool in `spoolDirectory` when given. */
export async function startRelayFleet(
  stackEnv: Readonly<Record<string, string>>,
  spoolDirectory: string | undefined,
  defer: (fn: () => unknown) => void,
) {
  const adapters = productionAdapters(
    loadConfig({ ...stackEnv, RELAYGUARD_LOG_LEVEL: 'silent' }),
    silentLogger,
  );
  defer(() => closeAdapters(adapters));
  const { clients, metrics } = await startSpoolingEnforcer(
    {
      log: adapters.log,
      codec: adapters.codec,
      spool: spoolDirectory
        ? { directory: spoolDirectory, maxBytes: 1 << 30, whenFull: 'accept' }
        : undefined,
      tenants: TENANTS,
      connections: CONNECTIONS,
    },
    defer,
  );
  let sequence = 0;
  return {
    adapters,
    /** The enforcer's metrics (the spool's depth: `metrics.spoolDepth?.()`). */
    metrics,
    /** Every connection sends END-OF-MESSAGE requests back to back for `ms`; the latencies in ms. */
    async round(ms: number, latencies: number[]): Promise<void> {
      const end = performance.now() + ms;
      await Promise.all(
        clients.map(async (client) => {
          while (performance.now() < end) {
            const n = sequence++;
            const { tenantId, client: address } = TENANTS[n % TENANTS.length]!;
            const started = performance.now();
            const action = await client.request(endOfMessage(address, `it@${tenantId}.example`, `S${n}`));
            latencies.push(performance.now() - started);
            if (action !== 'DUNNO') throw new Error(`END-OF-MESSAGE answered ${action}`);
          }
        }),
      );
    },
    /**
     * Waits until `answered` distinct events are on message-submitted (the spool drained); the distinct event ids
     * and the records read (more records than ids: events published twice).
     */
    async published(answered: number): Promise<{ ids: Set<string>; records: number }> {
      return waitFor(
        async () => {
          const records = await readRecords(adapters.log, Topics.messageSubmitted);
          const events = await Promise.all(
            records.map(
              (record) =>
                adapters.codec.decode(Topics.messageSubmitted, record.value!) as Promise<MessageSubmitted>,
            ),
          );
          const ids = new Set(events.map((event) => event.eventId));
          return ids.size >= answered ? { ids, records: records.length } : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 1_000, description: 'every answered event on the topic' },
      );
    },
  };
}
