// The enforcer answers relays from memory: it materializes the directory (blocks, accepted domains,
// connectors) and decides without a network round trip. Until it has caught up with the compacted topics it
// answers with the configured fallback, and counts it. For Postfix fleets it also publishes MessageSubmitted.
import type { MessageSubmitted } from '../core/contracts.generated.js';
import { blocked, type Decision, type DecisionDirectory, decide } from '../core/decision.js';
import { senderDomainOf } from '../core/domain-name.js';
import type { Connector } from '../core/tenant-record.js';
import { Topics } from '../core/topics.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { Clock, EventLog, SchemaCodec } from '../platform/ports.js';
import { type SubmittedMessage, toMessageSubmitted } from '../sdk/message.js';
import { MessagePublisher } from '../sdk/publisher.js';
import { BounceAllowance } from './bounce-allowance.js';
import type { MessageSpool, SpoolFullAction } from './message-spool.js';

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

/** A relay client's tenant and connector. */
export interface ResolvedClient {
  readonly tenantId: string;
  readonly connector: Pick<Connector, 'connectorId' | 'relayPath'>;
}

/** What the enforcer reads: the enforcer's index alone (enforcer-index.ts), or the whole directory beside others. */
export interface EnforcerDirectory extends DecisionDirectory {
  resolveByAddress(address: string): ResolvedClient | undefined;
  resolveByCertificate(certificateDomain: string): ResolvedClient | undefined;
}

export interface EnforcerDeps {
  readonly directory: EnforcerDirectory;
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly notReadyFallback: 'accept' | 'tempfail';
  /** Null-sender messages a blocked tenant may still relay per hour (RELAYGUARD_BLOCKED_BOUNCES_PER_HOUR). */
  readonly blockedBouncesPerHour: number;
  /** With a spool, a submit resolves once the event is on local disk; without, once the event log has it. */
  readonly spool?: MessageSpool;
}

/** A submitted message's fate: durable (in the event log, or in the spool on its way there), or refused. */
export type Submission =
  | { readonly outcome: 'published' | 'spooled'; readonly event: MessageSubmitted }
  | { readonly outcome: 'spool-full'; readonly action: SpoolFullAction };

export class Enforcer {
  readonly #deps: EnforcerDeps;
  readonly #publisher: MessagePublisher;
  #ready = false;
  readonly #bounces: BounceAllowance;

  constructor(deps: EnforcerDeps) {
    this.#deps = deps;
    this.#bounces = new BounceAllowance(deps.blockedBouncesPerHour);
    // An END-OF-MESSAGE that finds no publish in flight is published at once; under load, those that arrive
    // while one is being written share the next.
    this.#publisher = new MessagePublisher({ log: deps.log, codec: deps.codec, clock: deps.clock });
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

  /**
   * Throws a RelayguardError (INVALID_ADDRESS, INVALID_DOMAIN for the certificate domain) for a client that
   * cannot be resolved. A sender whose domain is not a valid domain name (an address literal, a broken name)
   * is decided as unregistered.
   */
  decide(query: DecisionQuery, stage: string): DecisionAnswer {
    const { metrics } = this.#deps;
    const answer = this.#answer(query);
    metrics.decisions.inc({ stage, action: answer.action });
    if (answer.action === 'REJECT') {
      metrics.blockRefusals.inc({ stage, scope: answer.scope });
      // A blocked tenant's flood is rejected at relay rates: counted always, logged only when debugging.
      this.#deps.logger.debug(
        {
          stage,
          action: answer.action,
          tenantId: answer.tenantId,
          connectorId: answer.connectorId,
          blockId: answer.blockId,
          scope: answer.scope,
        },
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
    const senderDomain =
      senderDomainOf(query.sender) ??
      (query.headerFrom ? senderDomainOf(query.headerFrom, 'headerFrom') : null);
    const { tenantId } = client;
    const connectorId = client.connector?.connectorId ?? null;
    const decision = this.#withBounceAllowance(
      decide(this.#deps.directory, tenantId, senderDomain, connectorId),
      tenantId,
    );
    // Built field by field, not spread: this runs for every relay request, and a spread of the two decision
    // shapes costs a clone each time.
    return decision.action === 'ACCEPT'
      ? { action: 'ACCEPT', reason: decision.reason, tenantId, connectorId }
      : {
          action: 'REJECT',
          code: decision.code,
          enhancedCode: decision.enhancedCode,
          text: decision.text,
          blockId: decision.blockId,
          scope: decision.scope,
          tenantId,
          connectorId,
        };
  }

  /** A blocked tenant's null-sender mail is accepted while its bounce allowance lasts, then rejected. */
  #withBounceAllowance(decision: Decision, tenantId: string): Decision {
    if (decision.action !== 'ACCEPT' || decision.reason !== 'null-sender') return decision;
    if (this.#bounces.take(tenantId, this.#deps.clock.now())) return decision;
    this.#deps.metrics.bouncesOverAllowance.inc();
    return blocked(this.#deps.directory.tenant(tenantId)!.block!);
  }

  /**
   * Publishes one MessageSubmitted for a message the relay accepted; resolves once it is durably written: in the
   * spool when there is one (concurrent calls share one fsync), else in the event log (concurrent calls share
   * one publish). A full spool resolves at once with the configured action, counted.
   */
  async submit(message: SubmittedMessage): Promise<Submission> {
    const { spool, metrics } = this.#deps;
    if (!spool) return { outcome: 'published', event: await this.#publish(message) };
    const event = toMessageSubmitted(message, this.#deps.clock.now());
    const written = spool.append(event);
    if (written === false) {
      metrics.spoolFull.inc({ action: spool.whenFull });
      return { outcome: 'spool-full', action: spool.whenFull };
    }
    await written;
    this.#logSubmitted(event);
    return { outcome: 'spooled', event };
  }

  async #publish(message: SubmittedMessage): Promise<MessageSubmitted> {
    const { metrics } = this.#deps;
    try {
      const event = await this.#publisher.publish(message);
      metrics.eventsProduced.inc({ topic: Topics.messageSubmitted, outcome: 'ok' });
      this.#logSubmitted(event);
      return event;
    } catch (error) {
      metrics.eventsProduced.inc({ topic: Topics.messageSubmitted, outcome: 'error' });
      throw error;
    }
  }

  /** The first link of the correlation chain: relay queue id -> event id (-> the block that event triggers). */
  #logSubmitted(event: MessageSubmitted): void {
    this.#deps.logger.debug(
      {
        topic: Topics.messageSubmitted,
        tenantId: event.tenantId,
        queueId: event.queueId,
        eventId: event.eventId,
      },
      'message submitted',
    );
  }

  /**
   * Delivers the events still being batched; later submits fail with PUBLISHER_CLOSED. The spool keeps what it
   * has not delivered yet for the next start.
   */
  async close(): Promise<void> {
    await this.#publisher.close();
    await this.#deps.spool?.close();
  }
}
