// The admin operations behind the admin API and the operator CLI: every change is validated, published to its
// compacted topic and to the audit topic, then applied to this process's directory (the reducers are
// idempotent, so the feed applying it again changes nothing). A rejected request publishes nothing.
import { randomUUID } from 'node:crypto';
import type {
  AcceptedDomainChanged,
  Attestations,
  AuditEvent,
  ConnectorChanged,
  RelayPath,
  Role,
  TenantBlockEvent,
  TenantPolicyChanged,
  UnblockSource,
} from '../core/contracts.generated.js';
import {
  type ActiveBlock,
  type Connector,
  type DirectoryEvent,
  probationUntil,
  type TenantDirectory,
} from '../core/directory.js';
import { normalizeDomain } from '../core/domain-name.js';
import { RelayguardError } from '../core/errors.js';
import { parseIpRange } from '../core/ip-ranges.js';
import { effectivePolicy, type Policy, type PolicyOverrides, type WindowCounts } from '../core/policy.js';
import { type ContractTopic, type TopicContracts, Topics } from '../core/topics.js';
import { windowCounts } from '../core/windows.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { Clock, EventLog, SchemaCodec, WindowStore } from '../platform/ports.js';

export interface Actor {
  /** Who acts: a token's subject, never the token. */
  readonly subject: string;
  readonly role: Role;
}

export interface ConnectorInput {
  readonly relayPath: RelayPath;
  readonly senderIpRanges: readonly string[];
  readonly tlsCertificateDomain?: string | null;
  readonly enabled: boolean;
}

export interface UnblockInput {
  readonly ticket: string | null;
  readonly attestations: Attestations;
}

export interface TenantStatus {
  readonly tenantId: string;
  readonly blocked: boolean;
  readonly mode: 'ENFORCE' | 'MONITOR';
  readonly block: ActiveBlock | null;
  readonly counters: WindowCounts;
  readonly thresholds: ReturnType<typeof effectivePolicy>['thresholds'];
  readonly probationUntil: number | null;
}

export interface AdminDeps {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly directory: TenantDirectory;
  readonly store: WindowStore;
  readonly policy: Policy;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly probationMs: number;
}

export class AdminService {
  readonly #deps: AdminDeps;

  constructor(deps: AdminDeps) {
    this.#deps = deps;
  }

  async putAcceptedDomain(actor: Actor, tenantId: string, domain: string, matchSubdomains: boolean) {
    const event: AcceptedDomainChanged = {
      ...this.#stamp(actor),
      tenantId,
      domain: normalizeDomain(domain),
      change: 'ADDED',
      matchSubdomains,
    };
    await this.#change(
      actor,
      { kind: 'accepted-domain', event },
      Topics.acceptedDomains,
      `${tenantId}/${event.domain}`,
      'accepted-domain.put',
      event.domain,
    );
    return { domain: event.domain, matchSubdomains };
  }

  async removeAcceptedDomain(actor: Actor, tenantId: string, domain: string): Promise<boolean> {
    const normalized = normalizeDomain(domain);
    const existing = this.#deps.directory.acceptedDomain(tenantId, normalized);
    if (!existing) return false;
    const event: AcceptedDomainChanged = {
      ...this.#stamp(actor),
      tenantId,
      domain: normalized,
      change: 'REMOVED',
      matchSubdomains: existing.matchSubdomains,
    };
    await this.#change(
      actor,
      { kind: 'accepted-domain', event },
      Topics.acceptedDomains,
      `${tenantId}/${normalized}`,
      'accepted-domain.delete',
      normalized,
    );
    return true;
  }

  async putConnector(
    actor: Actor,
    tenantId: string,
    connectorId: string,
    input: ConnectorInput,
  ): Promise<Connector> {
    const ranges = input.senderIpRanges.map((cidr, i) => parseIpRange(cidr, `senderIpRanges[${i}]`));
    for (const range of ranges) {
      const owner = this.#deps.directory.rangeOwner(range);
      if (owner && (owner.tenantId !== tenantId || owner.connectorId !== connectorId)) {
        throw new RelayguardError(
          'INVALID_FIELD',
          `senderIpRanges: ${range.cidr} already identifies another connector; a range identifies one connector`,
          { field: 'senderIpRanges' },
        );
      }
    }
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
    const previous = this.#deps.directory.tenant(tenantId)?.connectors.get(connectorId);
    const stamp = this.#stamp(actor);
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
    };
    await this.#change(
      actor,
      { kind: 'connector', event },
      Topics.connectors,
      `${tenantId}/${connectorId}`,
      'connector.put',
      connectorId,
    );
    return this.#deps.directory.tenant(tenantId)!.connectors.get(connectorId)!;
  }

  async removeConnector(actor: Actor, tenantId: string, connectorId: string): Promise<boolean> {
    const previous = this.#deps.directory.tenant(tenantId)?.connectors.get(connectorId);
    if (!previous) return false;
    const event: ConnectorChanged = {
      ...this.#stamp(actor),
      tenantId,
      connectorId,
      change: 'REMOVED',
      relayPath: previous.relayPath,
      senderIpRanges: previous.senderIpRanges,
      tlsCertificateDomain: previous.tlsCertificateDomain,
      enabled: false,
      createdAt: previous.createdAt,
      createdBy: previous.createdBy,
    };
    await this.#change(
      actor,
      { kind: 'connector', event },
      Topics.connectors,
      `${tenantId}/${connectorId}`,
      'connector.delete',
      connectorId,
    );
    return true;
  }

  async setPolicy(actor: Actor, tenantId: string, overrides: PolicyOverrides): Promise<PolicyOverrides> {
    const event: TenantPolicyChanged = {
      ...this.#stamp(actor),
      tenantId,
      mode: overrides.mode ?? null,
      minUnregistered: overrides.minUnregistered ?? null,
      minUnregisteredRatio: overrides.minUnregisteredRatio ?? null,
      minDistinctDomains: overrides.minDistinctDomains ?? null,
      minUnregisteredWithDistinct: overrides.minUnregisteredWithDistinct ?? null,
      forwardedWeight: overrides.forwardedWeight ?? null,
    };
    await this.#change(
      actor,
      { kind: 'tenant-policy', event },
      Topics.tenantPolicies,
      tenantId,
      'tenant-policy.put',
      tenantId,
    );
    return this.#deps.directory.tenant(tenantId)?.policy ?? {};
  }

  async status(tenantId: string): Promise<TenantStatus> {
    const record = this.#deps.directory.tenant(tenantId);
    const now = this.#deps.clock.now();
    const effective = effectivePolicy(this.#deps.policy, record?.policy, probationUntil(record), now);
    const window = (await this.#deps.store.load([tenantId])).get(tenantId);
    const counters: WindowCounts = window
      ? windowCounts(window, effective.forwardedWeight)
      : { unregistered: 0, forwardedUnregistered: 0, total: 0, distinctUnregisteredDomains: 0 };
    const until = probationUntil(record);
    return {
      tenantId,
      blocked: record?.block?.mode === 'ENFORCE',
      mode: effective.mode,
      block: record?.block ?? null,
      counters,
      thresholds: effective.thresholds,
      probationUntil: until !== null && until > now ? until : null,
    };
  }

  /** Blocked tenants, newest first. */
  blocks(): ActiveBlock[] {
    const blocks: ActiveBlock[] = [];
    for (const record of this.#deps.directory.tenants())
      if (record.block?.mode === 'ENFORCE') blocks.push(record.block);
    return blocks.sort((a, b) => b.blockedAt - a.blockedAt);
  }

  /** The operator unblock: every attestation must be given; the answer lists what the system itself still sees. */
  async unblock(actor: Actor, tenantId: string, input: UnblockInput) {
    return this.#unblock(actor, tenantId, input, 'OPERATOR', null);
  }

  /** What an operator should check before lifting: the evidence's domains still unregistered, its connectors still enabled. */
  remediationWarnings(tenantId: string): string[] {
    const record = this.#deps.directory.tenant(tenantId);
    const block = record?.block;
    if (!record || !block) return [];
    const warnings: string[] = [];
    for (const { domain } of block.evidence.topDomains) {
      if (!this.#deps.directory.acceptedDomain(tenantId, domain)) {
        warnings.push(`domain ${domain} from the evidence is still unregistered`);
      }
    }
    for (const { connectorId } of block.evidence.connectors) {
      const connector = record.connectors.get(connectorId);
      if (connector?.enabled && connector.updatedAt <= block.blockedAt) {
        warnings.push(
          `connector ${connectorId} carried the unregistered volume and is unchanged and enabled since the block`,
        );
      }
    }
    return warnings;
  }

  async #unblock(
    actor: Actor,
    tenantId: string,
    input: UnblockInput,
    source: UnblockSource,
    probationUntilAt: number | null,
  ) {
    const block = this.#deps.directory.tenant(tenantId)?.block;
    if (block?.mode !== 'ENFORCE') {
      throw new RelayguardError('NOT_BLOCKED', `tenant ${tenantId} is not blocked`);
    }
    const missing = (Object.keys(input.attestations) as (keyof Attestations)[]).filter(
      (key) => input.attestations[key] !== true,
    );
    for (const key of ['domainsRegistered', 'connectorsReviewed', 'serversSecured'] as const) {
      if (input.attestations[key] !== true && !missing.includes(key)) missing.push(key);
    }
    if (missing.length > 0) {
      throw new RelayguardError(
        'ATTESTATION_MISSING',
        `attestations: ${missing.join(', ')} must be true before the block is lifted`,
        { field: `attestations.${missing[0]}` },
      );
    }
    const warnings = this.remediationWarnings(tenantId);
    const stamp = this.#stamp(actor);
    const event: TenantBlockEvent = {
      eventId: stamp.eventId,
      tenantId,
      occurredAt: stamp.occurredAt,
      kind: 'UNBLOCKED',
      blocked: null,
      unblocked: {
        blockId: block.blockId,
        source,
        actor: actor.subject,
        ticket: input.ticket,
        attestations: input.attestations,
        probationUntil: probationUntilAt,
      },
    };
    await this.#change(
      actor,
      { kind: 'tenant-block', event },
      Topics.tenantBlocks,
      tenantId,
      source === 'OPERATOR' ? 'tenant.unblock' : 'tenant.self-service-unblock',
      block.blockId,
      {
        ticket: input.ticket,
        details: {
          warnings: warnings.join('; '),
          ...Object.fromEntries(Object.entries(input.attestations).map(([k, v]) => [k, String(v)])),
        },
      },
    );
    this.#deps.metrics.blocksLifted.inc({ source });
    return {
      blockId: block.blockId,
      unblockedAt: stamp.occurredAt,
      warnings,
      probationUntil: probationUntilAt,
    };
  }

  #stamp(actor: Actor) {
    return { eventId: randomUUID(), occurredAt: this.#deps.clock.now(), actor: actor.subject };
  }

  async #change(
    actor: Actor,
    change: DirectoryEvent,
    topic: ContractTopic,
    key: string,
    action: string,
    target: string,
    extra: { ticket?: string | null; details?: Record<string, string> } = {},
  ): Promise<void> {
    const { codec, log, directory, clock } = this.#deps;
    const tenantId = change.event.tenantId;
    const audit: AuditEvent = {
      auditId: randomUUID(),
      occurredAt: clock.now(),
      actor: actor.subject,
      role: actor.role,
      action,
      tenantId,
      target,
      ticket: extra.ticket ?? null,
      details: extra.details ?? {},
    };
    const value = await codec.encode(topic, change.event as TopicContracts[typeof topic]);
    const auditValue = await codec.encode(Topics.audit, audit);
    await log.publish(topic, [{ key, value }]);
    await log.publish(Topics.audit, [{ key: tenantId, value: auditValue }]);
    directory.apply(change);
    this.#deps.logger.info(
      { action, tenantId, target, actor: actor.subject, role: actor.role },
      'admin change',
    );
  }
}
