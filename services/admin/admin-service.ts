// The admin operations behind the admin API and the operator CLI, in one place for their callers. Each concern
// lives in its own module: accepted domains and their verification (accepted-domains.ts), connectors and
// their claims (connectors.ts), lifting blocks (unblocking.ts) by the pure remediation rules
// (remediation-rules.ts), policy overrides (tenant-policies.ts), the read models (tenant-reads.ts), and the
// one way every change is published and audited (change-publisher.ts). A rejected request publishes nothing.
import type { TenantDirectory } from '../core/directory.js';
import type { Policy } from '../core/policy.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { createMutex } from '../platform/mutex.js';
import type { Clock, EventLog, SchemaCodec, TxtResolver, WindowStore } from '../platform/ports.js';
import { AcceptedDomains } from './accepted-domains.js';
import { ChangePublisher } from './change-publisher.js';
import { Connectors } from './connectors.js';
import { TenantPolicies } from './tenant-policies.js';
import { TenantReads } from './tenant-reads.js';
import { Unblocking } from './unblocking.js';

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
  readonly #domains: AcceptedDomains;
  readonly #connectors: Connectors;
  readonly #unblocking: Unblocking;
  readonly #policies: TenantPolicies;
  readonly #reads: TenantReads;

  constructor(deps: AdminDeps) {
    const publisher = new ChangePublisher(deps);
    // Changes to who claims what (domains, ranges, certificate names) hold one mutex: a claim is checked against
    // the directory its predecessor updated.
    const claims = createMutex();
    this.#domains = new AcceptedDomains({ ...deps, publisher, claims });
    this.#connectors = new Connectors({ ...deps, publisher, claims });
    this.#unblocking = new Unblocking({ ...deps, publisher });
    this.#policies = new TenantPolicies({ ...deps, publisher });
    this.#reads = new TenantReads(deps);
  }

  readonly putAcceptedDomain: AcceptedDomains['put'] = (...args) => this.#domains.put(...args);
  readonly verifyAcceptedDomain: AcceptedDomains['verify'] = (...args) => this.#domains.verify(...args);
  readonly recheckVerifiedDomains: AcceptedDomains['recheckVerified'] = () => this.#domains.recheckVerified();
  readonly removeAcceptedDomain: AcceptedDomains['remove'] = (...args) => this.#domains.remove(...args);
  readonly listAcceptedDomains: AcceptedDomains['list'] = (tenantId) => this.#domains.list(tenantId);

  readonly putConnector: Connectors['put'] = (...args) => this.#connectors.put(...args);
  readonly removeConnector: Connectors['remove'] = (...args) => this.#connectors.remove(...args);
  readonly listConnectors: Connectors['list'] = (tenantId) => this.#connectors.list(tenantId);
  readonly reviewConnectors: Connectors['review'] = (tenantId) => this.#connectors.review(tenantId);

  readonly unblock: Unblocking['unblock'] = (...args) => this.#unblocking.unblock(...args);
  readonly selfServiceUnblock: Unblocking['selfServiceUnblock'] = (...args) =>
    this.#unblocking.selfServiceUnblock(...args);

  readonly setPolicy: TenantPolicies['set'] = (...args) => this.#policies.set(...args);
  readonly getPolicy: TenantPolicies['get'] = (tenantId) => this.#policies.get(tenantId);

  readonly status: TenantReads['status'] = (tenantId) => this.#reads.status(tenantId);
  readonly window: TenantReads['window'] = (tenantId) => this.#reads.window(tenantId);
  readonly history: TenantReads['history'] = (tenantId) => this.#reads.history(tenantId);
  readonly blocks: TenantReads['blocks'] = (page) => this.#reads.blocks(page);
}
