// A synthetic relay fleet: ordinary hybrid tenants with a little legitimate unregistered mail, forwarding-heavy
// tenants whose external senders are expected, and one tenant whose on-premises server is compromised at a
// given minute and floods spam from random domains. Deterministic for a seed.
import type { MessageSubmitted, RelayPath } from '../../core/contracts.generated.js';
import { MINUTE_MS } from '../../core/policy.js';
import { seededRandom } from '../../core/seeded-random.js';

export interface FleetOptions {
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

export interface FleetTenant {
  readonly tenantId: string;
  readonly kind: 'ordinary' | 'forwarder' | 'compromised';
  readonly acceptedDomain: string;
  readonly connectorId: string;
  readonly relayPath: RelayPath;
  readonly senderIpRange: string;
  /** An address inside the connector's range, as a relay client would connect from. */
  readonly clientAddress: string;
}

export const COMPROMISED_TENANT = 'tenant-compromised';

export function fleetTenants(options: Pick<FleetOptions, 'tenants' | 'forwarders'>): FleetTenant[] {
  const tenants: FleetTenant[] = [];
  const add = (tenantId: string, kind: FleetTenant['kind'], index: number) => {
    const network = `10.${(index >> 8) & 255}.${index & 255}`;
    tenants.push({
      tenantId,
      kind,
      acceptedDomain: `${tenantId}.example`,
      connectorId: `${tenantId}-${kind === 'forwarder' ? 'forwarding' : 'onprem'}`,
      relayPath: kind === 'forwarder' ? 'FORWARDED' : 'ONPREM',
      senderIpRange: `${network}.0/24`,
      clientAddress: `${network}.25`,
    });
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

/** Registers each tenant's accepted domain (subdomains included) and its connector. */
export async function onboardFleet(
  directory: FleetDirectory,
  tenants: readonly FleetTenant[],
): Promise<void> {
  for (const tenant of tenants) {
    await directory.putAcceptedDomain(tenant.tenantId, tenant.acceptedDomain);
    await directory.putConnector(tenant.tenantId, tenant.connectorId, {
      relayPath: tenant.relayPath,
      senderIpRanges: [tenant.senderIpRange],
      enabled: true,
    });
  }
}

/** The events of one minute of fleet traffic, in time order. */
export function* fleetMinute(
  tenants: readonly FleetTenant[],
  minute: number,
  options: FleetOptions,
): Generator<MessageSubmitted> {
  const next = seededRandom(options.seed * 100_003 + minute);
  const events: MessageSubmitted[] = [];
  const minuteStart = options.start + minute * MINUTE_MS;
  for (const tenant of tenants) {
    const spam =
      tenant.kind === 'compromised' && minute >= options.compromiseMinute ? options.spamPerMinute : 0;
    for (let i = 0; i < options.ratePerMinute + spam; i++) {
      const senderDomain =
        i >= options.ratePerMinute
          ? `${Math.floor(next() * 36 ** 6).toString(36)}-promo.example`
          : tenant.kind === 'forwarder' && next() < 0.7
            ? `external${Math.floor(next() * 400)}.example`
            : next() < 0.03
              ? `partner${Math.floor(next() * 5)}.example`
              : tenant.acceptedDomain;
      events.push({
        eventId: `sim-${tenant.tenantId}-${minute}-${i}`,
        tenantId: tenant.tenantId,
        occurredAt: minuteStart + Math.floor(next() * MINUTE_MS),
        envelopeSenderDomain: senderDomain,
        headerFromDomain: null,
        relayPath: tenant.relayPath,
        connectorId: tenant.connectorId,
        clientAddress: tenant.clientAddress,
        queueId: null,
        relayHost: 'sim-relay-1',
        recipientCount: 1 + Math.floor(next() * 3),
        sizeBytes: 2_000 + Math.floor(next() * 40_000),
      });
    }
  }
  events.sort((a, b) => a.occurredAt - b.occurredAt);
  yield* events;
}
