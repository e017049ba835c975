// Connectors and the identifiers they claim: sender IP ranges and a TLS certificate name identify one
// connector of one tenant. A tenant administrator claims only narrow ranges and never marks mail FORWARDED;
// a claim that overlaps another connector's is refused.
import type { ConnectorChanged, RelayPath } from '../core/contracts.generated.js';
import type { Connector } from '../core/directory.js';
import { normalizeDomain } from '../core/domain-name.js';
import { RelayguardError } from '../core/errors.js';
import { type IpRange, parseIpRange } from '../core/ip-ranges.js';
import { stateKey, Topics } from '../core/topics.js';
import type { Mutex } from '../platform/mutex.js';
import type { WindowStore } from '../platform/ports.js';
import type { Actor, TenantChangeDeps } from './change-publisher.js';
import { type ConnectorReview, reviewConnectors } from './connector-review.js';
import { requireTenant, storedWindow } from './tenant-records.js';

export interface ConnectorInput {
  readonly relayPath: RelayPath;
  readonly senderIpRanges: readonly string[];
  readonly tlsCertificateDomain?: string | null;
  readonly enabled: boolean;
}

export interface ConnectorsDeps extends TenantChangeDeps {
  readonly store: WindowStore;
  /** Shared with the accepted domains: a claim is checked against the directory its predecessor updated. */
  readonly claims: Mutex;
  /** The broadest sender range (prefix length) a tenant administrator may claim; operators may claim any. */
  readonly tenantMinPrefix: { readonly ipv4: number; readonly ipv6: number };
}

export class Connectors {
  readonly #deps: ConnectorsDeps;

  constructor(deps: ConnectorsDeps) {
    this.#deps = deps;
  }

  async put(
    actor: Actor,
    tenantId: string,
    connectorId: string,
    input: ConnectorInput,
  ): Promise<{ connector: Connector; created: boolean }> {
    const ranges = input.senderIpRanges.map((cidr, i) =>
      parseIpRange(cidr, `senderIpRanges[${i}]`, { strict: true }),
    );
    const certificate = input.tlsCertificateDomain
      ? normalizeDomain(input.tlsCertificateDomain, 'tlsCertificateDomain')
      : null;
    if (ranges.length === 0 && certificate === null) {
      throw new RelayguardError(
        'MISSING_FIELD',
        'senderIpRanges: a connector needs at least one range or a tlsCertificateDomain to identify its tenant',
        { field: 'senderIpRanges' },
      );
    }
    if (actor.role !== 'OPERATOR') {
      this.#checkRangeWidths(ranges);
      this.#checkRelayPath(tenantId, connectorId, input.relayPath);
    }
    return this.#deps.claims(async () => {
      this.#checkClaims(tenantId, connectorId, ranges, certificate);
      return this.#upsert(actor, tenantId, connectorId, input, ranges, certificate);
    });
  }

  /** Throws NOT_FOUND when the tenant has no such connector. */
  async remove(actor: Actor, tenantId: string, connectorId: string): Promise<void> {
    const { directory, publisher, claims } = this.#deps;
    await claims(async () => {
      const previous = directory.connector(tenantId, connectorId);
      if (!previous) {
        throw new RelayguardError('NOT_FOUND', `connectorId: ${tenantId} has no connector ${connectorId}`, {
          field: 'connectorId',
        });
      }
      const event: ConnectorChanged = {
        ...publisher.stamp(actor),
        tenantId,
        connectorId,
        change: 'REMOVED',
        relayPath: previous.relayPath,
        senderIpRanges: previous.senderIpRanges,
        tlsCertificateDomain: previous.tlsCertificateDomain,
        enabled: false,
        createdAt: previous.createdAt,
        createdBy: previous.createdBy,
        identifiersSince: previous.identifiersSince,
      };
      await this.#publish(actor, event, 'delete');
    });
  }

  /** Sorted by connector id. */
  list(tenantId: string): readonly Connector[] {
    return requireTenant(this.#deps.directory, tenantId).connectors;
  }

  /** The tenant's connectors, most unusual first, each with its reasons (see connector-review.ts). */
  async review(tenantId: string): Promise<ConnectorReview[]> {
    const { directory, store, clock } = this.#deps;
    const record = requireTenant(directory, tenantId);
    const window = await storedWindow(store, record);
    return reviewConnectors({
      now: clock.now(),
      connectors: record.connectors,
      block: record.block,
      window: new Map([...(window?.connectors ?? [])].map(([id, tracked]) => [id, tracked.messages])),
    });
  }

  /**
   * FORWARDED mail weighs 0 by default: a tenant administrator who could mark a connector FORWARDED could exempt
   * its own spam. Only an operator sets it; a connector an operator made FORWARDED may be saved as it is.
   */
  #checkRelayPath(tenantId: string, connectorId: string, relayPath: RelayPath): void {
    if (relayPath !== 'FORWARDED') return;
    if (this.#deps.directory.connector(tenantId, connectorId)?.relayPath === 'FORWARDED') return;
    throw new RelayguardError(
      'OPERATOR_ONLY',
      'relayPath: only an operator may mark a connector FORWARDED (its unregistered mail is allowed); ask an operator to review it',
      { field: 'relayPath' },
    );
  }

  #checkRangeWidths(ranges: readonly IpRange[]): void {
    const { tenantMinPrefix } = this.#deps;
    ranges.forEach((range, i) => {
      if (range.prefix < tenantMinPrefix[range.family]) {
        throw new RelayguardError(
          'OPERATOR_ONLY',
          `senderIpRanges[${i}]: ${range.cidr} is broader than /${tenantMinPrefix[range.family]}; only an operator may claim it`,
          { field: `senderIpRanges[${i}]` },
        );
      }
    });
  }

  #checkClaims(
    tenantId: string,
    connectorId: string,
    ranges: readonly IpRange[],
    certificate: string | null,
  ): void {
    const [conflict] = this.#deps.directory.claimConflicts(tenantId, connectorId, ranges, certificate);
    if (!conflict) return;
    const field =
      conflict.identifier === certificate
        ? 'tlsCertificateDomain'
        : `senderIpRanges[${ranges.findIndex((range) => range.cidr === conflict.identifier)}]`;
    // Another tenant's connector is not named: its id and ranges are that tenant's business.
    const holder =
      conflict.claimedBy.tenantId === tenantId
        ? `this tenant's connector ${conflict.claimedBy.connectorId}`
        : "another tenant's connector";
    const what =
      conflict.identifier === certificate
        ? `${conflict.identifier} already identifies ${holder}`
        : `${conflict.identifier} is, contains or lies inside a range of ${holder}`;
    throw new RelayguardError(
      'CLAIM_CONFLICT',
      `${field}: ${what}; one range or certificate name identifies one connector (ask an operator if it is yours)`,
      { field },
    );
  }

  async #upsert(
    actor: Actor,
    tenantId: string,
    connectorId: string,
    input: ConnectorInput,
    ranges: readonly IpRange[],
    certificate: string | null,
  ): Promise<{ connector: Connector; created: boolean }> {
    const { directory, publisher } = this.#deps;
    const previous = directory.connector(tenantId, connectorId);
    const stamp = publisher.stamp(actor);
    const event: ConnectorChanged = {
      ...stamp,
      tenantId,
      connectorId,
      change: 'UPSERTED',
      relayPath: input.relayPath,
      senderIpRanges: ranges.map((range) => range.cidr),
      tlsCertificateDomain: certificate,
      enabled: input.enabled,
      createdAt: previous?.createdAt ?? stamp.occurredAt,
      createdBy: previous?.createdBy ?? actor.subject,
      identifiersSince: claimTimes(
        previous,
        [...ranges.map((range) => range.cidr), ...(certificate === null ? [] : [certificate])],
        stamp.occurredAt,
      ),
    };
    await this.#publish(actor, event, 'put');
    return { connector: directory.connector(tenantId, connectorId)!, created: !previous };
  }

  /** Publishes a change of one connector, audited as `connector.<verb>`. */
  #publish(actor: Actor, event: ConnectorChanged, verb: 'put' | 'delete'): Promise<void> {
    return this.#deps.publisher.publish(
      actor,
      { kind: 'connector', event },
      {
        topic: Topics.connectors,
        key: stateKey(event.tenantId, event.connectorId),
        action: `connector.${verb}`,
        target: event.connectorId,
      },
    );
  }
}

/** Identifiers the connector already claimed keep their time; new ones are claimed now. */
function claimTimes(
  previous: Connector | undefined,
  identifiers: readonly string[],
  now: number,
): Record<string, number> {
  const previousIds = new Set([...(previous?.senderIpRanges ?? []), previous?.tlsCertificateDomain]);
  return Object.fromEntries(
    identifiers.map((id) => [
      id,
      previous && previousIds.has(id) ? (previous.identifiersSince[id] ?? previous.createdAt) : now,
    ]),
  );
}
