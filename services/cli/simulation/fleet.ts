// A synthetic relay fleet: ordinary hybrid tenants with a little legitimate unregistered mail, forwarding-heavy
// tenants whose external senders are expected, and one tenant whose on-premises server is compromised at a
// given minute and floods spam from random domains. In the `forwarding` scenario that tenant is a school: its
// FORWARDED connector carries students' legitimate unregistered mail beside its on-premises server. In the `moving`
// scenario it has two on-premises servers, and the spam moves from the first to the second SPAM_MOVES_AFTER_MINUTES
// into the compromise: a block of the first server's connector has to widen to the tenant (docs/policy.md,
// "Escalation"). Deterministic for a seed.
import type { MessageSubmitted, RelayPath } from '../../core/contracts.generated.js';
import { MINUTE_MS } from '../../core/policy.js';
import { seededRandom } from '../../core/seeded-random.js';

/**
 * Whose on-premises server is compromised: a hybrid tenant's, a forwarding school's (issue #22), or that of a tenant
 * with two servers whose spam moves from one to the other.
 */
export const SCENARIOS = ['onprem', 'forwarding', 'moving'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface FleetOptions {
  /** `onprem` when absent. */
  readonly scenario?: Scenario;
  readonly tenants: number;
  readonly forwarders: number;
  /** Messages a minute from each tenant's ordinary traffic. */
  readonly ratePerMinute: number;
  /** Spam messages a minute from the compromised tenant once compromised. */
  readonly spamPerMinute: number;
  /** Minute (from the start) at which the compromised tenant starts to spam. */
  readonly compromiseMinute: number;
  readonly seed: number;
  readonly start: number;
}

export interface FleetConnector {
  readonly connectorId: string;
  readonly relayPath: RelayPath;
  readonly senderIpRange: string;
  /** An address inside the connector's range, as a relay client would connect from. */
  readonly clientAddress: string;
}

export interface FleetTenant {
  readonly tenantId: string;
  readonly kind: 'ordinary' | 'forwarder' | 'compromised';
  readonly acceptedDomain: string;
  /**
   * The first carries the tenant's own mail (and a compromised tenant's spam); a second one forwards (`forwarding`)
   * or is a second on-premises server carrying half of the tenant's own mail, and the spam once it moved (`moving`).
   */
  readonly connectors: readonly FleetConnector[];
}

export const COMPROMISED_TENANT = 'tenant-compromised';

/** A compromised school's forwarding connector has network 10.255.<n>: outside every other tenant's. */
const SCHOOL_FORWARDING_NETWORK = '10.255.0';
/** The second on-premises server of the `moving` scenario's tenant: network 10.254.<n>, outside every other tenant's. */
const SECOND_SERVER_NETWORK = '10.254.0';

/** In the `moving` scenario, the minutes from the compromise until the spam moves to the second server. */
export const SPAM_MOVES_AFTER_MINUTES = 10;

export function fleetTenants(
  options: Pick<FleetOptions, 'tenants' | 'forwarders' | 'scenario'>,
): FleetTenant[] {
  const tenants: FleetTenant[] = [];
  const connector = (
    tenantId: string,
    relayPath: RelayPath,
    network: string,
    name = relayPath === 'FORWARDED' ? 'forwarding' : 'onprem',
  ): FleetConnector => ({
    connectorId: `${tenantId}-${name}`,
    relayPath,
    senderIpRange: `${network}.0/24`,
    clientAddress: `${network}.25`,
  });
  const add = (tenantId: string, kind: FleetTenant['kind'], index: number) => {
    const network = `10.${(index >> 8) & 255}.${index & 255}`;
    const connectors = [connector(tenantId, kind === 'forwarder' ? 'FORWARDED' : 'ONPREM', network)];
    if (kind === 'compromised' && options.scenario === 'forwarding')
      connectors.push(connector(tenantId, 'FORWARDED', SCHOOL_FORWARDING_NETWORK));
    if (kind === 'compromised' && options.scenario === 'moving')
      connectors.push(connector(tenantId, 'ONPREM', SECOND_SERVER_NETWORK, 'onprem-2'));
    tenants.push({ tenantId, kind, acceptedDomain: `${tenantId}.example`, connectors });
  };
  add(COMPROMISED_TENANT, 'compromised', 0);
  for (let i = 0; i < options.forwarders; i++) add(`tenant-forwarder-${i + 1}`, 'forwarder', i + 1);
  for (let i = 0; i < options.tenants; i++) add(`tenant-${i + 1}`, 'ordinary', options.forwarders + i + 1);
  return tenants;
}

/** Where the fleet's tenants are registered: the admin service in process, or the admin API of a running one. */
export interface FleetDirectory {
  putAcceptedDomain(tenantId: string, domain: string): Promise<unknown>;
  putConnector(
    tenantId: string,
    connectorId: string,
    connector: { relayPath: RelayPath; senderIpRanges: string[]; enabled: boolean },
  ): Promise<unknown>;
}

/** Registers each of the fleet's tenants: its accepted domain (subdomains included) and its connectors. */
export async function onboardFleet(
  directory: FleetDirectory,
  options: Pick<FleetOptions, 'tenants' | 'forwarders' | 'scenario'>,
): Promise<FleetTenant[]> {
  const tenants = fleetTenants(options);
  for (const tenant of tenants) {
    await directory.putAcceptedDomain(tenant.tenantId, tenant.acceptedDomain);
    for (const connector of tenant.connectors) {
      await directory.putConnector(tenant.tenantId, connector.connectorId, {
        relayPath: connector.relayPath,
        senderIpRanges: [connector.senderIpRange],
        enabled: true,
      });
    }
  }
  return tenants;
}

/** A message a relay of the fleet offers, and whether it is the compromised server's spam (what only a simulation knows). */
export interface FleetMessage {
  readonly event: MessageSubmitted;
  readonly spam: boolean;
}

/** The events of one minute of fleet traffic, in time order. */
export function* fleetMinute(
  tenants: readonly FleetTenant[],
  minute: number,
  options: FleetOptions,
): Generator<MessageSubmitted> {
  for (const { event } of fleetMessages(tenants, minute, options)) yield event;
}

/** The messages of one minute of fleet traffic, in time order, each with whether it is spam. */
export function* fleetMessages(
  tenants: readonly FleetTenant[],
  minute: number,
  options: FleetOptions,
): Generator<FleetMessage> {
  const next = seededRandom(options.seed * 100_003 + minute);
  const messages: FleetMessage[] = [];
  const minuteStart = options.start + minute * MINUTE_MS;
  for (const tenant of tenants) {
    const spam =
      tenant.kind === 'compromised' && minute >= options.compromiseMinute ? options.spamPerMinute : 0;
    const [own, second] = tenant.connectors;
    const spamOn =
      second?.relayPath === 'ONPREM' && minute >= options.compromiseMinute + SPAM_MOVES_AFTER_MINUTES
        ? second
        : own!;
    for (let i = 0; i < options.ratePerMinute + spam; i++) {
      const isSpam = i >= options.ratePerMinute;
      // A second connector carries half of the tenant's own mail: a school forwards, most of it from its students'
      // external senders; a second server sends as the first does.
      const connector = isSpam ? spamOn : second && next() < 0.5 ? second : own!;
      // The second server sends as the tenant only: connectors created at the start of the run are recent, and a
      // recent one that carried any unregistered mail is a culprit of the first block too (docs/policy.md).
      const senderDomain = isSpam
        ? `${Math.floor(next() * 36 ** 6).toString(36)}-promo.example`
        : connector === second && second.relayPath === 'ONPREM'
          ? tenant.acceptedDomain
          : connector.relayPath === 'FORWARDED' && next() < 0.7
            ? `external${Math.floor(next() * 400)}.example`
            : next() < 0.03
              ? `partner${Math.floor(next() * 5)}.example`
              : tenant.acceptedDomain;
      messages.push({
        spam: isSpam,
        event: {
          eventId: `sim-${tenant.tenantId}-${minute}-${i}`,
          tenantId: tenant.tenantId,
          occurredAt: minuteStart + Math.floor(next() * MINUTE_MS),
          envelopeSenderDomain: senderDomain,
          headerFromDomain: null,
          relayPath: connector.relayPath,
          connectorId: connector.connectorId,
          clientAddress: connector.clientAddress,
          queueId: null,
          relayHost: 'sim-relay-1',
          recipientCount: 1 + Math.floor(next() * 3),
          sizeBytes: 2_000 + Math.floor(next() * 40_000),
        },
      });
    }
  }
  messages.sort((a, b) => a.event.occurredAt - b.event.occurredAt);
  yield* messages;
}
