// Webhook endpoints as operators manage them through the admin API and the CLI: register, change, remove (each
// published to relayguard.webhook-endpoints.v1, which every deliverer materializes, and to the audit topic), list
// (never the secret), the delivery log, and replays. An endpoint's destination is checked when it is registered
// as when it is posted to: loopback, private and link-local addresses are refused unless
// RELAYGUARD_WEBHOOK_ALLOW_PRIVATE allows them.
import { randomUUID } from 'node:crypto';
import type { WebhookEndpointChanged } from '../core/contracts.generated.js';
import { RelayguardError } from '../core/errors.js';
import { Topics } from '../core/topics.js';
import { MIN_TOKEN_LENGTH } from '../platform/config/values.js';
import type { WebhookEndpoint } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { createMutex } from '../platform/mutex.js';
import type { Clock, EventLog, SchemaCodec } from '../platform/ports.js';
import { DeliveryLog, type DeliveryLogPage } from '../webhooks/delivery-log.js';
import { checkEndpointUrl } from '../webhooks/destination.js';
import {
  avroEventKind,
  EndpointRegistry,
  type EventKind,
  type KnownEndpoint,
  startEndpointFeed,
} from '../webhooks/endpoints.js';
import { blockChanges, deadLetters, type ReplayFilter } from '../webhooks/replay-source.js';
import type { Actor, ChangePublisher } from './change-publisher.js';

/** As for RELAYGUARD_WEBHOOKS' secrets. */
export const MIN_SECRET_LENGTH = MIN_TOKEN_LENGTH;

export interface WebhookEndpointInput {
  readonly url: string;
  readonly secret: string;
  /** Both kinds when absent. */
  readonly events?: readonly EventKind[];
  /** Every tenant when absent or null. */
  readonly tenants?: readonly string[] | null;
}

/** What to change; an absent field keeps its value, `tenants: null` sends every tenant's changes. */
export type WebhookEndpointPatch = Partial<WebhookEndpointInput>;

/** An endpoint as the API shows it: everything but the secret. */
export interface WebhookEndpointView {
  readonly id: string;
  readonly url: string;
  readonly events: readonly EventKind[];
  readonly tenants: readonly string[] | null;
  readonly source: KnownEndpoint['source'];
  readonly createdAt: number | null;
  readonly updatedAt: number | null;
  readonly updatedBy: string | null;
}

export interface ReplayRequest extends ReplayFilter {
  /** The endpoint's dead letters, or the block changes (since `since`) it receives. */
  readonly from: 'dead-letters' | 'block-events';
}

export interface ReplayResult {
  readonly replayId: string;
  readonly endpointId: string;
  readonly from: ReplayRequest['from'];
  /** Events published for the deliverers to post again, in order per tenant. */
  readonly events: number;
}

export interface WebhookAdminDeps {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly clock: Clock;
  /** Audits each change (endpoints belong to no tenant: the record is keyed by the actor). */
  readonly publisher: ChangePublisher;
  /** The endpoints, materialized by this process (startEndpointFeed). */
  readonly registry: EndpointRegistry;
  readonly deliveryLog: DeliveryLog;
  /** RELAYGUARD_WEBHOOK_ALLOW_PRIVATE. */
  readonly allowPrivate: boolean;
}

export class WebhookEndpointsAdmin {
  readonly #deps: WebhookAdminDeps;
  /** A change is checked against the registry its predecessor updated. */
  readonly #changes = createMutex();

  constructor(deps: WebhookAdminDeps) {
    this.#deps = deps;
  }

  list(): WebhookEndpointView[] {
    return this.#deps.registry.all().map(view);
  }

  get(id: string): WebhookEndpointView {
    return view(this.#existing(id));
  }

  async create(actor: Actor, id: string, input: WebhookEndpointInput): Promise<WebhookEndpointView> {
    return this.#changes(async () => {
      this.#checkNotConfigured(id);
      if (this.#deps.registry.registered(id)) {
        throw new RelayguardError(
          'ENDPOINT_CONFLICT',
          `webhook endpoint ${id} exists; change it with PATCH /v1/webhooks/${id} (relayguard webhooks update)`,
          { field: 'id' },
        );
      }
      const now = this.#deps.clock.now();
      await this.#publish(actor, 'webhook-endpoint.create', await this.#upserted(actor, id, input, now));
      return view(this.#registered(id));
    });
  }

  async update(actor: Actor, id: string, patch: WebhookEndpointPatch): Promise<WebhookEndpointView> {
    return this.#changes(async () => {
      this.#checkNotConfigured(id);
      const current = this.#registered(id);
      const input: WebhookEndpointInput = {
        url: patch.url ?? current.url,
        secret: patch.secret ?? current.secret,
        events: patch.events ?? current.events,
        tenants: patch.tenants === undefined ? (current.tenants ?? null) : patch.tenants,
      };
      const event = await this.#upserted(actor, id, input, current.createdAt ?? this.#deps.clock.now());
      // Which fields changed, by name: the audit record never carries the secret.
      const changed = Object.keys(patch).sort().join(',');
      await this.#publish(actor, 'webhook-endpoint.update', event, { changed });
      return view(this.#registered(id));
    });
  }

  async remove(actor: Actor, id: string): Promise<void> {
    await this.#changes(async () => {
      this.#checkNotConfigured(id);
      const current = this.#registered(id);
      await this.#publish(actor, 'webhook-endpoint.delete', {
        ...this.#stamp(actor, id),
        change: 'REMOVED',
        url: null,
        secret: null,
        events: [],
        tenants: null,
        createdAt: current.createdAt ?? this.#deps.clock.now(),
      });
    });
  }

  /** The endpoint's recent deliveries, newest first. */
  deliveries(id: string, limit: number): DeliveryLogPage {
    this.#existing(id);
    return this.#deps.deliveryLog.recent(id, limit);
  }

  /**
   * Publishes the endpoint's dead letters, or the block changes it receives since a time, for the deliverers to
   * post again (signed anew, retried, dead-lettered as any delivery; the delivery log names the replay).
   */
  async replay(actor: Actor, id: string, request: ReplayRequest): Promise<ReplayResult> {
    const endpoint = this.#existing(id);
    const { log, codec, clock } = this.#deps;
    const items =
      request.from === 'dead-letters'
        ? await deadLetters(log, id, request)
        : await blockChanges(log, codec, endpoint, request);
    const replayId = randomUUID();
    const requestedAt = clock.now();
    const records = await Promise.all(
      items.map(async ({ tenantId, payload }) => ({
        key: tenantId,
        value: await codec.encode(Topics.webhookReplays, {
          replayId,
          endpointId: id,
          tenantId,
          eventId: payload.id,
          eventType: payload.type,
          cloudEvent: payload.body,
          requestedAt,
          actor: actor.subject,
        }),
      })),
    );
    if (records.length > 0) await log.publish(Topics.webhookReplays, records);
    const details: Record<string, string> = { from: request.from, events: String(records.length) };
    if (request.since !== null) details.since = new Date(request.since).toISOString();
    if (request.tenantId !== null) details.tenantId = request.tenantId;
    await this.#deps.publisher.audit(actor, null, {
      action: 'webhook.replay',
      target: id,
      details: { ...details, replayId },
    });
    return { replayId, endpointId: id, from: request.from, events: records.length };
  }

  #existing(id: string): KnownEndpoint {
    const endpoint = this.#deps.registry.get(id);
    if (!endpoint) throw notFound(id);
    return endpoint;
  }

  #registered(id: string): KnownEndpoint {
    const endpoint = this.#deps.registry.registered(id);
    if (!endpoint) throw notFound(id);
    return endpoint;
  }

  #checkNotConfigured(id: string): void {
    if (this.#deps.registry.isConfigured(id)) {
      throw new RelayguardError(
        'ENDPOINT_CONFLICT',
        `webhook endpoint ${id} is defined by RELAYGUARD_WEBHOOKS, which takes precedence: change it there, or register another id`,
        { field: 'id' },
      );
    }
  }

  async #upserted(
    actor: Actor,
    id: string,
    input: WebhookEndpointInput,
    createdAt: number,
  ): Promise<WebhookEndpointChanged> {
    if (input.secret.length < MIN_SECRET_LENGTH) {
      // The message never quotes the value: it is a secret.
      throw new RelayguardError(
        'INVALID_FIELD',
        `secret: at least ${MIN_SECRET_LENGTH} characters (e.g. from \`openssl rand -hex 32\`)`,
        { field: 'secret' },
      );
    }
    await checkEndpointUrl(input.url, this.#deps.allowPrivate);
    const events = input.events ?? ['blocked', 'unblocked'];
    return {
      ...this.#stamp(actor, id),
      change: 'UPSERTED',
      url: input.url,
      secret: input.secret,
      events: [...new Set(events)].map(avroEventKind),
      tenants: input.tenants ? [...new Set(input.tenants)] : null,
      createdAt,
    };
  }

  #stamp(actor: Actor, endpointId: string) {
    return { eventId: randomUUID(), endpointId, occurredAt: this.#deps.clock.now(), actor: actor.subject };
  }

  async #publish(
    actor: Actor,
    action: string,
    event: WebhookEndpointChanged,
    details: Record<string, string> = {},
  ): Promise<void> {
    const { codec, log, registry } = this.#deps;
    const value = await codec.encode(Topics.webhookEndpoints, event);
    const key = event.endpointId;
    // A removal ends in a tombstone too, so that compaction forgets the endpoint (RUNBOOK: topic retention).
    const tombstone = event.change === 'REMOVED' ? [{ key, value: null }] : [];
    await log.publish(Topics.webhookEndpoints, [{ key, value }, ...tombstone]);
    const described: Record<string, string> =
      event.change === 'UPSERTED'
        ? {
            host: new URL(event.url!).host,
            events: event.events.join(','),
            tenants: event.tenants?.join(',') ?? '*',
          }
        : {};
    await this.#deps.publisher.audit(actor, null, {
      action,
      target: event.endpointId,
      details: { ...described, ...details },
    });
    // The feed applies it again: applying is idempotent.
    registry.apply(event);
  }
}

function view(endpoint: KnownEndpoint): WebhookEndpointView {
  return {
    id: endpoint.id,
    url: endpoint.url,
    events: endpoint.events,
    tenants: endpoint.tenants ?? null,
    source: endpoint.source,
    createdAt: endpoint.createdAt,
    updatedAt: endpoint.updatedAt,
    updatedBy: endpoint.updatedBy,
  };
}

function notFound(id: string): RelayguardError {
  return new RelayguardError(
    'NOT_FOUND',
    `no webhook endpoint ${id}; GET /v1/webhooks lists them (relayguard webhooks list)`,
    { field: 'id' },
  );
}

export interface WebhookAdminRuntime {
  readonly admin: WebhookEndpointsAdmin;
  /** Resolves once the endpoints are read: until then a registration could not be checked against them. */
  readonly caughtUp: Promise<void>;
  stop(): Promise<void>;
}

/** The admin side of webhooks, on this process's own reading of the endpoints and of the delivery log. */
export async function startWebhookAdmin(
  deps: Omit<WebhookAdminDeps, 'registry' | 'deliveryLog'> & {
    /** RELAYGUARD_WEBHOOKS as this process reads it: listed, and refused as ids to register. */
    readonly configured: readonly WebhookEndpoint[];
    readonly logger: Logger;
    readonly metrics: Metrics;
  },
): Promise<WebhookAdminRuntime> {
  const registry = new EndpointRegistry(deps.configured);
  const deliveryLog = new DeliveryLog();
  const endpointFeed = await startEndpointFeed({ ...deps, registry });
  const deliveryFeed = await deliveryLog.follow(deps).catch(async (error: unknown) => {
    await endpointFeed.stop();
    throw error;
  });
  return {
    admin: new WebhookEndpointsAdmin({ ...deps, registry, deliveryLog }),
    caughtUp: endpointFeed.caughtUp,
    stop: async () => {
      await deliveryFeed.stop();
      await endpointFeed.stop();
    },
  };
}
