// The topics each service consumes and produces to and the groups it joins: what its Kafka principal needs on
// them (deploy/RUNBOOK.md, "Kafka ACLs"), asked of the brokers at startup (EventLog.verifyAccess) so a missing
// ACL stops the service naming the topic or group. test/support/kafka-acls.ts grants exactly these on a real
// broker. Every service also reads the state topics through group-less subscriptions: the log checks that group.
import { Topics } from '../core/topics.js';
import type { LogAccess } from '../platform/ports.js';
import { SCORER_GROUP } from '../scorer/scorer.js';
import { WEBHOOKS_GROUP_ID } from '../webhooks/deliverer.js';
import type { ServiceName } from './runtime.js';

/** The state topics every service materializes (the directory feed, started for each of them). */
export const STATE_TOPICS: readonly string[] = [
  Topics.tenantBlocks,
  Topics.acceptedDomains,
  Topics.connectors,
  Topics.tenantPolicies,
];

export const SERVICE_ACCESS: Readonly<Record<ServiceName, LogAccess>> = {
  scorer: {
    read: [Topics.messageSubmitted, ...STATE_TOPICS],
    write: [Topics.tenantBlocks, Topics.messageSubmittedDlq],
    groups: [SCORER_GROUP],
  },
  enforcer: { read: STATE_TOPICS, write: [Topics.messageSubmitted], groups: [] },
  admin: {
    // The audit trail, the webhook endpoints, the delivery log and the dead letters a replay reads.
    read: [
      ...STATE_TOPICS,
      Topics.audit,
      Topics.webhookEndpoints,
      Topics.webhookDeliveries,
      Topics.webhooksDlq,
    ],
    // Unblocks go to tenant-blocks; every change to the audit trail.
    write: [...STATE_TOPICS, Topics.audit, Topics.webhookEndpoints, Topics.webhookReplays],
    groups: [],
  },
  webhooks: {
    read: [...STATE_TOPICS, Topics.webhookEndpoints, Topics.webhookReplays],
    write: [Topics.webhookDeliveries, Topics.webhooksDlq],
    groups: [WEBHOOKS_GROUP_ID, `${WEBHOOKS_GROUP_ID}-replays`],
  },
};

/** What the services of one process need together. */
export function logAccess(services: readonly ServiceName[]): LogAccess {
  const union = (pick: (access: LogAccess) => readonly string[]) => [
    ...new Set(services.flatMap((service) => pick(SERVICE_ACCESS[service]))),
  ];
  return {
    read: union((access) => access.read),
    write: union((access) => access.write),
    groups: union((access) => access.groups),
  };
}
