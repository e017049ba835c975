// `relayguard simulate --target policy://host:port`: the synthetic fleet against a *running* relayguard, through
// the Postfix policy protocol, as a Postfix relay fleet would drive it: for each message a RCPT request (the
// decision) and, when it is not rejected, an END-OF-MESSAGE request (which publishes its MessageSubmitted).
// Several connections work at once, like a relay's smtpd processes, each waiting for every reply.
//
// The running relayguard stamps each event with its own clock, so the fleet's minutes pass as fast as the
// requests go: the whole run lands in one window. The report counts replies, not blocks it cannot see.
import { randomBytes } from 'node:crypto';
import {
  COMPROMISED_TENANT,
  type FleetDirectory,
  type FleetOptions,
  type FleetTenant,
  fleetMessages,
  onboardFleet,
} from './fleet.js';
import { PolicyClient } from './policy-client.js';

export interface PolicySimulationOptions extends FleetOptions {
  readonly minutes: number;
  readonly host: string;
  readonly port: number;
  /** Policy connections at once (a relay's smtpd processes). */
  readonly connections: number;
  /** How long to wait, after the traffic, for the compromised tenant's block to reach the enforcer. */
  readonly settleMs?: number;
}

export interface ReplyCounts {
  accepted: number;
  rejected: number;
  /** Answers that were neither DUNNO nor the block reply (a not-ready relayguard's 451, say). */
  other: number;
}

export interface PolicySimulationSummary {
  readonly target: string;
  readonly minutes: number;
  readonly messages: number;
  /** Policy requests sent (RCPT and END-OF-MESSAGE). */
  readonly requests: number;
  readonly elapsedMs: number;
  readonly tenants: { readonly ordinary: number; readonly forwarders: number; readonly compromised: number };
  readonly replies: Record<FleetTenant['kind'], ReplyCounts>;
  /** Spam messages of the compromised tenant accepted before its first rejection (the scorer's reaction time). */
  readonly spamAcceptedBeforeBlock: number | null;
  readonly relayAnswers: { readonly unregisteredSender: string; readonly registeredSender: string };
  /** The compromised tenant's unregistered mail ends up rejected, and nobody else's mail is. */
  readonly ok: boolean;
}

const BLOCK_PREFIX = '550 5.7.750 ';

export async function runPolicySimulation(
  options: PolicySimulationOptions,
  directory: FleetDirectory,
  onMinute: (minute: number, messages: number) => void = () => {},
): Promise<PolicySimulationSummary> {
  const tenants = await onboardFleet(directory, options);
  const kindOf = new Map(tenants.map((tenant) => [tenant.tenantId, tenant]));
  const replies: PolicySimulationSummary['replies'] = {
    ordinary: { accepted: 0, rejected: 0, other: 0 },
    forwarder: { accepted: 0, rejected: 0, other: 0 },
    compromised: { accepted: 0, rejected: 0, other: 0 },
  };
  const clients = await Promise.all(
    Array.from({ length: options.connections }, () => PolicyClient.connect(options.host, options.port)),
  );
  const started = performance.now();
  let messages = 0;
  let requests = 0;
  let spamAccepted = 0;
  let spamAcceptedBeforeBlock: number | null = null;
  // Queue ids unique to this run, so a second run's events are not taken for duplicates of the first's.
  const run = randomBytes(3).toString('hex').toUpperCase();
  try {
    for (let minute = 0; minute < options.minutes; minute++) {
      const events = [...fleetMessages(tenants, minute, options)];
      // Each connection takes every n-th message and sends its requests one after the other, as smtpd does.
      await Promise.all(
        clients.map(async (client, lane) => {
          for (let i = lane; i < events.length; i += clients.length) {
            const { event, spam } = events[i]!;
            const tenant = kindOf.get(event.tenantId)!;
            const clientAddress = event.clientAddress!;
            const sender = `sim@${event.envelopeSenderDomain}`;
            const queueId = `${run}${(messages + i).toString(16).toUpperCase()}`;
            const action = await client.request(request('RCPT', clientAddress, sender, queueId, 0, 0));
            requests++;
            const counts = replies[tenant.kind];
            if (action.startsWith(BLOCK_PREFIX)) {
              counts.rejected++;
              if (spam) spamAcceptedBeforeBlock ??= spamAccepted;
              continue;
            }
            if (action !== 'DUNNO') {
              counts.other++;
              continue;
            }
            counts.accepted++;
            if (spam) spamAccepted++;
            await client.request(
              request(
                'END-OF-MESSAGE',
                clientAddress,
                sender,
                queueId,
                event.recipientCount,
                event.sizeBytes,
              ),
            );
            requests++;
          }
        }),
      );
      messages += events.length;
      onMinute(minute + 1, messages);
    }
    const elapsedMs = performance.now() - started;

    const compromised = kindOf.get(COMPROMISED_TENANT)!;
    const server = compromised.connectors[0]!.clientAddress;
    const ask = (sender: string) => clients[0]!.request(request('RCPT', server, sender, '', 0, 0));
    // The block travels scorer -> tenant-blocks topic -> enforcer: give it a moment to arrive.
    const deadline = Date.now() + (options.settleMs ?? 10_000);
    let unregisteredSender = await ask('promo@spam-sender.example');
    while (!unregisteredSender.startsWith(BLOCK_PREFIX) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      unregisteredSender = await ask('promo@spam-sender.example');
    }
    const registeredSender = await ask(`it@${compromised.acceptedDomain}`);
    const others = [replies.ordinary, replies.forwarder];
    return {
      target: `policy://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`,
      minutes: options.minutes,
      messages,
      requests,
      elapsedMs,
      tenants: { ordinary: options.tenants, forwarders: options.forwarders, compromised: 1 },
      replies,
      spamAcceptedBeforeBlock,
      relayAnswers: { unregisteredSender, registeredSender },
      ok:
        unregisteredSender.startsWith(BLOCK_PREFIX) &&
        registeredSender === 'DUNNO' &&
        others.every((counts) => counts.rejected === 0),
    };
  } finally {
    for (const client of clients) client.close();
  }
}

function request(
  state: 'RCPT' | 'END-OF-MESSAGE',
  clientAddress: string,
  sender: string,
  queueId: string,
  recipientCount: number,
  size: number,
) {
  return {
    request: 'smtpd_access_policy',
    protocol_state: state,
    protocol_name: 'ESMTP',
    client_address: clientAddress,
    client_name: 'unknown',
    sender,
    recipient: 'someone@external.example',
    recipient_count: recipientCount,
    queue_id: queueId,
    size,
    policy_context: 'relayguard-simulate',
  };
}
