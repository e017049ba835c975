// An example downstream service: tells a tenant's contact when the tenant is blocked from sending from
// unregistered domains, with the evidence and the steps to be unblocked, and when the block is lifted. Built on
// relayguard/subscriber alone (types only here; main.ts wires the Kafka subscriber).
import type { BlockChange, BlockSubscriber, CurrentBlock } from 'relayguard/subscriber';

export interface Notification {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

export interface TenantNotifierOptions {
  readonly subscriber: BlockSubscriber;
  /** The tenant's contact address; undefined when the tenant has none (nothing is sent). */
  readonly contactOf: (tenantId: string) => string | undefined;
  /** Sends one notification (a mail API, a ticketing system). Throwing makes the subscriber deliver the change again. */
  readonly send: (notification: Notification) => Promise<void>;
}

/**
 * Registers the notifier's handlers; call before `subscriber.start()`. Changes read while catching up on the
 * topic's history (`replayed`) were notified by an earlier run and are skipped. A change can still arrive twice
 * (at least once), so each is notified once per event id: kept in memory here; a real service keeps it in its
 * own store.
 */
export function startTenantNotifier({ subscriber, contactOf, send }: TenantNotifierOptions): void {
  const notified = new Set<string>();
  const notify = async (change: BlockChange) => {
    if (change.replayed || notified.has(change.event.eventId)) return;
    const to = contactOf(change.tenantId);
    if (to !== undefined) await send({ to, ...message(change) });
    notified.add(change.event.eventId);
  };
  subscriber.on('blocked', notify);
  subscriber.on('unblocked', notify);
}

function message(change: BlockChange): Omit<Notification, 'to'> {
  if (change.kind === 'unblocked') {
    return {
      subject: `Mail from unregistered domains is flowing again for ${change.tenantId}`,
      text: `The block ${change.unblock.blockId} was lifted${change.unblock.ticket ? ` (ticket ${change.unblock.ticket})` : ''}.`,
    };
  }
  return {
    subject: `${change.tenantId} is blocked from sending from unregistered domains`,
    text: blockText(change.block),
  };
}

function blockText(block: CurrentBlock): string {
  const { evidence } = block;
  const minutes = Math.round((evidence.windowEnd - evidence.windowStart) / 60_000);
  return [
    block.mode === 'MONITOR'
      ? 'relayguard would block your tenant (monitor mode: nothing is rejected yet).'
      : 'Your relays now answer mail from unregistered domains with 550 5.7.750; mail from your registered domains still flows.',
    `In ${minutes} minutes, ${evidence.unregistered} of ${evidence.total} messages came from ${evidence.distinctUnregisteredDomains} domains you have not registered,`,
    `most from ${evidence.topDomains.map((top) => top.domain).join(', ') || '(none recorded)'},`,
    `through ${evidence.connectors.map((connector) => connector.connectorId).join(', ') || '(no connector named)'}.`,
    'To be unblocked: register every domain you send from, review your inbound connectors, secure your',
    `on-premises servers, then ask support to lift block ${block.blockId}.`,
  ].join('\n');
}
