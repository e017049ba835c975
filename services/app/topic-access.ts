// The topics each service consumes and produces to: what its Kafka principal needs on them (deploy/RUNBOOK.md,
// "Kafka ACLs"), asked of the brokers at startup (EventLog.verifyAccess) so a missing ACL stops the service with
// the topic named. test/support/kafka-acls.ts grants exactly these on a real broker.
import { Topics } from '../core/topics.js';
import type { TopicAccess } from '../platform/ports.js';
import type { ServiceName } from './runtime.js';

/** The state topics every service materializes (the directory feed, started for each of them). */
export const STATE_TOPICS: readonly string[] = [
  Topics.tenantBlocks,
  Topics.acceptedDomains,
  Topics.connectors,
  Topics.tenantPolicies,
];

export const SERVICE_TOPICS: Readonly<Record<ServiceName, TopicAccess>> = {
  scorer: {
    read: [Topics.messageSubmitted, ...STATE_TOPICS],
    write: [Topics.tenantBlocks, Topics.messageSubmittedDlq],
  },
  enforcer: { read: STATE_TOPICS, write: [Topics.messageSubmitted] },
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
  },
  webhooks: {
    read: [...STATE_TOPICS, Topics.webhookEndpoints, Topics.webhookReplays],
    write: [Topics.webhookDeliveries, Topics.webhooksDlq],
  },
};

/** What the services of one process need together. */
export function topicAccess(services: readonly ServiceName[]): TopicAccess {
  const union = (pick: (access: TopicAccess) => readonly string[]) => [
    ...new Set(services.flatMap((service) => pick(SERVICE_TOPICS[service]))),
  ];
  return { read: union((access) => access.read), write: union((access) => access.write) };
}
