// The remediation rules, pure: what the system itself checks before a block is lifted (self-service checks,
// attestations) and what it warns an operator about. They read the tenant's record and a lookup of the
// directory, and decide without I/O, so the status read, the operator unblock and the self-service unblock
// all answer from the same rules.
import type { Attestations } from '../core/contracts.generated.js';
import {
  type ActiveBlock,
  type Connector,
  connectorSettingsKey,
  type TenantRecord,
} from '../core/directory.js';
import { RelayguardError } from '../core/errors.js';
import { BLOCK_HISTORY_MS } from '../core/topics.js';

export const ATTESTATION_KEYS = ['domainsRegistered', 'connectorsReviewed', 'serversSecured'] as const;

export type SelfServiceCheckName = 'first-block-in-30-days' | 'connectors-remediated' | 'attestations';

export interface SelfServiceCheck {
  readonly check: SelfServiceCheckName;
  readonly passed: boolean;
  readonly detail: string;
}

/** What the rules read of the directory besides the tenant's record. */
export interface TenantLookups {
  connector(connectorId: string): Connector | undefined;
  /** Whether mail from the domain counts as the tenant's registered mail now. */
  isAccepted(domain: string): boolean;
}

/** The connector id the windows record for mail that arrived without one (core/windows.ts). */
const NO_CONNECTOR_ID = 'unknown';

/** The tenant's block in force; NOT_BLOCKED when there is none (a monitor-mode block lifts nothing). */
export function enforcedBlock(tenantId: string, record: TenantRecord): ActiveBlock {
  const block = record.block;
  if (block?.mode !== 'ENFORCE') {
    throw new RelayguardError('NOT_BLOCKED', `tenant ${tenantId} is not blocked: there is nothing to lift`);
  }
  return block;
}

export function missingAttestations(attestations: Partial<Attestations>): string[] {
  return ATTESTATION_KEYS.filter((key) => attestations[key] !== true);
}

/**
 * Whether a connector of the block's evidence still carries mail as it did then: enabled, with the same sender
 * ranges and certificate. One the directory did not know at the block cannot be compared, so only disabling or
 * removing it counts.
 */
export function carriesAsAtBlock(
  block: ActiveBlock,
  connectorId: string,
  connector: Connector | undefined,
): boolean {
  if (!connector?.enabled) return false;
  const atBlock = block.connectorsAtBlock[connectorId];
  return atBlock === undefined || atBlock === null || atBlock === connectorSettingsKey(connector);
}

export interface UnremediatedConnector {
  readonly connectorId: string;
  readonly messages: number;
  /** False for the mail that arrived without a connector id: only an operator can review where it came from. */
  readonly identified: boolean;
}

/**
 * The connectors a block asks to be remediated: the blocked ones of a connector-scoped block (the tenant's other
 * connectors stayed under the thresholds and keep relaying), every connector of a tenant block's evidence.
 */
export function culpritConnectors(block: ActiveBlock): readonly string[] {
  return block.scope === 'CONNECTOR'
    ? block.connectorIds
    : block.evidence.connectors.map(({ connectorId }) => connectorId);
}

/**
 * The culprit connectors (or only `among` them: those a per-connector lift lifts) nobody has remediated yet, in
 * the block's order.
 */
export function unremediatedConnectors(
  block: ActiveBlock,
  lookups: TenantLookups,
  among: readonly string[] = culpritConnectors(block),
): UnremediatedConnector[] {
  const carried = new Map(
    block.evidence.connectors.map(({ connectorId, messages }) => [connectorId, messages]),
  );
  return among.flatMap((connectorId): UnremediatedConnector[] => {
    const messages = carried.get(connectorId) ?? 0;
    if (connectorId === NO_CONNECTOR_ID) return [{ connectorId, messages, identified: false }];
    return carriesAsAtBlock(block, connectorId, lookups.connector(connectorId))
      ? [{ connectorId, messages, identified: true }]
      : [];
  });
}

/**
 * What the system verifies before a self-service unblock: the tenant's first block in 30 days, and every
 * connector that carried the spam remediated (only `lifting`, the connectors a per-connector lift lifts, when
 * given). With attestations (an unblock, not a status read) they are checked too.
 */
export function selfServiceChecks(
  record: TenantRecord,
  block: ActiveBlock,
  lookups: TenantLookups,
  attestations: Partial<Attestations> | undefined,
  lifting?: readonly string[],
): SelfServiceCheck[] {
  const earlier = earlierBlocks(record, block);
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
  const unremediated = unremediatedConnectors(block, lookups, lifting).map(
    ({ connectorId, messages, identified }) =>
      identified
        ? `connector ${connectorId} carried ${messages} unregistered messages and is still enabled with the sender ranges and certificate it had at the block: disable it, remove it or change them`
        : `${messages} unregistered messages arrived without a connector id, which only an operator can review`,
  );
  checks.push(
    unremediated.length === 0
      ? {
          check: 'connectors-remediated',
          passed: true,
          detail: `${lifting ? 'every connector lifted' : 'every connector that carried the unregistered mail'} is disabled, removed, or has other sender ranges or another certificate than at the block`,
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

/**
 * The tenant's enforce-mode blocks in the 30 days before this one, other than its own episode's: a tenant block
 * that widened a connector-scoped one (`widenedFrom`), or a block restated by a per-connector lift
 * (`liftedConnectorIds`), continues the episode decided after the last unblock.
 */
function earlierBlocks(record: TenantRecord, block: ActiveBlock): number[] {
  const continued = block.widenedFrom !== null || block.liftedConnectorIds.length > 0;
  const episodeFrom = continued
    ? (record.lastUnblock?.unblockedAt ?? Number.NEGATIVE_INFINITY)
    : block.blockedAt;
  return record.blockTimes.filter(
    (at) => at < block.blockedAt && at >= block.blockedAt - BLOCK_HISTORY_MS && at <= episodeFrom,
  );
}

/**
 * The refusal of a self-service unblock whose checks did not all pass, with the checks in `details`
 * (`eligible: false` when the tenant may not use self-service at all this time); null when they all passed.
 */
export function selfServiceRefusal(checks: readonly SelfServiceCheck[]): RelayguardError | null {
  const failed = checks.filter((check) => !check.passed);
  if (failed.length === 0) return null;
  const eligible = failed.every((check) => check.check !== 'first-block-in-30-days');
  return new RelayguardError(
    'SELF_SERVICE_DENIED',
    `self-service unblock refused: ${failed.map((check) => check.detail).join('; ')}`,
    { details: { eligible, checks } },
  );
}

/**
 * What an operator should check before lifting: the evidence's domains still unregistered, its culprit connectors
 * (only `lifting`, when given) unchanged.
 */
export function remediationWarnings(
  block: ActiveBlock,
  lookups: TenantLookups,
  lifting?: readonly string[],
): string[] {
  const domains = block.evidence.topDomains
    .filter(({ domain }) => !lookups.isAccepted(domain))
    .map(
      ({ domain }) =>
        `domain ${domain} carried the blocked volume and is not registered: register it only if the tenant sends from it (spam domains stay unregistered)`,
    );
  const connectors = unremediatedConnectors(block, lookups, lifting)
    .filter(({ identified }) => identified)
    .map(
      ({ connectorId }) =>
        `connector ${connectorId} carried the unregistered volume and is enabled with the sender ranges and certificate it had at the block`,
    );
  return [...domains, ...connectors];
}

export type RemedyAction =
  | 'disable-connector'
  | 'review-unnamed-relays'
  | 'secure-servers'
  | 'lift-connectors'
  | 'lift-block';

export interface Remedy {
  readonly action: RemedyAction;
  /** The connector the step acts on, for the connector steps. */
  readonly connectorId: string | null;
  readonly detail: string;
}

/**
 * The steps out of a block, in order: first disable the culprit connectors (the mail they carry stops at once,
 * whatever the block), then secure the servers, then lift (per connector for a connector-scoped block).
 */
export function remedies(tenantId: string, block: ActiveBlock, lookups: TenantLookups): Remedy[] {
  const steps = unremediatedConnectors(block, lookups).map(
    ({ connectorId, messages, identified }): Remedy =>
      identified
        ? {
            action: 'disable-connector',
            connectorId,
            detail: `disable connector ${connectorId}: it carried ${messages} unregistered messages (or give it the secured server's new sender ranges or certificate)`,
          }
        : {
            action: 'review-unnamed-relays',
            connectorId: null,
            detail: `${messages} unregistered messages arrived without a connector id: an operator finds the servers that relay without one`,
          },
  );
  steps.push({
    action: 'secure-servers',
    connectorId: null,
    detail: 'secure the on-premises servers that relayed the unregistered mail',
  });
  steps.push(
    block.scope === 'CONNECTOR'
      ? {
          action: 'lift-connectors',
          connectorId: null,
          detail: `lift connector${block.connectorIds.length === 1 ? '' : 's'} ${block.connectorIds.join(', ')} once remediated (unblock with connectorIds); tenant ${tenantId}'s other connectors keep relaying meanwhile`,
        }
      : { action: 'lift-block', connectorId: null, detail: `lift the block of tenant ${tenantId}` },
  );
  return steps;
}
