// The admin operations behind the admin API and the operator CLI: every change is validated, published to its
// compacted topic and to the audit topic, then applied to this process's directory (the reducers are
// idempotent, so the feed applying it again changes nothing). A rejected request publishes nothing.
import { randomBytes, randomUUID } from 'node:crypto';
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
  VerificationMethod,
} from '../core/contracts.generated.js';
import {
  type AcceptedDomain,
  type ActiveBlock,
  type Connector,
  connectorSettingsKey,
  type DirectoryEvent,
  isLegacyDomain,
  probationUntil,
  type TenantDirectory,
  type TenantRecord,
} from '../core/directory.js';
import { isPublicSuffix, isReservedDomain, normalizeDomain, unicodeDomain } from '../core/domain-name.js';
import { RelayguardError } from '../core/errors.js';
import { type IpRange, parseIpRange } from '../core/ip-ranges.js';
import { effectivePolicy, type Policy, type PolicyOverrides, type WindowCounts } from '../core/policy.js';
import { BLOCK_HISTORY_MS, type ContractTopic, type TopicContracts, Topics } from '../core/topics.js';
import { resetWindow, type TenantWindow, windowCounts } from '../core/windows.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { Clock, EventLog, SchemaCodec, TxtResolver, WindowStore } from '../platform/ports.js';
import { takingTurns } from '../platform/turns.js';
import { type ConnectorReview, reviewConnectors } from './connector-review.js';
import { type TenantWindowReply, windowView } from './console/window-view.js';

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
  /** Absent or false attestations refuse the unblock (ATTESTATION_MISSING) and publish nothing. */
  readonly attestations: Partial<Attestations> | undefined;
}

const ATTESTATION_KEYS = ['domainsRegistered', 'connectorsReviewed', 'serversSecured'] as const;

export type SelfServiceCheckName = 'first-block-in-30-days' | 'connectors-remediated' | 'attestations';

export interface SelfServiceCheck {
  readonly check: SelfServiceCheckName;
  readonly passed: boolean;
  readonly detail: string;
}

export interface TenantStatus {
  readonly tenantId: string;
  readonly blocked: boolean;
  readonly mode: 'ENFORCE' | 'MONITOR';
  readonly block: ActiveBlock | null;
  readonly counters: WindowCounts;
  readonly thresholds: ReturnType<typeof effectivePolicy>['thresholds'];
  readonly probationUntil: number | null;
  /** While blocked: what the system still sees, and whether a self-service unblock would pass its own checks. */
  readonly remediation: {
    readonly warnings: string[];
    readonly selfServiceChecks: SelfServiceCheck[];
  } | null;
}

export interface BlockSummary {
  readonly tenantId: string;
  readonly blockId: string;
  readonly blockedAt: number;
  readonly reason: ActiveBlock['reason'];
  readonly probation: boolean;
  readonly unregistered: number;
  readonly total: number;
  readonly distinctUnregisteredDomains: number;
}

export interface BlockPage {
  readonly blocks: BlockSummary[];
  /** Pass as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
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
  /** The broadest sender range (prefix length) a tenant administrator may claim; operators may claim any. */
  readonly tenantMinPrefix: { readonly ipv4: number; readonly ipv6: number };
  /** Where domain verification looks up TXT records. */
  readonly dns: TxtResolver;
}

export class AdminService {
  readonly #deps: AdminDeps;
  /** Changes to who claims what take turns: a claim is checked against the directory its predecessor updated. */
  readonly #claims = takingTurns();
  /** Verified domains (`tenantId/domain`) whose TXT record a re-check did not find, and since when. */
  readonly #recordsLost = new Map<string, number>();

  constructor(deps: AdminDeps) {
    this.#deps = deps;
  }

  /**
   * Registers (or updates) an accepted domain. From an operator this is an audited assertion of control, so the
   * domain is verified at once; from a tenant administrator it stays pending, counting as unregistered, until
   * `verifyAcceptedDomain` finds its TXT record. Refuses a public suffix (INVALID_DOMAIN) and a domain another
   * tenant verified, or whose subtree it covers or lies in (CLAIM_CONFLICT).
   */
  async putAcceptedDomain(actor: Actor, tenantId: string, domain: string, matchSubdomains: boolean) {
    const normalized = normalizeDomain(domain);
    if (isPublicSuffix(normalized)) {
      throw new RelayguardError(
        'INVALID_DOMAIN',
        `domain: ${normalized} is a public suffix (names under it belong to many owners); register your own domain under it`,
        { field: 'domain' },
      );
    }
    if (isReservedDomain(normalized)) {
      throw new RelayguardError(
        'INVALID_DOMAIN',
        `domain: ${normalized} is under .invalid, reserved for senders without a domain; it cannot be registered`,
        { field: 'domain' },
      );
    }
    return this.#claims(async () => {
      this.#checkDomainClaim(tenantId, normalized, matchSubdomains);
      const previous = this.#deps.directory.domainEntry(tenantId, normalized);
      const stamp = this.#stamp(actor);
      const verification =
        previous?.verification ??
        (actor.role === 'OPERATOR'
          ? { method: 'OPERATOR' as const, verifiedAt: stamp.occurredAt, actor: actor.subject }
          : null);
      const event: AcceptedDomainChanged = {
        ...stamp,
        tenantId,
        domain: normalized,
        change: 'ADDED',
        matchSubdomains,
        verification,
        // A legacy domain keeps its empty token, and so its standing, until an operator asserts it.
        verificationToken: previous ? previous.verificationToken : randomBytes(16).toString('hex'),
      };
      await this.#change(
        actor,
        { kind: 'accepted-domain', event },
        Topics.acceptedDomains,
        `${tenantId}/${event.domain}`,
        'accepted-domain.put',
        event.domain,
        verification?.method === 'OPERATOR' && !previous?.verification
          ? { details: { verification: 'OPERATOR' } }
          : {},
      );
      return {
        domain: event.domain,
        unicode: unicodeDomain(event.domain),
        matchSubdomains,
        created: !previous,
        verification: this.#verificationView(
          tenantId,
          this.#deps.directory.domainEntry(tenantId, normalized)!,
        ),
      };
    });
  }

  /**
   * Proves the tenant's control of a pending domain: by its TXT record `relayguard-verification=<token>`, looked
   * up now (VERIFICATION_FAILED when it is not there, DNS_UNAVAILABLE when the resolver does not answer), or by
   * an operator's assertion (OPERATOR_ONLY for anyone else), audited with its ticket. A verified domain stays
   * as it is.
   */
  async verifyAcceptedDomain(
    actor: Actor,
    tenantId: string,
    domain: string,
    input: { readonly method?: VerificationMethod | undefined; readonly ticket?: string | undefined },
  ) {
    const normalized = normalizeDomain(domain);
    const method = input.method ?? 'DNS_TXT';
    const pending = this.#existingDomain(tenantId, normalized);
    if (method === 'OPERATOR' && actor.role !== 'OPERATOR') {
      throw new RelayguardError(
        'OPERATOR_ONLY',
        'method: only an operator may assert control of a domain; publish the TXT record and verify by DNS_TXT',
        { field: 'method' },
      );
    }
    if (method === 'DNS_TXT' && isLegacyDomain(pending)) {
      throw new RelayguardError(
        'VERIFICATION_FAILED',
        'method: this domain was accepted before verification existed and has no TXT token; an operator asserts it (method OPERATOR)',
        { field: 'method' },
      );
    }
    if (method === 'DNS_TXT' && !pending.verification) {
      const expected = txtRecordValue(pending.verificationToken);
      const found = await this.#deps.dns.resolveTxt(normalized);
      if (!found.includes(expected)) {
        throw new RelayguardError(
          'VERIFICATION_FAILED',
          `domain: no TXT record "${expected}" at ${normalized} (${found.length} other TXT records there); publish it and verify again`,
          { field: 'domain' },
        );
      }
    }
    return this.#claims(async () => {
      const entry = this.#existingDomain(tenantId, normalized);
      if (!entry.verification) {
        this.#checkDomainClaim(tenantId, normalized, entry.matchSubdomains);
        const stamp = this.#stamp(actor);
        const event: AcceptedDomainChanged = {
          ...stamp,
          tenantId,
          domain: normalized,
          change: 'ADDED',
          matchSubdomains: entry.matchSubdomains,
          verification: { method, verifiedAt: stamp.occurredAt, actor: actor.subject },
          verificationToken: entry.verificationToken,
        };
        await this.#change(
          actor,
          { kind: 'accepted-domain', event },
          Topics.acceptedDomains,
          `${tenantId}/${normalized}`,
          'accepted-domain.verify',
          normalized,
          { ticket: input.ticket ?? null, details: { verification: method } },
        );
      }
      const verified = this.#existingDomain(tenantId, normalized);
      return {
        domain: normalized,
        unicode: unicodeDomain(normalized),
        verification: this.#verificationView(tenantId, verified),
      };
    });
  }

  /**
   * Looks up every DNS-verified domain's TXT record again. A record that is gone is reported (the listing's
   * `recordLostAt`, `relayguard_domain_verification_lost`, a warning) and not enforced: a DNS change or outage
   * must not turn a tenant's real domain into unregistered mail; an operator decides. An unanswered lookup
   * changes nothing.
   */
  async recheckVerifiedDomains(): Promise<void> {
    const { directory, dns, clock, logger, metrics } = this.#deps;
    for (const record of directory.tenants()) {
      for (const entry of record.acceptedDomains) {
        if (entry.verification?.method !== 'DNS_TXT') continue;
        const key = `${record.tenantId}/${entry.domain}`;
        let found: string[];
        try {
          found = await dns.resolveTxt(entry.domain);
        } catch (error) {
          logger.warn(
            { err: error, tenantId: record.tenantId, domain: entry.domain },
            'domain re-check failed',
          );
          continue;
        }
        if (found.includes(txtRecordValue(entry.verificationToken))) {
          this.#recordsLost.delete(key);
        } else if (!this.#recordsLost.has(key)) {
          this.#recordsLost.set(key, clock.now());
          logger.warn(
            { tenantId: record.tenantId, domain: entry.domain },
            'verified domain lost its TXT record; it stays registered until an operator removes it',
          );
        }
      }
    }
    for (const key of this.#recordsLost.keys()) {
      const [tenantId, domain] = key.split('/') as [string, string];
      if (directory.domainEntry(tenantId, domain)?.verification?.method !== 'DNS_TXT')
        this.#recordsLost.delete(key);
    }
    metrics.domainVerificationLost.set(this.#recordsLost.size);
  }

  #existingDomain(tenantId: string, domain: string): AcceptedDomain {
    const entry = this.#deps.directory.domainEntry(tenantId, domain);
    if (!entry) {
      throw new RelayguardError('NOT_FOUND', `domain: ${domain} is not an accepted domain of ${tenantId}`, {
        field: 'domain',
      });
    }
    return entry;
  }

  #checkDomainClaim(tenantId: string, domain: string, matchSubdomains: boolean): void {
    const conflict = this.#deps.directory.domainConflict(tenantId, domain, matchSubdomains);
    if (conflict === undefined) return;
    const how =
      conflict === domain
        ? 'is registered to another tenant'
        : conflict.endsWith(`.${domain}`)
          ? `covers ${conflict}, which is registered to another tenant`
          : `lies under ${conflict}, whose subdomains are registered to another tenant`;
    throw new RelayguardError(
      'CLAIM_CONFLICT',
      `domain: ${domain} ${how}; a domain belongs to one tenant (ask an operator if it is yours)`,
      { field: 'domain' },
    );
  }

  /** Throws NOT_FOUND when the domain is not an accepted domain of the tenant, pending or verified. */
  async removeAcceptedDomain(actor: Actor, tenantId: string, domain: string): Promise<void> {
    const normalized = normalizeDomain(domain);
    await this.#claims(async () => {
      const existing = this.#existingDomain(tenantId, normalized);
      const event: AcceptedDomainChanged = {
        ...this.#stamp(actor),
        tenantId,
        domain: normalized,
        change: 'REMOVED',
        matchSubdomains: existing.matchSubdomains,
        verification: existing.verification,
        verificationToken: existing.verificationToken,
      };
      await this.#change(
        actor,
        { kind: 'accepted-domain', event },
        Topics.acceptedDomains,
        `${tenantId}/${normalized}`,
        'accepted-domain.delete',
        normalized,
      );
    });
  }

  listAcceptedDomains(tenantId: string) {
    // Sorted by domain already.
    return this.#tenant(tenantId).acceptedDomains.map((entry) => ({
      domain: entry.domain,
      unicode: unicodeDomain(entry.domain),
      matchSubdomains: entry.matchSubdomains,
      addedAt: entry.addedAt,
      verification: this.#verificationView(tenantId, entry),
    }));
  }

  #verificationView(tenantId: string, entry: AcceptedDomain) {
    return verificationView(entry, this.#recordsLost.get(`${tenantId}/${entry.domain}`) ?? null);
  }

  async putConnector(
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
    return this.#claims(async () => {
      this.#checkClaims(tenantId, connectorId, ranges, certificate);
      return this.#publishConnector(actor, tenantId, connectorId, input, ranges, certificate);
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

  async #publishConnector(
    actor: Actor,
    tenantId: string,
    connectorId: string,
    input: ConnectorInput,
    ranges: readonly IpRange[],
    certificate: string | null,
  ): Promise<{ connector: Connector; created: boolean }> {
    const previous = this.#deps.directory.connector(tenantId, connectorId);
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
      identifiersSince: claimTimes(
        previous,
        [...ranges.map((range) => range.cidr), ...(certificate === null ? [] : [certificate])],
        stamp.occurredAt,
      ),
    };
    await this.#change(
      actor,
      { kind: 'connector', event },
      Topics.connectors,
      `${tenantId}/${connectorId}`,
      'connector.put',
      connectorId,
    );
    return {
      connector: this.#deps.directory.connector(tenantId, connectorId)!,
      created: !previous,
    };
  }

  /** Throws NOT_FOUND when the tenant has no such connector. */
  async removeConnector(actor: Actor, tenantId: string, connectorId: string): Promise<void> {
    await this.#claims(() => this.#removeConnector(actor, tenantId, connectorId));
  }

  async #removeConnector(actor: Actor, tenantId: string, connectorId: string): Promise<void> {
    const previous = this.#deps.directory.connector(tenantId, connectorId);
    if (!previous) {
      throw new RelayguardError('NOT_FOUND', `connectorId: ${tenantId} has no connector ${connectorId}`, {
        field: 'connectorId',
      });
    }
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
      identifiersSince: previous.identifiersSince,
    };
    await this.#change(
      actor,
      { kind: 'connector', event },
      Topics.connectors,
      `${tenantId}/${connectorId}`,
      'connector.delete',
      connectorId,
    );
  }

  /** Sorted by connector id. */
  listConnectors(tenantId: string): readonly Connector[] {
    return this.#tenant(tenantId).connectors;
  }

  /** The tenant's connectors, most unusual first, each with its reasons (see connector-review.ts). */
  async reviewConnectors(tenantId: string): Promise<ConnectorReview[]> {
    const record = this.#tenant(tenantId);
    const window = await this.#window(record);
    return reviewConnectors({
      now: this.#deps.clock.now(),
      connectors: record.connectors,
      block: record.block,
      window: new Map([...(window?.connectors ?? [])].map(([id, tracked]) => [id, tracked.messages])),
    });
  }

  /**
   * Replaces the tenant's overrides (absent fields take the global value). A D threshold above the tracking cap
   * (RELAYGUARD_DISTINCT_DOMAIN_CAP) would switch the distinct-domains rule off without a word: it is refused,
   * as the same value in the environment is.
   */
  async setPolicy(actor: Actor, tenantId: string, overrides: PolicyOverrides): Promise<PolicyOverrides> {
    const cap = this.#deps.policy.distinctDomainCap;
    if (overrides.minDistinctDomains !== undefined && overrides.minDistinctDomains > cap) {
      throw new RelayguardError(
        'INVALID_FIELD',
        `minDistinctDomains: must be at most ${cap}: D is counted only up to RELAYGUARD_DISTINCT_DOMAIN_CAP, so a higher threshold could never be reached (to switch the rule off, raise minUnregisteredWithDistinct)`,
        { field: 'minDistinctDomains' },
      );
    }
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

  /** The tenant's overrides, the global policy, and what is in force now (probation halves the counts). */
  getPolicy(tenantId: string) {
    const record = this.#tenant(tenantId);
    const { policy, clock } = this.#deps;
    const until = probationUntil(record);
    const effective = effectivePolicy(policy, record.policy, until, clock.now());
    return {
      tenantId,
      overrides: record.policy ?? {},
      global: { mode: policy.mode, thresholds: policy.thresholds, forwardedWeight: policy.forwardedWeight },
      effective: { ...effective, probationUntil: effective.probation ? until : null },
    };
  }

  /** The tenant's stored window as the scorer sees it: an unblock the scorer has not folded yet already applies. */
  async #window(record: TenantRecord) {
    const window = (await this.#deps.store.load([record.tenantId])).get(record.tenantId);
    if (window) resetWindow(window, record.generation);
    return window;
  }

  async status(tenantId: string): Promise<TenantStatus> {
    const record = this.#tenant(tenantId);
    const now = this.#deps.clock.now();
    const effective = effectivePolicy(this.#deps.policy, record?.policy, probationUntil(record), now);
    const window = await this.#window(record);
    const counters = countsOf(window, effective.forwardedWeight);
    const until = probationUntil(record);
    const blocked = record.block?.mode === 'ENFORCE';
    return {
      tenantId,
      blocked,
      mode: effective.mode,
      block: record.block,
      counters,
      thresholds: effective.thresholds,
      probationUntil: until !== null && until > now ? until : null,
      remediation: blocked
        ? {
            warnings: this.remediationWarnings(tenantId),
            selfServiceChecks: this.selfServiceChecks(tenantId, undefined),
          }
        : null,
    };
  }

  /** The tenant's live window minute by minute, and what carried its unregistered mail (the console's chart). */
  async window(tenantId: string): Promise<TenantWindowReply> {
    const record = this.#tenant(tenantId);
    const { policy, clock } = this.#deps;
    const effective = effectivePolicy(policy, record.policy, probationUntil(record), clock.now());
    const window = await this.#window(record);
    return {
      tenantId,
      windowMinutes: policy.windowMinutes,
      counters: countsOf(window, effective.forwardedWeight),
      ...windowView(window, policy.windowMinutes),
    };
  }

  /** The blocks before the current one: when each was decided (30 days kept) and the last lift. */
  history(tenantId: string) {
    const record = this.#tenant(tenantId);
    return {
      tenantId,
      blockTimes: [...record.blockTimes].reverse(),
      lastUnblock: record.lastUnblock,
    };
  }

  /**
   * Blocked tenants, newest first, a page at a time. The cursor names the last entry of the previous page, so
   * blocks added or lifted between two calls neither repeat nor shift entries across pages.
   */
  blocks(page: { readonly limit: number; readonly cursor?: string | undefined }): BlockPage {
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    const all: BlockSummary[] = [];
    for (const record of this.#deps.directory.tenants()) {
      const block = record.block;
      if (block?.mode !== 'ENFORCE') continue;
      all.push({
        tenantId: record.tenantId,
        blockId: block.blockId,
        blockedAt: block.blockedAt,
        reason: block.reason,
        probation: block.probation,
        unregistered: block.evidence.unregistered,
        total: block.evidence.total,
        distinctUnregisteredDomains: block.evidence.distinctUnregisteredDomains,
      });
    }
    const newestFirst = (
      a: { blockedAt: number; tenantId: string },
      b: { blockedAt: number; tenantId: string },
    ) => b.blockedAt - a.blockedAt || (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0);
    all.sort(newestFirst);
    const start = after === undefined ? 0 : all.findIndex((entry) => newestFirst(entry, after) > 0);
    const blocks = start === -1 ? [] : all.slice(start, start + page.limit);
    const last = blocks[blocks.length - 1];
    const more = start !== -1 && start + page.limit < all.length;
    return { blocks, nextCursor: more && last ? encodeCursor(last) : null };
  }

  /**
   * The operator unblock: every attestation must be given; the answer lists what the system itself still sees.
   * A tenant on probation stays on it, to the same end.
   */
  async unblock(actor: Actor, tenantId: string, input: UnblockInput) {
    // Probation is not the operator's to waive: lifting a block of a tenant on probation keeps it until it ends.
    const until = probationUntil(this.#tenant(tenantId));
    return this.#unblock(
      actor,
      tenantId,
      input,
      'OPERATOR',
      until !== null && until > this.#deps.clock.now() ? until : null,
    );
  }

  /**
   * The tenant admin's own unblock, allowed only when every check passes. Throws SELF_SERVICE_DENIED with the
   * checks in `details` (`eligible: false` when the tenant may not use self-service at all this time). Lifts
   * the block with the tenant on probation: halved thresholds for the configured period.
   */
  async selfServiceUnblock(actor: Actor, tenantId: string, input: UnblockInput) {
    const checks = this.selfServiceChecks(tenantId, input.attestations ?? {});
    const failed = checks.filter((check) => !check.passed);
    if (failed.length > 0) {
      const eligible = failed.every((check) => check.check !== 'first-block-in-30-days');
      throw new RelayguardError(
        'SELF_SERVICE_DENIED',
        `self-service unblock refused: ${failed.map((check) => check.detail).join('; ')}`,
        { details: { eligible, checks } },
      );
    }
    return this.#unblock(
      actor,
      tenantId,
      input,
      'SELF_SERVICE',
      this.#deps.clock.now() + this.#deps.probationMs,
    );
  }

  /**
   * What the system verifies before a self-service unblock. Throws NOT_BLOCKED when there is nothing to lift.
   * Without attestations (a status read) the attestation check is left out.
   */
  selfServiceChecks(tenantId: string, attestations: Partial<Attestations> | undefined): SelfServiceCheck[] {
    const record = this.#tenant(tenantId);
    const block = this.#enforcedBlock(tenantId, record);
    const earlier = record.blockTimes.filter(
      (at) => at < block.blockedAt && at >= block.blockedAt - BLOCK_HISTORY_MS,
    );
    const checks: SelfServiceCheck[] = [
      earlier.length === 0
        ? {
            check: 'first-block-in-30-days',
            passed: true,
            detail: "this is the tenant's first block in 30 days",
          }
        : {
            check: 'first-block-in-30-days',
            passed: false,
            detail: `the tenant was already blocked on ${new Date(earlier[earlier.length - 1]!).toISOString()}: a second block within 30 days is lifted by an operator`,
          },
    ];
    const unremediated: string[] = [];
    for (const { connectorId, messages } of block.evidence.connectors) {
      const connector = this.#deps.directory.connector(tenantId, connectorId);
      if (connectorId === 'unknown') {
        unremediated.push(
          `${messages} unregistered messages arrived without a connector id, which only an operator can review`,
        );
      } else if (carriesAsAtBlock(block, connectorId, connector)) {
        unremediated.push(
          `connector ${connectorId} carried ${messages} unregistered messages and is still enabled with the sender ranges and certificate it had at the block: disable it, remove it or change them`,
        );
      }
    }
    checks.push(
      unremediated.length === 0
        ? {
            check: 'connectors-remediated',
            passed: true,
            detail:
              'every connector that carried the unregistered mail is disabled, removed, or has other sender ranges or another certificate than at the block',
          }
        : { check: 'connectors-remediated', passed: false, detail: unremediated.join('; ') },
    );
    if (attestations !== undefined) {
      const missing = missingAttestations(attestations);
      checks.push(
        missing.length === 0
          ? {
              check: 'attestations',
              passed: true,
              detail: 'domains registered, connectors reviewed, servers secured',
            }
          : {
              check: 'attestations',
              passed: false,
              detail: `attestations: ${missing.join(', ')} must be true`,
            },
      );
    }
    return checks;
  }

  /** What an operator should check before lifting: the evidence's domains still unregistered, its connectors still enabled. */
  remediationWarnings(tenantId: string): string[] {
    const record = this.#deps.directory.tenant(tenantId);
    const block = record?.block;
    if (!record || !block) return [];
    const warnings: string[] = [];
    for (const { domain } of block.evidence.topDomains) {
      if (!this.#deps.directory.acceptedDomain(tenantId, domain)) {
        warnings.push(
          `domain ${domain} carried the blocked volume and is not registered: register it only if the tenant sends from it (spam domains stay unregistered)`,
        );
      }
    }
    for (const { connectorId } of block.evidence.connectors) {
      const connector = this.#deps.directory.connector(tenantId, connectorId);
      if (carriesAsAtBlock(block, connectorId, connector)) {
        warnings.push(
          `connector ${connectorId} carried the unregistered volume and is enabled with the sender ranges and certificate it had at the block`,
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
    const block = this.#enforcedBlock(tenantId, this.#tenant(tenantId));
    const missing = missingAttestations(input.attestations ?? {});
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
        attestations: { domainsRegistered: true, connectorsReviewed: true, serversSecured: true },
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
          ...Object.fromEntries(ATTESTATION_KEYS.map((key) => [key, 'true'])),
          ...(probationUntilAt === null ? {} : { probationUntil: new Date(probationUntilAt).toISOString() }),
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

  #tenant(tenantId: string): TenantRecord {
    const record = this.#deps.directory.tenant(tenantId);
    if (!record) {
      throw new RelayguardError(
        'UNKNOWN_TENANT',
        `tenantId: no tenant ${tenantId} (it has no accepted domain, connector, policy or block yet)`,
        { field: 'tenantId' },
      );
    }
    return record;
  }

  /** Throws UNKNOWN_TENANT for a tenant nobody configured (as a status read does), NOT_BLOCKED for one not blocked. */
  #enforcedBlock(tenantId: string, record: TenantRecord): ActiveBlock {
    const block = record.block;
    if (block?.mode !== 'ENFORCE') {
      throw new RelayguardError('NOT_BLOCKED', `tenant ${tenantId} is not blocked: there is nothing to lift`);
    }
    return block;
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

function countsOf(window: TenantWindow | undefined, forwardedWeight: number): WindowCounts {
  return window
    ? windowCounts(window, forwardedWeight)
    : { unregistered: 0, forwardedUnregistered: 0, total: 0, distinctUnregisteredDomains: 0 };
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

/** The TXT record value that proves control of a domain to relayguard. */
export function txtRecordValue(token: string): string {
  return `relayguard-verification=${token}`;
}

function verificationView(entry: AcceptedDomain, recordLostAt: number | null) {
  const legacy = isLegacyDomain(entry);
  return {
    status: entry.verification ? ('verified' as const) : legacy ? ('legacy' as const) : ('pending' as const),
    method: entry.verification?.method ?? null,
    verifiedAt: entry.verification?.verifiedAt ?? null,
    recordLostAt,
    txtRecord: legacy ? null : { name: entry.domain, value: txtRecordValue(entry.verificationToken) },
  };
}

/**
 * Whether a connector of the block's evidence still carries mail as it did then: enabled, with the same sender
 * ranges and certificate. One the directory did not know at the block cannot be compared, so only disabling or
 * removing it counts.
 */
function carriesAsAtBlock(
  block: ActiveBlock,
  connectorId: string,
  connector: Connector | undefined,
): boolean {
  if (!connector?.enabled) return false;
  const atBlock = block.connectorsAtBlock[connectorId];
  return atBlock === undefined || atBlock === null || atBlock === connectorSettingsKey(connector);
}

function missingAttestations(attestations: Partial<Attestations>): string[] {
  return ATTESTATION_KEYS.filter((key) => attestations[key] !== true);
}

function encodeCursor(entry: { blockedAt: number; tenantId: string }): string {
  return Buffer.from(JSON.stringify([entry.blockedAt, entry.tenantId])).toString('base64url');
}

function decodeCursor(cursor: string): { blockedAt: number; tenantId: string } {
  try {
    const [blockedAt, tenantId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof blockedAt === 'number' && typeof tenantId === 'string') return { blockedAt, tenantId };
  } catch {
    // Falls through to the error below.
  }
  throw new RelayguardError(
    'INVALID_FIELD',
    'cursor: not a cursor from a previous page; repeat the request without it to start from the newest block',
    { field: 'cursor' },
  );
}
