// `relayguard simulate`: a synthetic fleet against an embedded pipeline in this process, in event time, and a
// summary of who was blocked, when, on what evidence, and how long after the compromise began.

import type { AdminService } from '../../admin/admin-service.js';
import type { Actor } from '../../admin/change-publisher.js';
import { embeddedAdapters } from '../../app/adapters.js';
import { type Runtime, startRuntime, wholeDirectory } from '../../app/runtime.js';
import { exportTenants, type TenantsFile } from '../../backtest/tenants-file.js';
import type { TenantBlocked, Thresholds } from '../../core/contracts.generated.js';
import { MINUTE_MS } from '../../core/policy.js';
import { Topics } from '../../core/topics.js';
import { ManualClock } from '../../platform/clock.js';
import type { Config } from '../../platform/config.js';
import type { Logger } from '../../platform/logger.js';
import type { MemoryEventLog } from '../../platform/memory/memory-event-log.js';
import type { WindowStore } from '../../platform/ports.js';
import {
  COMPROMISED_TENANT,
  type FleetDirectory,
  type FleetMessage,
  type FleetOptions,
  type FleetTenant,
  fleetMessages,
  onboardFleet,
} from './fleet.js';

const SIMULATOR: Actor = { subject: 'relayguard-simulate', role: 'OPERATOR' };

/** The fleet registered through the admin service of this process, acting as `actor`. */
export function adminDirectory(admin: AdminService, actor: Actor): FleetDirectory {
  return {
    putAcceptedDomain: (tenantId, domain) => admin.putAcceptedDomain(actor, tenantId, domain, true),
    putConnector: (tenantId, connectorId, connector) =>
      admin.putConnector(actor, tenantId, connectorId, connector),
  };
}

/**
 * Receives the simulated traffic and the directory it ran against, so a backtest can replay both: every message
 * the fleet's relays offered (those the enforcer refused too: a backtest decides its own refusals), each with
 * whether it is the compromised server's spam.
 */
export interface SimulationRecorder {
  tenants(file: TenantsFile): void;
  events(messages: readonly FleetMessage[]): void;
}

export interface SimulationOptions extends FleetOptions {
  readonly minutes: number;
  readonly recorder?: SimulationRecorder;
}

export interface BlockedTenantSummary {
  readonly tenantId: string;
  readonly kind: FleetTenant['kind'];
  readonly blockedAt: number;
  /** Milliseconds from the first spam message to the block; null for tenants that were never compromised. */
  readonly afterCompromiseMs: number | null;
  readonly block: TenantBlocked;
}

/** The compromised tenant at the end of one simulated minute, as the scorer counted it. */
export interface TimelinePoint {
  /** Minutes since the start of the simulation. */
  readonly minute: number;
  /** Unregistered messages (ONPREM and APPLICATION paths) in that minute. */
  readonly unregistered: number;
  /** U and D: the window's unregistered messages and distinct unregistered domains. */
  readonly windowUnregistered: number;
  readonly distinctDomains: number;
  /** Messages the relays rejected in that minute (550 5.7.750): never relayed, never counted. */
  readonly rejected: number;
}

export interface SimulationSummary {
  readonly minutes: number;
  /** Messages the relays relayed (and published MessageSubmitted for); rejected ones are in the timeline. */
  readonly messages: number;
  readonly tenants: { readonly ordinary: number; readonly forwarders: number; readonly compromised: number };
  readonly compromiseStartedAt: number;
  readonly blocked: BlockedTenantSummary[];
  readonly forwardersBlocked: number;
  /** Largest forwarded unregistered count (F) any forwarding tenant reached in its window. */
  readonly maxForwarded: number;
  /**
   * The compromised tenant's answers now: for an unregistered and a registered sender on its on-premises server,
   * and for an unregistered sender on its forwarding connector (the forwarding scenario) or on the second server
   * the spam moved to (the moving scenario).
   */
  readonly relayAnswers: {
    readonly unregisteredSender: string;
    readonly registeredSender: string;
    readonly forwardedSender: string | null;
    readonly secondServerSender: string | null;
  };
  /** Messages the enforcer refused, by whether they were spam. */
  readonly refused: { readonly spam: number; readonly legitimate: number };
  /**
   * The compromised tenant is blocked (in the moving scenario, on the server the spam moved to as well), and no
   * forwarding or ordinary tenant is.
   */
  readonly ok: boolean;
  /** The policy in force and the compromised tenant's volume minute by minute (for `--plot`). */
  readonly startedAt: number;
  readonly windowMinutes: number;
  readonly thresholds: Thresholds;
  readonly timeline: TimelinePoint[];
}

export async function runSimulation(
  config: Config,
  options: SimulationOptions,
  logger: Logger,
  onMinute: (minute: number, messages: number) => void = () => {},
): Promise<SimulationSummary> {
  const clock = new ManualClock(options.start);
  const adapters = embeddedAdapters(config, clock);
  const runtime = await startRuntime(config, {
    services: ['scorer', 'enforcer', 'admin'],
    logger,
    clock,
    adapters,
  });
  const log = adapters.log as MemoryEventLog;
  try {
    await runtime.ready;
    const admin = runtime.admin!;
    const tenants = await onboardFleet(adminDirectory(admin, SIMULATOR), options);

    options.recorder?.tenants(exportTenants(wholeDirectory(runtime)));

    const enforcer = runtime.enforcer!;
    const timeline: TimelinePoint[] = [];
    let messages = 0;
    const refused = { spam: 0, legitimate: 0 };
    for (let minute = 0; minute < options.minutes; minute++) {
      clock.set(options.start + (minute + 1) * MINUTE_MS);
      const records = [];
      const offered = [...fleetMessages(tenants, minute, options)];
      let rejected = 0;
      for (const { event, spam } of offered) {
        // The fleet's relays ask the enforcer at RCPT from the connector's address, as Postfix does: a rejected
        // message is never relayed, so no MessageSubmitted is published for it.
        const domain = event.envelopeSenderDomain;
        const query = { clientAddress: event.clientAddress!, sender: domain ? `sim@${domain}` : '' };
        if (enforcer.decide(query, 'RCPT').action === 'REJECT') {
          if (event.tenantId === COMPROMISED_TENANT) rejected++;
          refused[spam ? 'spam' : 'legitimate']++;
          continue;
        }
        records.push({
          key: event.tenantId,
          value: await adapters.codec.encode(Topics.messageSubmitted, event),
        });
      }
      options.recorder?.events(offered);
      await log.publish(Topics.messageSubmitted, records);
      await log.settled();
      messages += records.length;
      timeline.push({
        ...(await sampleCompromised(runtime, adapters.store, options.start, minute)),
        rejected,
      });
      onMinute(minute + 1, messages);
    }

    const kindOf = new Map(tenants.map((tenant) => [tenant.tenantId, tenant.kind]));
    const compromiseStartedAt = options.start + options.compromiseMinute * MINUTE_MS;
    const blocked: BlockedTenantSummary[] = [];
    for (const record of log.records(Topics.tenantBlocks)) {
      const event = await adapters.codec.decode(Topics.tenantBlocks, record.value!);
      if (event.kind !== 'BLOCKED' || !event.blocked) continue;
      const kind = kindOf.get(event.tenantId) ?? 'ordinary';
      blocked.push({
        tenantId: event.tenantId,
        kind,
        blockedAt: event.occurredAt,
        afterCompromiseMs: kind === 'compromised' ? event.occurredAt - compromiseStartedAt : null,
        block: event.blocked,
      });
    }

    const compromised = tenants.find((tenant) => tenant.tenantId === COMPROMISED_TENANT)!;
    const [server, second] = compromised.connectors;
    const answer = (sender: string, clientAddress = server!.clientAddress) => {
      const decision = enforcer.decide({ clientAddress, sender }, 'simulate');
      return decision.action === 'REJECT'
        ? `${decision.code} ${decision.enhancedCode} ${decision.text}`
        : 'accept';
    };
    let maxForwarded = 0;
    for (const tenant of tenants.filter((t) => t.kind === 'forwarder')) {
      maxForwarded = Math.max(
        maxForwarded,
        (await admin.status(tenant.tenantId)).counters.forwardedUnregistered,
      );
    }
    const forwardersBlocked = blocked.filter((b) => b.kind === 'forwarder').length;
    const enforcedCompromise = blocked.some((b) => b.kind === 'compromised' && b.block.mode === 'ENFORCE');
    const secondServerSender =
      second?.relayPath === 'ONPREM' ? answer('promo@spam-sender.example', second.clientAddress) : null;
    return {
      minutes: options.minutes,
      messages,
      tenants: { ordinary: options.tenants, forwarders: options.forwarders, compromised: 1 },
      compromiseStartedAt,
      blocked,
      forwardersBlocked,
      maxForwarded,
      relayAnswers: {
        unregisteredSender: answer('promo@spam-sender.example'),
        registeredSender: answer(`it@${compromised.acceptedDomain}`),
        forwardedSender:
          second?.relayPath === 'FORWARDED'
            ? answer('student@external1.example', second.clientAddress)
            : null,
        secondServerSender,
      },
      refused,
      ok:
        enforcedCompromise &&
        blocked.every((b) => b.kind === 'compromised') &&
        secondServerSender !== 'accept',
      startedAt: options.start,
      windowMinutes: config.policy.windowMinutes,
      thresholds: config.policy.thresholds,
      timeline,
    };
  } finally {
    await runtime.stop();
  }
}

async function sampleCompromised(
  runtime: Runtime,
  store: WindowStore,
  start: number,
  minute: number,
): Promise<Omit<TimelinePoint, 'rejected'>> {
  const { counters } = await runtime.admin!.status(COMPROMISED_TENANT);
  const window = (await store.load([COMPROMISED_TENANT])).get(COMPROMISED_TENANT)?.window;
  const bucket = window?.buckets.get(Math.floor(start / MINUTE_MS) + minute);
  return {
    minute,
    unregistered: bucket?.unregistered ?? 0,
    windowUnregistered: counters.unregistered,
    distinctDomains: counters.distinctUnregisteredDomains,
  };
}
