// The enforcer's MessageSubmitted events on their way to the event log through the on-disk spool: stored as
// JSON (the Schema Registry may be down too), encoded and published in batches by the drainer, in spool order,
// so each tenant's events keep their order. The event id is fixed before the event is spooled: a batch published
// again after a crash (published, but its ack not yet on disk) carries the same ids, and the scorer drops them.
import type { MessageSubmitted } from '../core/contracts.generated.js';
import { isRelayguardError, RelayguardError } from '../core/errors.js';
import { Topics } from '../core/topics.js';
import type { SpoolConfig } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { Clock, EventLog, SchemaCodec } from '../platform/ports.js';
import { EventSpool, type SpooledRecord } from './event-spool.js';

export type SpoolFullAction = SpoolConfig['whenFull'];

export interface MessageSpoolDeps {
  readonly config: SpoolConfig;
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

export class MessageSpool {
  readonly #spool: EventSpool;
  readonly whenFull: SpoolFullAction;

  private constructor(spool: EventSpool, whenFull: SpoolFullAction) {
    this.#spool = spool;
    this.whenFull = whenFull;
  }

  /** Recovers what a previous process left and starts delivering it. Throws INVALID_CONFIG naming the variable. */
  static async open(deps: MessageSpoolDeps): Promise<MessageSpool> {
    const { config, metrics, logger } = deps;
    let opened: Awaited<ReturnType<typeof EventSpool.open>>;
    try {
      opened = await EventSpool.open({
        directory: config.directory,
        maxBytes: config.maxBytes,
        clock: deps.clock,
        deliver: (records) => deliver(deps, records),
        onDeliveryError: (error, records) =>
          logger.warn({ err: error, records }, 'spooled events not delivered yet; retrying'),
      });
    } catch (error) {
      throw new RelayguardError(
        'INVALID_CONFIG',
        `RELAYGUARD_SPOOL_DIR: cannot use ${config.directory} as the event spool: ${(error as Error).message}`,
        { field: 'RELAYGUARD_SPOOL_DIR', cause: error },
      );
    }
    const { spool, recovered } = opened;
    if (recovered.events > 0 || recovered.truncatedBytes > 0)
      logger.info(recovered, 'event spool recovered; delivering what it holds');
    metrics.spoolMaxBytes.set(config.maxBytes);
    metrics.spoolDepth = () => {
      const { events, bytes, oldestSpooledAt } = spool.depth();
      const waited = oldestSpooledAt === undefined ? 0 : deps.clock.now() - oldestSpooledAt;
      return { events, bytes, oldestAgeSeconds: Math.max(0, waited) / 1000 };
    };
    return new MessageSpool(spool, config.whenFull);
  }

  /** Resolves once the event is durable on disk; false at once when the spool is full (nothing written). */
  append(event: MessageSubmitted): Promise<void> | false {
    return this.#spool.append(Buffer.from(JSON.stringify(event)));
  }

  close(): Promise<void> {
    return this.#spool.close();
  }
}

/**
 * Encodes and publishes one batch. An event that cannot be encoded (a contract the running code no longer
 * satisfies) is counted and logged, and the rest goes on; a retryable failure rejects and the batch comes again.
 */
async function deliver(deps: MessageSpoolDeps, records: readonly SpooledRecord[]): Promise<void> {
  const { codec, log, metrics, logger } = deps;
  const events = records.map((record) => JSON.parse(record.payload.toString('utf8')) as MessageSubmitted);
  const encoded = await Promise.allSettled(
    events.map((event) => codec.encode(Topics.messageSubmitted, event)),
  );
  const outgoing = [];
  for (const [i, result] of encoded.entries()) {
    if (result.status === 'fulfilled') {
      outgoing.push({ key: events[i]!.tenantId, value: result.value });
    } else if (isRelayguardError(result.reason) && !result.reason.retryable) {
      metrics.eventsProduced.inc({ topic: Topics.messageSubmitted, outcome: 'error' });
      logger.error(
        { err: result.reason, tenantId: events[i]!.tenantId, eventId: events[i]!.eventId },
        'a spooled event cannot be encoded; it is not published',
      );
    } else {
      throw result.reason;
    }
  }
  try {
    await log.publish(Topics.messageSubmitted, outgoing);
  } catch (error) {
    metrics.eventsProduced.inc({ topic: Topics.messageSubmitted, outcome: 'error' }, outgoing.length);
    throw error;
  }
  metrics.eventsProduced.inc({ topic: Topics.messageSubmitted, outcome: 'ok' }, outgoing.length);
}
