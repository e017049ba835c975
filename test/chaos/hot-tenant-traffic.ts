// The hot-tenant row's events, shared by the row (test/chaos/hot-tenant-rows.ts, which publishes the crossings it
// times) and the flood's own process (test/chaos/hot-tenant-flood-process.ts).
import type { Adapters } from '../../services/app/adapters.js';
import type { MessageSubmitted } from '../../services/core/contracts.generated.js';
import { Topics } from '../../services/core/topics.js';
import { messageSubmitted } from '../support/builders.js';

/** Events of a tenant from a domain, now; ids unique within the run by `prefix` (one per process). */
export function eventSource(prefix: string): (tenantId: string, domain: string) => MessageSubmitted {
  let sequence = 0;
  return (tenantId, domain) =>
    messageSubmitted({
      eventId: `${prefix}-${sequence++}`,
      tenantId,
      occurredAt: Date.now(),
      envelopeSenderDomain: domain,
      connectorId: `${tenantId}-onprem`,
    });
}

/** The tenant's own (accepted) domain: the flood is its legitimate mail. */
export const ownDomain = (tenantId: string) => `mail.${tenantId}.example`;

/** Publishes the events keyed by tenant; resolves with when the brokers acknowledged them. */
export async function publish(
  { log, codec }: Pick<Adapters, 'log' | 'codec'>,
  events: readonly MessageSubmitted[],
): Promise<number> {
  const records = await Promise.all(
    events.map(async (e) => ({ key: e.tenantId, value: await codec.encode(Topics.messageSubmitted, e) })),
  );
  await log.publish(Topics.messageSubmitted, records);
  return Date.now();
}
