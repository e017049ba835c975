// Accepted domains and their verification: registering (pending until the owner proves control, or verified at
// once by an operator's audited assertion), verifying by a DNS TXT record, re-checking verified records, and
// refusing claims on another tenant's domains.
import { randomBytes } from 'node:crypto';
import type { AcceptedDomainChanged, VerificationMethod } from '../core/contracts.generated.js';
import { type AcceptedDomain, isLegacyDomain } from '../core/directory.js';
import { isPublicSuffix, isReservedDomain, normalizeDomain, unicodeDomain } from '../core/domain-name.js';
import { RelayguardError } from '../core/errors.js';
import { stateKey, Topics } from '../core/topics.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { Mutex } from '../platform/mutex.js';
import type { TxtResolver } from '../platform/ports.js';
import type { Actor, ChangeTarget, TenantChangeDeps } from './change-publisher.js';
import { requireTenant } from './tenant-records.js';

export interface AcceptedDomainsDeps extends TenantChangeDeps {
  readonly dns: TxtResolver;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Shared with the connectors: a claim is checked against the directory its predecessor updated. */
  readonly claims: Mutex;
}

/** The TXT record value that proves control of a domain to relayguard. */
export function txtRecordValue(token: string): string {
  return `relayguard-verification=${token}`;
}

export class AcceptedDomains {
  readonly #deps: AcceptedDomainsDeps;
  /** Verified domains (`tenantId/domain`) whose TXT record a re-check did not find, and since when. */
  readonly #recordsLost = new Map<string, number>();

  constructor(deps: AcceptedDomainsDeps) {
    this.#deps = deps;
  }

  /**
   * Registers (or updates) an accepted domain. From an operator this is an audited assertion of control, so the
   * domain is verified at once; from a tenant administrator it stays pending, counting as unregistered, until
   * `verify` finds its TXT record. Refuses a public suffix (INVALID_DOMAIN) and a domain another tenant
   * verified, or whose subtree it covers or lies in (CLAIM_CONFLICT).
   */
  async put(actor: Actor, tenantId: string, domain: string, matchSubdomains: boolean) {
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
    const { directory, publisher, claims } = this.#deps;
    return claims(async () => {
      this.#checkClaim(tenantId, normalized, matchSubdomains);
      const previous = directory.domainEntry(tenantId, normalized);
      const stamp = publisher.stamp(actor);
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
      await this.#publish(
        actor,
        event,
        'put',
        verification?.method === 'OPERATOR' && !previous?.verification
          ? { details: { verification: 'OPERATOR' } }
          : {},
      );
      return {
        domain: event.domain,
        unicode: unicodeDomain(event.domain),
        matchSubdomains,
        created: !previous,
        verification: this.#view(tenantId, directory.domainEntry(tenantId, normalized)!),
      };
    });
  }

  /**
   * Proves the tenant's control of a pending domain: by its TXT record `relayguard-verification=<token>`, looked
   * up now (VERIFICATION_FAILED when it is not there, DNS_UNAVAILABLE when the resolver does not answer), or by
   * an operator's assertion (OPERATOR_ONLY for anyone else), audited with its ticket. A verified domain stays
   * as it is.
   */
  async verify(
    actor: Actor,
    tenantId: string,
    domain: string,
    input: { readonly method?: VerificationMethod | undefined; readonly ticket?: string | undefined },
  ) {
    const normalized = normalizeDomain(domain);
    const method = input.method ?? 'DNS_TXT';
    const pending = this.#existing(tenantId, normalized);
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
    const { publisher, claims } = this.#deps;
    return claims(async () => {
      const entry = this.#existing(tenantId, normalized);
      if (!entry.verification) {
        this.#checkClaim(tenantId, normalized, entry.matchSubdomains);
        const stamp = publisher.stamp(actor);
        const event: AcceptedDomainChanged = {
          ...stamp,
          tenantId,
          domain: normalized,
          change: 'ADDED',
          matchSubdomains: entry.matchSubdomains,
          verification: { method, verifiedAt: stamp.occurredAt, actor: actor.subject },
          verificationToken: entry.verificationToken,
        };
        await this.#publish(actor, event, 'verify', {
          ticket: input.ticket ?? null,
          details: { verification: method },
        });
      }
      return {
        domain: normalized,
        unicode: unicodeDomain(normalized),
        verification: this.#view(tenantId, this.#existing(tenantId, normalized)),
      };
    });
  }

  /**
   * Looks up every DNS-verified domain's TXT record again. A record that is gone is reported (the listing's
   * `recordLostAt`, `relayguard_domain_verification_lost`, a warning) and not enforced: a DNS change or outage
   * must not turn a tenant's real domain into unregistered mail; an operator decides. An unanswered lookup
   * changes nothing.
   */
  async recheckVerified(): Promise<void> {
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

  /** Throws NOT_FOUND when the domain is not an accepted domain of the tenant, pending or verified. */
  async remove(actor: Actor, tenantId: string, domain: string): Promise<void> {
    const normalized = normalizeDomain(domain);
    const { publisher, claims } = this.#deps;
    await claims(async () => {
      const existing = this.#existing(tenantId, normalized);
      const event: AcceptedDomainChanged = {
        ...publisher.stamp(actor),
        tenantId,
        domain: normalized,
        change: 'REMOVED',
        matchSubdomains: existing.matchSubdomains,
        verification: existing.verification,
        verificationToken: existing.verificationToken,
      };
      await this.#publish(actor, event, 'delete');
    });
  }

  list(tenantId: string) {
    // Sorted by domain already.
    return requireTenant(this.#deps.directory, tenantId).acceptedDomains.map((entry) => ({
      domain: entry.domain,
      unicode: unicodeDomain(entry.domain),
      matchSubdomains: entry.matchSubdomains,
      addedAt: entry.addedAt,
      verification: this.#view(tenantId, entry),
    }));
  }

  /** Publishes a change of one accepted domain, audited as `accepted-domain.<verb>`. */
  #publish(
    actor: Actor,
    event: AcceptedDomainChanged,
    verb: 'put' | 'verify' | 'delete',
    audit: Pick<ChangeTarget, 'ticket' | 'details'> = {},
  ): Promise<void> {
    return this.#deps.publisher.publish(
      actor,
      { kind: 'accepted-domain', event },
      {
        topic: Topics.acceptedDomains,
        key: stateKey(event.tenantId, event.domain),
        action: `accepted-domain.${verb}`,
        target: event.domain,
        ...audit,
      },
    );
  }

  #existing(tenantId: string, domain: string): AcceptedDomain {
    const entry = this.#deps.directory.domainEntry(tenantId, domain);
    if (!entry) {
      throw new RelayguardError('NOT_FOUND', `domain: ${domain} is not an accepted domain of ${tenantId}`, {
        field: 'domain',
      });
    }
    return entry;
  }

  #checkClaim(tenantId: string, domain: string, matchSubdomains: boolean): void {
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

  #view(tenantId: string, entry: AcceptedDomain) {
    return verificationView(entry, this.#recordsLost.get(`${tenantId}/${entry.domain}`) ?? null);
  }
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
