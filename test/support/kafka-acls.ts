// The least-privilege Kafka ACLs of each relayguard service, as deploy/RUNBOOK.md ("Kafka ACLs") lists them: the
// security tests grant exactly these on a real broker, or these minus one, and start the service with them.
import kafkajs, { type AclEntry } from 'kafkajs';
import { Topics } from '../../services/core/topics.js';
import { SCORER_GROUP } from '../../services/scorer/scorer.js';

export type AclService = 'scorer' | 'enforcer' | 'admin';

/** The state topics every service materializes (the directory feed). */
const STATE_TOPICS = [Topics.tenantBlocks, Topics.acceptedDomains, Topics.connectors, Topics.tenantPolicies];

/**
 * deploy/RUNBOOK.md's table: topics read, topics written, consumer groups read (a trailing `-`: a prefix; the
 * directory's readers join a group of their own per start, KafkaEventLog.subscribe without a group).
 */
export const SERVICE_ACLS: Record<AclService, { read: string[]; write: string[]; groups: string[] }> = {
  scorer: {
    read: [Topics.messageSubmitted, ...STATE_TOPICS],
    write: [Topics.tenantBlocks, Topics.messageSubmittedDlq],
    groups: [SCORER_GROUP, 'relayguard-reader-'],
  },
  enforcer: { read: STATE_TOPICS, write: [Topics.messageSubmitted], groups: ['relayguard-reader-'] },
  admin: {
    read: [
      ...STATE_TOPICS,
      Topics.audit,
      Topics.webhookEndpoints,
      Topics.webhookDeliveries,
      Topics.webhooksDlq,
    ],
    write: [...STATE_TOPICS, Topics.audit, Topics.webhookEndpoints, Topics.webhookReplays],
    groups: ['relayguard-reader-'],
  },
};

/** `principal`'s ACL entries for `service`, without the Read of the topics in `withoutRead`. */
export function serviceAcls(
  service: AclService,
  principal: string,
  withoutRead: readonly string[] = [],
): AclEntry[] {
  const { TOPIC, GROUP } = kafkajs.AclResourceTypes;
  const { READ, WRITE } = kafkajs.AclOperationTypes;
  const allow = (resourceType: number, resourceName: string, operation: number) => ({
    resourceType,
    resourceName,
    resourcePatternType: resourceName.endsWith('-')
      ? kafkajs.ResourcePatternTypes.PREFIXED
      : kafkajs.ResourcePatternTypes.LITERAL,
    principal: `User:${principal}`,
    host: '*',
    operation,
    permissionType: kafkajs.AclPermissionTypes.ALLOW,
  });
  const acls = SERVICE_ACLS[service];
  return [
    ...acls.read.filter((topic) => !withoutRead.includes(topic)).map((topic) => allow(TOPIC, topic, READ)),
    ...acls.write.map((topic) => allow(TOPIC, topic, WRITE)),
    ...acls.groups.map((group) => allow(GROUP, group, READ)),
  ] as AclEntry[];
}
