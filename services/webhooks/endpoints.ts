// The webhook endpoints: those of RELAYGUARD_WEBHOOKS, and those operators register through the admin API, which
// travel as relayguard.webhook-endpoints.v1 (compacted, key = endpoint id) and are materialized here by every
// process that needs them (the deliverers, the admin service), so replicas agree. An endpoint of
// RELAYGUARD_WEBHOOKS takes precedence over a registered endpoint of the same id: the environment is what the
// deployment pins, and the admin API refuses to register over it (docs/subscribers.md).
import type { WebhookEndpointChanged, WebhookEventKind } from '../core/contracts.generated.js';
import { Topics } from '../core/topics.js';
import type { WebhookEndpoint } from '../platform/config.js';
import type { Subscription } from '../platform/ports.js';
import { startTopicFeed, type TopicFeedPorts } from '../platform/topic-feed.js';

export type EventKind = WebhookEndpoint['events'][number];

export interface KnownEndpoint extends WebhookEndpoint {
  /** Where the endpoint is defined: RELAYGUARD_WEBHOOKS, or the admin API. */
  readonly source: 'environment' | 'api';
  /** Registered endpoints: when first registered, and the latest change and who made it. Null from the environment. */
  readonly createdAt: number | null;
  readonly updatedAt: number | null;
  readonly updatedBy: string | null;
}

export const eventKindOf = (kind: WebhookEventKind): EventKind =>
  kind === 'BLOCKED' ? 'blocked' : 'unblocked';
export const avroEventKind = (kind: EventKind): WebhookEventKind =>
  kind === 'blocked' ? 'BLOCKED' : 'UNBLOCKED';

/** Whether the endpoint wants a change of this kind for this tenant (its event kinds and tenant filter). */
export function receives(endpoint: WebhookEndpoint, kind: EventKind, tenantId: string): boolean {
  return (
    endpoint.events.includes(kind) && (endpoint.tenants === undefined || endpoint.tenants.includes(tenantId))
  );
}

export class EndpointRegistry {
  readonly #configured: ReadonlyMap<string, KnownEndpoint>;
  readonly #registered = new Map<string, KnownEndpoint>();
  #caughtUp = false;

  constructor(configured: readonly WebhookEndpoint[]) {
    this.#configured = new Map(
      configured.map((endpoint) => [
        endpoint.id,
        { ...endpoint, source: 'environment', createdAt: null, updatedAt: null, updatedBy: null },
      ]),
    );
  }

  /** Idempotent: the feed may apply a change this process already applied after publishing it. */
  apply(event: WebhookEndpointChanged): void {
    if (event.change === 'REMOVED' || event.url === null || event.secret === null) {
      this.forget(event.endpointId);
      return;
    }
    this.#registered.set(event.endpointId, {
      id: event.endpointId,
      url: event.url,
      secret: event.secret,
      events: event.events.map(eventKindOf),
      tenants: event.tenants ?? undefined,
      source: 'api',
      createdAt: event.createdAt,
      updatedAt: event.occurredAt,
      updatedBy: event.actor,
    });
  }

  /** A removed endpoint's tombstone: the key alone, once compaction dropped its REMOVED event. */
  forget(id: string): void {
    this.#registered.delete(id);
  }

  /** The endpoint the deliverer posts to under this id: the environment's when both define it. */
  get(id: string): KnownEndpoint | undefined {
    return this.#configured.get(id) ?? this.#registered.get(id);
  }

  /** The endpoint registered through the admin API under this id, even when the environment overrides it. */
  registered(id: string): KnownEndpoint | undefined {
    return this.#registered.get(id);
  }

  isConfigured(id: string): boolean {
    return this.#configured.has(id);
  }

  /** Every endpoint in force, by id. */
  all(): KnownEndpoint[] {
    const registered = [...this.#registered.values()].filter(
      (endpoint) => !this.#configured.has(endpoint.id),
    );
    return [...this.#configured.values(), ...registered].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The endpoints that receive a change of this kind for this tenant. */
  targets(kind: EventKind, tenantId: string): KnownEndpoint[] {
    return this.all().filter((endpoint) => receives(endpoint, kind, tenantId));
  }

  /** False while the endpoints topic is still being read from its beginning. */
  get caughtUp(): boolean {
    return this.#caughtUp;
  }

  markCaughtUp(): void {
    this.#caughtUp = true;
  }
}

export interface EndpointFeedDeps extends TopicFeedPorts {
  readonly registry: EndpointRegistry;
}

/** Materializes the registered endpoints into the registry; `caughtUp` resolves once it holds them all. */
export function startEndpointFeed(deps: EndpointFeedDeps): Promise<Subscription> {
  return startTopicFeed({
    ...deps,
    topic: Topics.webhookEndpoints,
    apply: (event) => deps.registry.apply(event),
    tombstone: (key) => deps.registry.forget(key),
    caughtUp: () => deps.registry.markCaughtUp(),
  });
}
