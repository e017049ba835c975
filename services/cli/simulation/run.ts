// `relayguard simulate`: a synthetic fleet against an embedded pipeline in this process, in event time, and a
// summary of who was blocked, when, on what evidence, and how long after the compromise began.

import type { Actor, AdminService } from '../../admin/admin-service.js';
import { exportTenants, type TenantsFile } from '../../backtest/tenants-file.js';
import type { MessageSubmitted, TenantBlocked } from '../../core/contracts.generated.js';
import { MINUTE_MS } from '../../core/policy.js';
import { Topics } from '../../core/topics.js';
import { ManualClock } from '../../platform/clock.js';
import type { Config } from '../../platform/config.js';
import type { Logger } from '../../platform/logger.js';
import type { MemoryEventLog } from '../../platform/memory/memory-event-log.js';
import { embeddedAdapters, startRuntime } from '../../platform/runtime.js';
import {
  COMPROMISED_TENANT,
  type FleetDirectory,
  type FleetOptions,
  type FleetTenant,
  fleetMinute,
  fleetTenants,
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

/** Receives the simulated traffic and the directory it ran against, so a backtest can replay both. */
export interface SimulationRecorder {
  tenants(file: TenantsFile): void;
  events(events: readonly MessageSubmitted[]): void;
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

export interface SimulationSummary {
  readonly minutes: number;
  readonly messages: number;
  readonly tenants: { readonly ordinary: number; readonly forwarders: number; readonly compromised: number };
  readonly compromiseStartedAt: number;
  readonly blocked: BlockedTenantSummary[];
  readonly forwardersBlocked: number;
  /** Largest forwarded unregistered count (F) any forwarding tenant reached in its window. */
  readonly maxForwarded: number;
  readonly relayAnswers: { readonly unregisteredSender: string; readonly registeredSender: string };
  /** The compromised tenant is blocked, and no forwarding or ordinary tenant is. */
  readonly ok: boolean;
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
    const tenants = fleetTenants(options);
    await onboardFleet(adminDirectory(admin, SIMULATOR), tenants);

    options.recorder?.tenants(exportTenants(runtime.directory));

    let messages = 0;
    for (let minute = 0; minute < options.minutes; minute++) {
      clock.set(options.start + (minute + 1) * MINUTE_MS);
      const records = [];
      const events = [...fleetMinute(tenants, minute, options)];
      options.recorder?.events(events);
      for (const event of events) {
        records.push({
          key: event.tenantId,
          value: await adapters.codec.encode(Topics.messageSubmitted, event),
        });
      }
      await log.publish(Topics.messageSubmitted, records);
      await log.settled();
      messages += records.length;
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
    const enforcer = runtime.enforcer!;
    const answer = (sender: string) => {
      const decision = enforcer.decide({ clientAddress: compromised.clientAddress, sender }, 'simulate');
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
      },
      ok: enforcedCompromise && blocked.every((b) => b.kind === 'compromised'),
    };
  } finally {
    await runtime.stop();
  }
}
