// The enforcer answers relays from memory: it materializes the directory (blocks, accepted domains,
// connectors) and decides without a network round trip. Until it has caught up with the compacted topics it
// answers with the configured fallback, and counts it. For Postfix fleets it also publishes MessageSubmitted.
import { randomUUID } from 'node:crypto';
import type { MessageSubmitted, RelayPath } from '../core/contracts.generated.js';
import { type Decision, decide } from '../core/decision.js';
import type { TenantDirectory } from '../core/directory.js';
import { domainOfAddress } from '../core/domain-name.js';
import { Topics } from '../core/topics.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { Clock, EventLog, SchemaCodec } from '../platform/ports.js';

export interface DecisionQuery {
  /** The tenant, when the relay knows it; otherwise it is resolved from the client address or certificate. */
  readonly tenantId?: string;
  readonly clientAddress?: string;
  /** Domain of the client's TLS certificate (subject CN), for connectors that identify by certificate. */
  readonly certificateDomain?: string;
  /** Envelope sender address; empty for the null sender. */
  readonly sender: string;
  /** Header From address, used when the envelope sender is null. */
  readonly headerFrom?: string;
}

export type DecisionAnswer =
  | (Decision & { readonly tenantId: string; readonly connectorId: string | null })
  | { readonly action: 'ACCEPT'; readonly reason: 'unknown-client' }
  | { readonly action: 'ACCEPT'; readonly reason: 'not-ready' }
  | {
      readonly action: 'TEMPFAIL';
      readonly reason: 'not-ready';
      readonly code: 451;
      readonly enhancedCode: '4.7.1';
      readonly text: string;
    };

export interface SubmittedMessage {
  readonly tenantId: string;
  readonly connectorId: string | null;
  readonly relayPath: RelayPath;
  readonly sender: string;
  readonly headerFrom?: string;
  readonly clientAddress?: string;
  readonly queueId?: string;
  readonly relayHost?: string;
  readonly recipientCount: number;
  readonly sizeBytes: number;
  readonly occurredAt?: number;
}

export interface EnforcerDeps {
  readonly directory: TenantDirectory;
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly notReadyFallback: 'accept' | 'tempfail';
}

export class Enforcer {
  readonly #deps: EnforcerDeps;
  #ready = false;

  constructor(deps: EnforcerDeps) {
    this.#deps = deps;
    deps.metrics.ready.set({ service: 'enforcer' }, 0);
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** Called once the directory feed has caught up with the compacted topics. */
  markReady(): void {
    this.#ready = true;
    this.#deps.metrics.ready.set({ service: 'enforcer' }, 1);
  }

  /** Which tenant and connector a relay client is; undefined when it matches no enabled connector. */
  resolve(query: Pick<DecisionQuery, 'tenantId' | 'clientAddress' | 'certificateDomain'>) {
    const { directory } = this.#deps;
    if (query.certificateDomain) {
      const byCertificate = directory.resolveByCertificate(query.certificateDomain);
      if (byCertificate) return byCertificate;
    }
    if (query.clientAddress) {
      const byAddress = directory.resolveByAddress(query.clientAddress);
      if (byAddress && (query.tenantId === undefined || byAddress.tenantId === query.tenantId))
        return byAddress;
    }
    if (query.tenantId !== undefined) return { tenantId: query.tenantId, connector: undefined };
    return undefined;
  }

  /** Throws a RelayguardError (INVALID_DOMAIN, INVALID_ADDRESS) for a query that cannot be decided. */
  decide(query: DecisionQuery, stage: string): DecisionAnswer {
    const { metrics } = this.#deps;
    const timer = metrics.policyRequestDuration.startTimer({ stage });
    const answer = this.#answer(query);
    timer();
    metrics.decisions.inc({ stage, action: answer.action });
    if (answer.action === 'REJECT') {
      // A blocked tenant's flood is rejected at relay rates: counted always, logged only when debugging.
      this.#deps.logger.debug(
        { stage, action: answer.action, tenantId: answer.tenantId, blockId: answer.blockId },
        'relay told to reject an unregistered sender',
      );
    }
    return answer;
  }

  #answer(query: DecisionQuery): DecisionAnswer {
    if (!this.#ready) {
      this.#deps.metrics.fallbackAnswers.inc();
      return this.#deps.notReadyFallback === 'accept'
        ? { action: 'ACCEPT', reason: 'not-ready' }
        : {
            action: 'TEMPFAIL',
            reason: 'not-ready',
            code: 451,
            enhancedCode: '4.7.1',
            text: 'Service temporarily unavailable, try again later',
          };
    }
    const client = this.resolve(query);
    if (!client) {
      this.#deps.metrics.unknownClients.inc();
      return { action: 'ACCEPT', reason: 'unknown-client' };
    }
    const senderDomain = senderDomainOf(query.sender, query.headerFrom);
    const decision = decide(this.#deps.directory, client.tenantId, senderDomain);
    return { ...decision, tenantId: client.tenantId, connectorId: client.connector?.connectorId ?? null };
  }

  /** Publishes one MessageSubmitted for a message the relay accepted. */
  async submit(message: SubmittedMessage): Promise<MessageSubmitted> {
    const { codec, log, clock } = this.#deps;
    const event = toMessageSubmitted(message, clock.now());
    const value = await codec.encode(Topics.messageSubmitted, event);
    await log.publish(Topics.messageSubmitted, [{ key: event.tenantId, value }]);
    this.#deps.metrics.eventsProduced.inc({ topic: Topics.messageSubmitted, outcome: 'ok' });
    // The first link of the correlation chain: relay queue id -> event id (-> the block that event triggers).
    this.#deps.logger.debug(
      {
        topic: Topics.messageSubmitted,
        tenantId: event.tenantId,
        queueId: event.queueId,
        eventId: event.eventId,
      },
      'message submitted',
    );
    return event;
  }
}

function senderDomainOf(sender: string, headerFrom: string | undefined): string | null {
  return domainOfAddress(sender, 'sender') ?? (headerFrom ? domainOfAddress(headerFrom, 'headerFrom') : null);
}

/** Builds the event; only domains leave the relay, never local parts. */
export function toMessageSubmitted(message: SubmittedMessage, now: number): MessageSubmitted {
  const envelopeSenderDomain = domainOfAddress(message.sender, 'sender');
  const headerFromDomain = message.headerFrom ? domainOfAddress(message.headerFrom, 'headerFrom') : null;
  return {
    eventId: message.queueId && message.relayHost ? `${message.relayHost}/${message.queueId}` : randomUUID(),
    tenantId: message.tenantId,
    occurredAt: message.occurredAt ?? now,
    envelopeSenderDomain,
    headerFromDomain,
    relayPath: message.relayPath,
    connectorId: message.connectorId,
    clientAddress: message.clientAddress ?? null,
    queueId: message.queueId ?? null,
    relayHost: message.relayHost ?? null,
    recipientCount: message.recipientCount,
    sizeBytes: message.sizeBytes,
  };
}
